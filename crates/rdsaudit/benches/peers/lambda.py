#!/usr/bin/env python3
"""The usual Python audit-log Lambda, run on a file: stdlib only (a peer for benches/compare.sh).

A Lambda Kinesis event (`{"Records":[...]}`): for each record base64, gzip, json; skips
CONTROL_MESSAGE payloads; splits each `logEvents[].message` with the csv module
(quotechar="'", escapechar="\\", doublequote=False). Anything else is read as a plain audit
log with the same csv reader. One JSON object per audit event goes to stdout, like
`rdsaudit parse --format ndjson`; the event count goes to stderr.
"""
import base64
import csv
import gzip
import json
import sys

FIELDS = ("timestamp", "serverhost", "username", "host", "connection_id",
          "query_id", "operation", "database", "object", "retcode")


def rows(lines):
    return csv.reader(lines, quotechar="'", escapechar="\\", doublequote=False)


def emit(out, row, extra):
    fields = dict(zip(FIELDS, row))
    fields["extra"] = row[len(FIELDS):]
    fields.update(extra)
    out.write(json.dumps(fields))
    out.write("\n")


def kinesis(event, out):
    events = 0
    for record in event["Records"]:
        payload = json.loads(gzip.decompress(base64.b64decode(record["kinesis"]["data"])))
        if payload.get("messageType") != "DATA_MESSAGE":
            continue
        where = {"log_group": payload["logGroup"], "log_stream": payload["logStream"]}
        for row in rows(e["message"] for e in payload["logEvents"]):
            emit(out, row, where)
            events += 1
    return events


def plain(path, out):
    events = 0
    with open(path, encoding="utf-8", errors="replace", newline="") as f:
        for row in rows(f):
            emit(out, row, {})
            events += 1
    return events


def main(path):
    with open(path, "rb") as f:
        is_event = f.read(1) == b"{"
    out = sys.stdout
    if is_event:
        with open(path, "rb") as f:
            events = kinesis(json.load(f), out)
    else:
        events = plain(path, out)
    print(f"{events} events", file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv[1])
