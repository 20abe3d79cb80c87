#!/usr/bin/env node
// The usual Node.js audit-log Lambda, run on a file (a peer for benches/compare.sh): zlib,
// JSON.parse and a quote-aware split, no packages.
//
// A Lambda Kinesis event ({"Records":[...]}): for each record base64, gunzip, JSON.parse;
// skips CONTROL_MESSAGE payloads; splits each logEvents[].message on the commas outside
// single quotes (a backslash escapes the next character). Anything else is read as a plain
// audit log, one line per event. One JSON object per audit event goes to stdout, like
// `rdsaudit parse --format ndjson`; the event count goes to stderr.
"use strict";
const fs = require("fs");
const zlib = require("zlib");

const FIELDS = ["timestamp", "serverhost", "username", "host", "connection_id",
  "query_id", "operation", "database", "object", "retcode"];

// Splits an audit line on commas outside '...'; drops the quotes, undoes \x escapes.
function split(line) {
  const fields = [];
  let field = "";
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quoted && c === "\\" && i + 1 < line.length) {
      field += line[++i];
    } else if (c === "'") {
      quoted = !quoted;
    } else if (c === "," && !quoted) {
      fields.push(field);
      field = "";
    } else {
      field += c;
    }
  }
  fields.push(field);
  return fields;
}

let out = [];
let outLen = 0;
function emit(line, extra) {
  const row = split(line);
  const event = {};
  FIELDS.forEach((name, i) => { event[name] = row[i]; });
  event.extra = row.slice(FIELDS.length);
  Object.assign(event, extra);
  const text = JSON.stringify(event) + "\n";
  out.push(text);
  outLen += text.length;
  if (outLen > 1 << 20) flush();
}
function flush() {
  fs.writeSync(1, out.join(""));
  out = [];
  outLen = 0;
}

function kinesis(event) {
  let events = 0;
  for (const record of event.Records) {
    const payload = JSON.parse(zlib.gunzipSync(Buffer.from(record.kinesis.data, "base64")));
    if (payload.messageType !== "DATA_MESSAGE") continue;
    const where = { log_group: payload.logGroup, log_stream: payload.logStream };
    for (const e of payload.logEvents) {
      emit(e.message, where);
      events++;
    }
  }
  return events;
}

function plain(text) {
  let events = 0;
  for (const line of text.split("\n")) {
    if (line === "") continue;
    emit(line, {});
    events++;
  }
  return events;
}

const input = fs.readFileSync(process.argv[2], "utf8");
const events = input.startsWith("{") ? kinesis(JSON.parse(input)) : plain(input);
flush();
process.stderr.write(`${events} events\n`);
