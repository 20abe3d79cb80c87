#!/usr/bin/env python3
"""Derives the delivery and dialect fixtures from the recorded MariaDB logs (stdlib only).

    python3 corpus/tools/derive.py            # rewrites corpus/kinesis/* and corpus/aurora/*

Deterministic: the same recorded logs give byte-identical fixtures.

corpus/kinesis/ (CloudWatch Logs subscription -> Kinesis Data Streams -> Lambda):
  kinesis-event.json   a Lambda Kinesis event {"Records": [...]}: one CONTROL_MESSAGE
                       record, then DATA_MESSAGE records carrying every line of
                       corpus/mariadb/audit-full.log, several log events per record
                       (one record also carries the account-level `policyLevel` field,
                       the 100 KB+ statement travels alone in its own record)
  awslogs-event.json   a direct CloudWatch Logs -> Lambda event {"awslogs": {"data": ...}}
                       carrying every line of corpus/mariadb/audit-limit1024.log
  manifest.json        what a consumer must find: per record its sequence number, message
                       type, log-event count and the 1-based source line of each event

CloudWatch messages are JSON strings, so a log line is carried as its UTF-8 decoding with
invalid bytes replaced by U+FFFD (the recorded log has latin1 and _binary bytes); raw NUL
travels as \\u0000. The manifest marks which events were altered that way (`lossy`).

corpus/aurora/derived-from-mariadb-full.log: the Aurora-dialect twin (see its README.md).
"""

import base64
import calendar
import gzip
import hashlib
import json
import os
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MARIADB = os.path.join(ROOT, "mariadb")
KINESIS = os.path.join(ROOT, "kinesis")
AURORA = os.path.join(ROOT, "aurora")

ACCOUNT = "123456789012"
REGION = "ap-northeast-1"
INSTANCE = "mariadb-corpus"
LOG_GROUP = f"/aws/rds/instance/{INSTANCE}/audit"
LOG_STREAM = INSTANCE
STREAM_ARN = f"arn:aws:kinesis:{REGION}:{ACCOUNT}:stream/rds-audit"
FILTER = "rds-audit-to-kinesis"
EVENTS_PER_RECORD = 25
BIG_LINE = 100_000


def lines_of(path):
    data = open(path, "rb").read()
    assert data.endswith(b"\n")
    return data[:-1].split(b"\n")


def epoch_s(line):
    """`YYYYMMDD HH:MM:SS` (UTC, see record.sh) -> epoch seconds."""
    return calendar.timegm(time.strptime(line[:17].decode(), "%Y%m%d %H:%M:%S"))


def event_id(ts_ms, lineno):
    # a 56-digit decimal like CloudWatch's: deterministic, unique per line
    digest = int.from_bytes(hashlib.sha256(b"%d" % lineno).digest()[:8], "big")
    return f"{ts_ms:020d}{lineno:016d}{digest % 10**20:020d}"


def log_event(line, lineno):
    ts_ms = epoch_s(line) * 1000
    message = line.decode("utf-8", "replace")
    return {"id": event_id(ts_ms, lineno), "timestamp": ts_ms, "message": message}


def envelope(events, message_type="DATA_MESSAGE", extra=None):
    env = {
        "messageType": message_type,
        "owner": ACCOUNT,
        "logGroup": LOG_GROUP,
        "logStream": LOG_STREAM,
        "subscriptionFilters": [FILTER],
        "logEvents": events,
    }
    if extra:
        env.update(extra)
    return env


def gz(obj):
    raw = json.dumps(obj, separators=(",", ":")).encode()
    return gzip.compress(raw, compresslevel=6, mtime=0)


def seq_number(i):
    return f"4963{i:052d}"[:56]


def kinesis_record(i, payload, arrival):
    seq = seq_number(i)
    return {
        "kinesis": {
            "kinesisSchemaVersion": "1.0",
            "partitionKey": hashlib.md5(f"{LOG_GROUP}{i}".encode()).hexdigest(),
            "sequenceNumber": seq,
            "data": base64.b64encode(payload).decode(),
            "approximateArrivalTimestamp": arrival,
        },
        "eventSource": "aws:kinesis",
        "eventVersion": "1.0",
        "eventID": f"shardId-000000000000:{seq}",
        "eventName": "aws:kinesis:record",
        "invokeIdentityArn": f"arn:aws:iam::{ACCOUNT}:role/rdsaudit-lambda",
        "awsRegion": REGION,
        "eventSourceARN": STREAM_ARN,
    }


def make_kinesis():
    lines = lines_of(os.path.join(MARIADB, "audit-full.log"))
    base = epoch_s(lines[0])
    groups, cur = [], []
    for n, line in enumerate(lines, 1):
        if len(line) > BIG_LINE:
            if cur:
                groups.append(cur)
            groups.append([n])
            cur = []
            continue
        cur.append(n)
        if len(cur) == EVENTS_PER_RECORD:
            groups.append(cur)
            cur = []
    if cur:
        groups.append(cur)

    records, manifest_records = [], []
    control = envelope(
        [{"id": "", "timestamp": base * 1000, "message": "CWL CONTROL MESSAGE: Checking health of destination Kinesis stream."}],
        message_type="CONTROL_MESSAGE",
    )
    control["owner"] = "CloudwatchLogs"
    control["logGroup"] = ""
    control["logStream"] = ""
    control["subscriptionFilters"] = []
    records.append(kinesis_record(0, gz(control), base + 0.5))
    manifest_records.append({"sequenceNumber": seq_number(0), "messageType": "CONTROL_MESSAGE", "logEvents": 1, "sourceLines": []})
    for gi, group in enumerate(groups, 1):
        events = [log_event(lines[n - 1], n) for n in group]
        extra = {"policyLevel": "ACCOUNT_LEVEL_POLICY"} if gi == 2 else None
        records.append(kinesis_record(gi, gz(envelope(events, extra=extra)), base + 1 + gi / 1000))
        manifest_records.append({
            "sequenceNumber": seq_number(gi),
            "messageType": "DATA_MESSAGE",
            "logEvents": len(group),
            "sourceLines": group,
            "lossy": [n for n in group if lines[n - 1].decode("utf-8", "replace").encode() != lines[n - 1]],
            "policyLevel": extra is not None,
        })
    with open(os.path.join(KINESIS, "kinesis-event.json"), "w") as f:
        json.dump({"Records": records}, f, indent=1)
        f.write("\n")

    small = lines_of(os.path.join(MARIADB, "audit-limit1024.log"))
    events = [log_event(line, n) for n, line in enumerate(small, 1)]
    payload = base64.b64encode(gz(envelope(events))).decode()
    with open(os.path.join(KINESIS, "awslogs-event.json"), "w") as f:
        json.dump({"awslogs": {"data": payload}}, f, indent=1)
        f.write("\n")

    manifest = {
        "description": "Expected content of the Kinesis / awslogs fixtures; built by corpus/tools/derive.py",
        "message_encoding": "each message is the source line decoded as UTF-8 with invalid bytes replaced by U+FFFD",
        "kinesis-event.json": {
            "source_log": "corpus/mariadb/audit-full.log",
            "records": len(records),
            "control_messages": 1,
            "data_messages": len(records) - 1,
            "data_log_events": len(lines),
            "per_record": manifest_records,
        },
        "awslogs-event.json": {
            "source_log": "corpus/mariadb/audit-limit1024.log",
            "messageType": "DATA_MESSAGE",
            "data_log_events": len(small),
            "lossy": [n for n, line in enumerate(small, 1) if line.decode("utf-8", "replace").encode() != line],
        },
    }
    with open(os.path.join(KINESIS, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)
        f.write("\n")


def make_aurora():
    """Aurora MySQL Advanced Auditing dialect: epoch-microsecond timestamp, instance name as
    serverhost, and a `0` return code on TABLE lines (the documented Aurora examples carry
    one where upstream writes an empty field). Microseconds are synthesised: the line's
    index within its second."""
    out = []
    lines = lines_of(os.path.join(MARIADB, "audit-full.log"))
    prev, k = None, 0
    for line in lines:
        sec = epoch_s(line)
        k = k + 1 if sec == prev else 0
        prev = sec
        fields = line.split(b",", 7)
        rest = fields[7]
        op = fields[6]
        if op in (b"READ", b"WRITE", b"CREATE", b"DROP", b"ALTER", b"RENAME"):
            assert rest.endswith(b",")
            rest += b"0"
        ts = b"%d" % (sec * 1_000_000 + k)
        out.append(b",".join([ts, b"aurora-corpus-instance-1"] + fields[2:7] + [rest]))
    with open(os.path.join(AURORA, "derived-from-mariadb-full.log"), "wb") as f:
        f.write(b"\n".join(out) + b"\n")


if __name__ == "__main__":
    make_kinesis()
    make_aurora()
