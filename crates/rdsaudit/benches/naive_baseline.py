#!/usr/bin/env python3
"""The usual Python audit-log Lambda, run on a file: stdlib only.

Reads a Lambda Kinesis event (`{"Records":[...]}`), and for each record: base64, gzip,
json; skips CONTROL_MESSAGE payloads; splits each `logEvents[].message` with the csv module
(quotechar="'", escapechar="\\", doublequote=False) and writes one JSON object per audit
event to stdout, like `rdsaudit parse --format ndjson`. Used by benches/compare.sh.
"""
import base64
import csv
import gzip
import json
import sys

FIELDS = ("timestamp", "serverhost", "username", "host", "connection_id",
          "query_id", "operation", "database", "object", "retcode")


def main(path):
    with open(path, "rb") as f:
        event = json.load(f)
    out = sys.stdout
    events = 0
    for record in event["Records"]:
        payload = json.loads(gzip.decompress(base64.b64decode(record["kinesis"]["data"])))
        if payload.get("messageType") != "DATA_MESSAGE":
            continue
        messages = [e["message"] for e in payload["logEvents"]]
        for row in csv.reader(messages, quotechar="'", escapechar="\\", doublequote=False):
            fields = dict(zip(FIELDS, row))
            fields["extra"] = row[len(FIELDS):]
            fields["log_group"] = payload["logGroup"]
            fields["log_stream"] = payload["logStream"]
            out.write(json.dumps(fields))
            out.write("\n")
            events += 1
    print(f"{events} events", file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv[1])
