#!/usr/bin/env python3
"""The `semantics` pass of record.sh: statements whose meaning rdsaudit-sql must get right
(`writes`, `tables`, `version_dependent`), sent byte-exact to a real MariaDB server.

For each case the server's own behaviour is measured, not assumed: a checksum of the
workload's tables, their list and the installed plugins are read before and after, so
`wrote` says whether the statement really changed anything. Output (JSON lines):

  {"kind": "meta", "pass": "semantics", "server_version": ...}
  {"kind": "case", "tag": ..., "sent_b64": ..., "retcode": 0,
   "logged": [{"object_b64": ..., "db": ..., "writes": true, "tables": [...],
               "version_dependent": false}, ...],
   "wrote": true}

`logged` lists the QUERY records the server writes for the command, with rdsaudit's
documented verdict for each (crates/rdsaudit-sql: lexer, statement and class docs).
The server rewrites the `!` of a versioned comment it skips to a space before logging, so
`logged` holds the rewritten text; crates/rdsaudit-sql/tests/semantics.rs checks it.
"""

import argparse
import base64
import json
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
from myproto import Connection, ServerError  # noqa: E402

USER = "rdsaudit"
PASSWORD = "rdsaudit-pw"
HOST = "127.0.0.1"


def b64(b: bytes) -> str:
    return base64.b64encode(b).decode()


def case(sent, logged=None, writes=True, tables=(), dependent=False, db="sem", err=0):
    """One command; `logged` defaults to one record of the sent text."""
    if logged is None:
        logged = [(sent, db, writes, list(tables), dependent)]
    return {"sent": sent, "logged": logged, "err": err}


def one(text, db, writes, tables=(), dependent=False):
    return (text, db, writes, list(tables), dependent)


CASES = [
    # SET STATEMENT ... FOR (MariaDB): the inner statement.
    case(b"SET STATEMENT max_statement_time=10 FOR DELETE FROM t WHERE id=1", tables=["sem.t"]),
    case(b"SET STATEMENT max_statement_time=10 FOR SELECT * FROM t", writes=False, tables=["sem.t"]),
    # Versioned comments: run, or skipped and logged with the `!` rewritten.
    case(b"/*!40000 DELETE FROM t WHERE id=2 */", tables=["sem.t"]),
    case(b"/*!50699 DELETE FROM t WHERE id=3 */", tables=["sem.t"]),
    case(b"/*!99999 DELETE FROM t WHERE id=4 */",
         logged=[one(b"/* 99999 DELETE FROM t WHERE id=4 */", "sem", False)]),
    case(b"/*!99999 DROP TABLE t */ SELECT 1",
         logged=[one(b"/* 99999 DROP TABLE t */ SELECT 1", "sem", False)]),
    case(b"/*!50700 DELETE FROM t WHERE id=4 */ SELECT 1",
         logged=[one(b"/* 50700 DELETE FROM t WHERE id=4 */ SELECT 1", "sem", False)]),
    case(b"/*!100100 DELETE FROM t WHERE id=4 */", tables=["sem.t"]),
    # MariaDB ran it, MySQL would have read a comment: the upstream plugin's log does not
    # say which, so it is a flagged write candidate.
    case(b"/*M!100100 DELETE FROM t WHERE id=5 */", tables=["sem.t"], dependent=True),
    case(b"/*M!999999 DELETE FROM t WHERE id=6 */ SELECT 2",
         logged=[one(b"/*M 999999 DELETE FROM t WHERE id=6 */ SELECT 2", "sem", False)]),
    # Compound statements outside stored programs: MariaDB logs each statement they run,
    # then the compound itself.
    case(b"BEGIN NOT ATOMIC DELETE FROM t WHERE id=6; END",
         logged=[one(b"DELETE FROM t WHERE id=6", "sem", True, ["sem.t"]),
                 one(b"BEGIN NOT ATOMIC DELETE FROM t WHERE id=6; END", "sem", True, ["sem.t"])]),
    case(b"IF 1 THEN DELETE FROM t WHERE id=7; END IF",
         logged=[one(b"DELETE FROM t WHERE id=7", "sem", True, ["sem.t"]),
                 one(b"IF 1 THEN DELETE FROM t WHERE id=7; END IF", "sem", True, ["sem.t"])]),
    case(b"BEGIN NOT ATOMIC DECLARE n INT; SELECT COUNT(*) INTO n FROM t; END",
         logged=[one(b"SELECT COUNT(*) INTO n FROM t", "sem", False, ["sem.t"]),
                 one(b"BEGIN NOT ATOMIC DECLARE n INT; SELECT COUNT(*) INTO n FROM t; END",
                     "sem", False, ["sem.t"])]),
    # The current database: a multi-statement text is logged statement by statement, each
    # with the database current when it ran.
    case(b"USE sem2; DELETE FROM t WHERE id=8",
         logged=[one(b"USE sem2", "sem2", False),
                 one(b"DELETE FROM t WHERE id=8", "sem2", True, ["sem2.t"])]),
    case(b"USE sem", writes=False, db="sem"),
    case(b"DELETE FROM sem2.t WHERE id=9; DELETE FROM t WHERE id=9",
         logged=[one(b"DELETE FROM sem2.t WHERE id=9", "sem", True, ["sem2.t"]),
                 one(b"DELETE FROM t WHERE id=9", "sem", True, ["sem.t"])]),
    # Administration, one by one.
    case(b"ANALYZE DELETE FROM t WHERE id=10", tables=["sem.t"]),
    case(b"ANALYZE TABLE t", writes=False, tables=["sem.t"]),
    case(b"CHECK TABLE t", writes=False, tables=["sem.t"]),
    case(b"REPAIR TABLE t", tables=["sem.t"]),
    case(b"LOAD INDEX INTO CACHE t", writes=False),
    case(b"FLUSH PRIVILEGES", writes=False, db="sem"),
    case(b"INSTALL PLUGIN blackhole SONAME 'ha_blackhole.so'"),
    case(b"UNINSTALL PLUGIN blackhole"),
    case(b"OPTIMIZE TABLE t2", tables=["sem.t2"]),
    case(b"TRUNCATE t2", tables=["sem.t2"]),
    case(b"PURGE BINARY LOGS TO 'mysql-bin.000002'"),
    case(b"RESET MASTER"),
    # Sequences (MariaDB 10.3+): NEXTVAL, NEXT VALUE FOR and SETVAL change the sequence
    # (NOCACHE: every call writes it); LASTVAL and PREVIOUS VALUE FOR read it (the server logs a READ of it).
    case(b"SELECT NEXTVAL(s)", tables=["sem.s"]),
    case(b"SELECT NEXT VALUE FOR sem.s", tables=["sem.s"]),
    case(b"DO SETVAL(s, 100)", tables=["sem.s"]),
    case(b"SELECT LASTVAL(s), PREVIOUS VALUE FOR s", writes=False, tables=["sem.s"]),
    case(b"SELECT 'NEXTVAL(s)'", writes=False),
    # Triggers: the table a trigger is defined on.
    case(b"CREATE TRIGGER trg BEFORE INSERT ON t2 FOR EACH ROW SET NEW.id = NEW.id + 0",
         tables=["sem.t2"]),
    case(b"DROP TRIGGER trg"),
]


def state(c):
    """What a write can change here: rows of the tables, the tables, the plugins, the binary
    logs, the sequence."""
    rows = c.query(b"CHECKSUM TABLE sem.t, sem.t2, sem2.t EXTENDED")[0]
    tables = c.query(b"SELECT GROUP_CONCAT(CONCAT(table_schema, '.', table_name) ORDER BY 1)"
                     b" FROM information_schema.tables WHERE table_schema IN ('sem', 'sem2')")[0]
    plugins = c.query(b"SELECT COUNT(*) FROM information_schema.plugins")[0]
    logs = c.query(b"SHOW BINARY LOGS")[0]
    sequence = c.query(b"SELECT next_not_cached_value FROM sem.s")[0]
    return (rows, tables, plugins, [r[0] for r in logs], sequence)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--expected", required=True)
    args = ap.parse_args()

    c = Connection(HOST, args.port, USER, PASSWORD, db="auditdb")
    for sql in [b"CREATE DATABASE sem", b"CREATE DATABASE sem2",
                b"CREATE TABLE sem.t (id INT PRIMARY KEY) ENGINE=MyISAM",
                b"CREATE TABLE sem.t2 (id INT PRIMARY KEY)",
                b"CREATE TABLE sem2.t (id INT PRIMARY KEY)",
                b"CREATE SEQUENCE sem.s NOCACHE",
                b"INSERT INTO sem.t VALUES " + b",".join(b"(%d)" % i for i in range(1, 21)),
                b"INSERT INTO sem.t2 VALUES (1)",
                b"INSERT INTO sem2.t VALUES " + b",".join(b"(%d)" % i for i in range(1, 21)),
                b"FLUSH BINARY LOGS", b"USE sem"]:
        c.query(sql)
    version = c.query(b"SELECT @@version")[0][0][0].decode()
    probe = Connection(HOST, args.port, USER, PASSWORD, db="auditdb")
    out = [{"kind": "meta", "pass": "semantics", "server_version": version,
            "connection_id": c.connection_id}]
    for k in CASES:
        before = state(probe)
        got = 0
        try:
            c.query(k["sent"])
        except ServerError as e:
            got = e.code
        if got != k["err"]:
            raise SystemExit(f"{k['sent']!r}: expected error {k['err']}, got {got}")
        wrote = state(probe) != before
        out.append({
            "kind": "case",
            "sent_b64": b64(k["sent"]),
            "retcode": got,
            "wrote": wrote,
            "logged": [{"object_b64": b64(t), "db": db, "writes": w, "tables": tabs,
                        "version_dependent": dep} for t, db, w, tabs, dep in k["logged"]],
        })
    c.quit()
    probe.quit()
    with open(args.expected, "w", encoding="utf-8") as f:
        for rec in out:
            f.write(json.dumps(rec) + "\n")


if __name__ == "__main__":
    main()
