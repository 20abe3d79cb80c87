#!/usr/bin/env python3
"""Audit-plugin workload driver and expectation generator (stdlib only).

Drives a running MariaDB server through `myproto` (a minimal wire-protocol
client: every COM_QUERY payload is sent byte-for-byte as written here) and
writes `expected.jsonl`: one JSON object per audit record the plugin should
write, derived from what was SENT, never from the log.

The expected QUERY object is computed from the sent bytes by modelling the
documented behaviour of the server and of `server_audit`:

* the server trims leading whitespace and trailing whitespace / `;` from a
  COM_QUERY before it becomes the statement text (`alloc_query`);
* a multi-statement COM_QUERY is logged once per statement (the workload
  declares the parts, joined with "; " when sent);
* the plugin masks passwords of GRANT / CREATE USER / ALTER USER (after the
  word IDENTIFIED) and SET PASSWORD (after `=`): the text from the keyword to
  the next quote is copied with whitespace folded to ' ', then `*****`, then
  the quoted string is skipped honouring only backslash escapes (a doubled
  `''` ends the skip early and the rest of the password is logged!);
* truncation: the statement is cut to `server_audit_query_log_limit` bytes
  before escaping and the escaped output is capped at `limit` bytes, an
  escape sequence (2 bytes) is never split.

Output records (JSON lines):
  {"kind":"meta", ...}                      first line
  {"kind":"event","conn":N,"op":"CONNECT"|"DISCONNECT"|"FAILED_CONNECT",
   "user":..,"db":..,"retcode":..}
  {"kind":"event","conn":N,"op":"QUERY","user":..,"db":..,"retcode":..,
   "stmt":K,"tag":..,"sent_b64":..,"object_b64":..,"object_preview":<lossy text>,
   "truncated":bool,"masked":bool}
  {"kind":"event","conn":N,"op":"READ"|"WRITE"|"CREATE"|"DROP"|"ALTER"|"RENAME",
   "user":..,"db":..,"table":..,"stmt":K}   (TABLE event; must share the
                                             query_id of QUERY record `stmt`)
TABLE events on the databases listed in meta.incidental_table_dbs (server
internals such as mysql.global_priv, mysql.table_stats) are not predicted;
the checker only validates their shape and query_id ordering.
"""

import argparse
import base64
import json
import socket
import struct
import sys
import time

sys.path.insert(0, __import__("os").path.dirname(__file__))
from myproto import Connection, ServerError  # noqa: E402

USER = "rdsaudit"
PASSWORD = "rdsaudit-pw"
DB = "auditdb"
HOST = "127.0.0.1"

WS = b" \t\n\r\x0b\x0c"
ESC = {0x08: b"b", 0x09: b"t", 0x0A: b"n", 0x0C: b"f", 0x0D: b"r", 0x27: b"'", 0x5C: b"\\"}


# ---------------------------------------------------------------- model ----
def server_trim(sql: bytes) -> bytes:
    """alloc_query(): strip leading whitespace, trailing whitespace and ';'."""
    start = 0
    while start < len(sql) and sql[start] in WS:
        start += 1
    end = len(sql)
    while end > start and (sql[end - 1] in WS or sql[end - 1] == 0x3B):
        end -= 1
    return sql[start:end]


def first_words(sql: bytes):
    """The plugin's filter_query_type(): skip spaces, '(' and /* comments */."""
    i = 0
    while i < len(sql) and (sql[i] in b" \t\n\r(/"):
        if sql[i : i + 2] == b"/*":
            end = sql.find(b"*/", i + 2)
            i = len(sql) if end < 0 else end + 2
            continue
        i += 1
    return sql[i:].upper().split(None, 2)


def mask_rule(sql: bytes):
    """Returns (word, next_text_string) for statements the plugin masks."""
    words = first_words(sql)
    if words[:1] == [b"GRANT"] or words[:2] in ([b"CREATE", b"USER"], [b"ALTER", b"USER"]):
        return b"IDENTIFIED", False
    if words[:2] == [b"SET", b"PASSWORD"]:
        return b"=", True
    return None


def plugin_object(stmt: bytes, limit: int):
    """The object bytes (unescaped) the plugin logs for statement text `stmt`.

    Returns (object, truncated, masked)."""
    src = stmt[:limit] if limit > 0 else stmt
    budget = limit if limit > 0 else 1 << 62  # escaped bytes the buffer takes
    rule = mask_rule(stmt)
    out = bytearray()
    used = 0
    masked = False
    i = 0
    n = len(src)
    while i < n:
        if rule is not None:
            word, _ = rule
            if n - i > len(word) + 1 and src[i : i + len(word)].upper() == word:
                j = i + len(word)
                while j < n and src[j] not in b"'\"":
                    j += 1
                if used + (j - i) + 5 > budget:
                    break
                out += bytes(0x20 if c in b" \t\n\r" else c for c in src[i:j])
                used += j - i
                if j < n:
                    out += b"*****"
                    used += 5
                    masked = True
                    quote = src[j]
                    j += 1
                    while j < n:
                        if src[j] == quote:
                            j += 1
                            break
                        if src[j] == 0x5C and j + 1 < n:
                            j += 1
                        j += 1
                i = j
                continue
        c = src[i]
        cost = 2 if c in ESC else 1
        if used + cost > budget:
            break
        out.append(c)
        used += cost
        i += 1
    truncated = i < len(stmt)
    return bytes(out), truncated, masked


# ---------------------------------------------------------------- driver ---
def b64(b: bytes) -> str:
    return base64.b64encode(b).decode()


class Recorder:
    def __init__(self):
        self.events = []
        self.stmt = 0

    def emit(self, **kw):
        kw = {"kind": "event", **kw}
        self.events.append(kw)
        return kw

    def query_event(self, conn, user, db, text: bytes, sent: bytes, retcode, tag, tables):
        self.stmt += 1
        for op, tdb, table in tables:
            self.emit(conn=conn, op=op, user=user, db=tdb, table=table, stmt=self.stmt)
        # the object is computed in finish(), once the limit is known
        self.emit(conn=conn, op="QUERY", user=user, db=db, retcode=retcode, stmt=self.stmt, tag=tag,
                  sent_b64=b64(sent), _text=text)

    def finish(self, limit):
        for ev in self.events:
            text = ev.pop("_text", None)
            if text is None:
                continue
            obj, truncated, masked = plugin_object(text, limit)
            preview = obj.decode("utf-8", "replace")
            if len(preview) > 300:
                preview = preview[:300] + "..."
            # object_b64 is authoritative; object_preview is for human readers
            ev.update(object_b64=b64(obj), object_preview=preview, truncated=truncated, masked=masked)


class Session:
    def __init__(self, rec, port, user=USER, password=PASSWORD, db=DB, charset="utf8mb4"):
        self.rec = rec
        self.user = user
        self.db = db or ""
        self.c = Connection(HOST, port, user, password, db=db, charset=charset)
        self.id = self.c.connection_id
        rec.emit(conn=self.id, op="CONNECT", user=user, db=self.db, retcode=0)

    def q(self, sql, tag, tables=(), err=0, parts=None, logged=None):
        """Send `sql` as one COM_QUERY.

        tables: TABLE events expected before the QUERY line, (op, db, table).
        parts:  for multi-statements, [(part_text, tables), ...].
        logged: explicit list [(text, tables), ...] of statements the server
                logs for this command, for statements whose logged text is
                documented to differ from the sent text (SQL EXECUTE, CALL)."""
        sent = sql
        got = 0
        result = None
        try:
            result = self.c.query(sent)
            self.rec.last_rows = result[0]
        except ServerError as e:
            got = e.code
        if got != err:
            raise SystemExit(f"{tag}: expected error {err}, got {got}")
        if sent.upper().startswith(b"USE ") and got == 0:
            self.db = sent[4:].strip().decode()
        if parts is not None:
            for text, tabs in parts:
                self.rec.query_event(self.id, self.user, self.db, text, sent, 0, tag, tabs)
        elif logged is not None:
            for text, tabs in logged:
                self.rec.query_event(self.id, self.user, self.db, text, sent, got, tag, tabs)
        else:
            self.rec.query_event(self.id, self.user, self.db, server_trim(sent), sent, got, tag, tables)
        return result

    def prepare_execute(self, sql, params, tag, tables=()):
        """COM_STMT_PREPARE (not logged) + COM_STMT_EXECUTE (logged, with the
        statement text as prepared: placeholders are NOT expanded)."""
        sid, _ = self.c.prepare(sql)
        self.c.execute(sid, params)
        self.c.close_stmt(sid)
        self.rec.query_event(self.id, self.user, self.db, server_trim(sql), sql, 0, tag, tables)

    def prepare_fail(self, sql, err, tag):
        """A failing COM_STMT_PREPARE is logged (with its error code)."""
        try:
            self.c.prepare(sql)
        except ServerError as e:
            if e.code != err:
                raise
            self.rec.query_event(self.id, self.user, self.db, server_trim(sql), sql, err, tag, ())
            return
        raise SystemExit(f"{tag}: prepare unexpectedly succeeded")

    def init_db(self, db):
        """COM_INIT_DB is not logged, but later records carry the new db."""
        self.c.init_db(db.encode())
        self.db = db

    def quit(self):
        self.c.quit()
        self.rec.emit(conn=self.id, op="DISCONNECT", user=self.user, db=self.db, retcode=0)


def run(port, rec):
    W, R, C, D, A = "WRITE", "READ", "CREATE", "DROP", "ALTER"

    s = Session(rec, port)
    # the settings that shape the log; this session is audited like the rest
    settings = s.q(
        b"SELECT @@server_audit_query_log_limit, @@version, @@server_audit_events, @@system_time_zone,"
        b" @@server_audit_logging, @@hostname", "settings")[0][0]
    s.q(b"SELECT PLUGIN_AUTH_VERSION FROM information_schema.PLUGINS WHERE PLUGIN_NAME = 'SERVER_AUDIT'",
        "plugin-version")
    plugin_version = rec.last_rows[0][0]
    s.q(b"CREATE TABLE t1 (id INT PRIMARY KEY AUTO_INCREMENT, s VARCHAR(4000), b VARBINARY(4000))",
        "ddl-create", [(C, DB, "t1")])
    s.q(b"INSERT INTO t1 (s) VALUES ('a,b,c'), ('it''s'), ('it\\'s'), ('x, y', 'z')",
        "commas-quotes-error", [(W, DB, "t1")], err=1136)
    s.q(b"INSERT INTO t1 (s) VALUES ('a,b,c'), ('it''s'), ('it\\'s')", "commas-quotes", [(W, DB, "t1")])
    s.q(b"SELECT \"it's\"", "odd-quote")
    s.q(b"SELECT \"a,\"\"b\"\"\", 'c'',d'", "double-quotes")
    s.q(b"SELECT 'C:\\\\dir\\\\', 'a\\'b', '\\\\'", "backslashes")
    s.q(b"SELECT 'x\\\\' , 'y' -- ends with backslash \\", "trailing-backslash")
    s.q(b"SELECT 1 -- '", "quote-in-comment")
    s.q(b"SELECT 'tab\there',\n 'cr\rlf\r\n', 'ff\x0c', 'bs\x08', 'vt\x0b', 'esc\x1b'", "control-chars")
    s.q(b"SELECT 'nul\x00byte', X'00', 'after'", "nul")
    s.q("SELECT '日本語、テキスト, with ASCII comma', 'カンマ、,', s FROM t1 WHERE s = 'a,b,c'".encode(),
        "japanese", [(R, DB, "t1")])
    s.q("SELECT '😀👍🏽', 'e\u0301', '\u2028'".encode(), "emoji")
    s.q(b"SELECT _binary'\xff\xfe\x80\x00\\'\xc3'", "binary-not-utf8")
    s.q(b"INSERT INTO t1 (b) VALUES (_binary'\xc3\x28,\xa0')", "binary-insert", [(W, DB, "t1")])
    s.q(b"/* lead, comment */ SELECT 1 -- trail, comment\n", "comments")
    s.q(b"SELECT 1 # hash, comment", "hash-comment")
    s.q(b"/*!50000 SELECT 2 */", "versioned-comment")
    s.q(b"SELECT /* in 'quote', */ 3", "inline-comment")
    s.q(b" \t\r\nSELECT 4 ;  \r\n", "whitespace-trim")
    s.q(b"SELECT 'identified by secret', 'a = \\'b\\''", "not-dcl")
    s.q(b"SELEC 1, 'bad'", "syntax-error", err=1064)
    s.q(b"SELECT * FROM nope", "no-such-table", err=1146)
    # multi-statement: logged one record per statement
    s.q(b"SELECT 1; SELECT 'two;three'; INSERT INTO t1 (s) VALUES ('m,;')", "multi",
        parts=[(b"SELECT 1", []), (b"SELECT 'two;three'", []),
               (b"INSERT INTO t1 (s) VALUES ('m,;')", [(W, DB, "t1")])])
    # prepared statements, binary protocol
    s.prepare_execute(b"SELECT ?, s FROM t1 WHERE id = ?", [b"p,'1\n", 1], "ps-execute", [(R, DB, "t1")])
    s.prepare_execute(b"INSERT INTO t1 (s) VALUES (?)", [b"ps\\,'x"], "ps-insert", [(W, DB, "t1")])
    s.prepare_fail(b"SELECT * FROM nope WHERE x = ?", 1146, "ps-prepare-error")
    # prepared statements, SQL level: EXECUTE is logged with the prepared text
    s.q(b"PREPARE st FROM 'SELECT ? AS x, s FROM t1 WHERE s <> \\'it\\'\\'s\\''", "sql-prepare")
    s.q(b"SET @a = 'q''z'", "set-var")
    s.q(b"EXECUTE st USING @a", "sql-execute",
        logged=[(b"SELECT ? AS x, s FROM t1 WHERE s <> 'it''s'", [(R, DB, "t1")])])
    s.q(b"DEALLOCATE PREPARE st", "sql-deallocate")
    # stored procedure: inner statements are logged before the CALL record
    s.q(b"CREATE PROCEDURE p1() BEGIN INSERT INTO t1 (s) VALUES ('proc,1'); SELECT COUNT(*) FROM t1; END",
        "create-procedure")
    s.q(b"CALL p1()", "call",
        logged=[(b"INSERT INTO t1 (s) VALUES ('proc,1')", [(W, DB, "t1")]),
                (b"SELECT COUNT(*) FROM t1", [(R, DB, "t1")]),
                (b"CALL p1()", [])])
    # long statements
    s.q(b"SELECT '" + b"abcdefghij" * 150 + b"' AS long1500", "long-ascii")
    s.q("SELECT '".encode() + "あ、い,".encode() * 150 + b"' AS long_mb", "long-multibyte-cut")
    s.q(b"SELECT '" + b"x\n" * 400 + b"' AS escapes", "long-escapes-under-limit")
    s.q(b"SELECT '" + b"a'b" * 300 + b"'", "long-quotes", err=1064)
    big = ("row, 'quoted' \\ back\t日本、語 😀\n".encode() * 4000).replace(b"'", b"''").replace(b"\\", b"\\\\")
    s.q(b"SELECT LENGTH('" + big + b"') AS over_100k", "over-100k")
    s.q(b"INSERT INTO t1 (s) VALUES ('" + b"w" * 1200 + b"')", "long-insert", [(W, DB, "t1")])
    # DCL: password masking
    s.q(b"CREATE USER 'u1'@'127.0.0.1' IDENTIFIED BY 'se,cr''et'", "create-user-doubled-quote")
    s.q(b"ALTER USER 'u1'@'127.0.0.1' IDENTIFIED BY 'n3w\\'x'", "alter-user")
    s.q(b"SET PASSWORD FOR 'u1'@'127.0.0.1' = PASSWORD('pw2')", "set-password")
    s.q(b"GRANT SELECT ON auditdb.* TO 'u1'@'127.0.0.1' IDENTIFIED BY 'pw3'", "grant-identified")
    s.q(b"CREATE USER 'u2'@'127.0.0.1' IDENTIFIED VIA mysql_native_password USING PASSWORD('pw4')",
        "create-user-via")
    s.q(b"create user u3@'127.0.0.1'\nidentified\tby \"pw5\"", "create-user-lower")
    s.q(b"REVOKE SELECT ON auditdb.* FROM 'u1'@'127.0.0.1'", "revoke")
    s.q(b"GRANT SELECT ON auditdb.* TO 'u1'@'127.0.0.1'", "grant")
    s.q(b"DROP USER u2@'127.0.0.1', u3@'127.0.0.1'", "drop-user")
    # DDL and table events
    s.q(b"ALTER TABLE t1 ADD COLUMN c INT", "ddl-alter", [(A, DB, "t1"), (R, DB, "t1")])
    s.q(b"RENAME TABLE t1 TO t2", "ddl-rename", [("RENAME", DB, "t1|auditdb.t2")])
    s.q(b"CREATE TABLE t3 (x INT)", "ddl-create-2", [(C, DB, "t3")])
    s.q(b"INSERT INTO t3 SELECT id FROM t2", "insert-select", [(W, DB, "t3"), (R, DB, "t2")])
    s.q(b"DROP TABLE t3", "ddl-drop", [(D, DB, "t3")])
    s.init_db("mysql")
    s.q(b"SELECT 1", "after-init-db")
    s.q(b"USE auditdb", "use")
    s.quit()

    # failed login: FAILED_CONNECT (db not yet set) followed by DISCONNECT
    try:
        Connection(HOST, port, USER, "wrong-password", db=DB)
    except ServerError as e:
        if e.code != 1045:
            raise
        rec.emit(conn=e.connection_id, op="FAILED_CONNECT", user=USER, db="", retcode=1045)
        rec.emit(conn=e.connection_id, op="DISCONNECT", user=USER, db="", retcode=0)
    else:
        raise SystemExit("login with a wrong password succeeded")

    # a bare TCP connect that never authenticates (a health check, a port
    # scanner): logged as FAILED_CONNECT with an empty user, then DISCONNECT
    sock = socket.create_connection((HOST, port), timeout=30)
    hello = sock.recv(4096)
    sock.close()
    bare_id = struct.unpack_from("<I", hello, hello.index(b"\0", 5) + 1)[0]
    rec.emit(conn=bare_id, op="FAILED_CONNECT", user="", db="", retcode=1158)
    rec.emit(conn=bare_id, op="DISCONNECT", user="", db="", retcode=0)

    # latin1 connection, no default database: raw latin1 bytes are logged
    s = Session(rec, port, db=None, charset="latin1")
    s.q(b"SELECT 'caf\xe9 cr\xe8me, na\xefve'", "latin1-handshake")
    s.q(b"SET NAMES latin1", "set-names")
    s.q(b"SELECT '\xc0 la carte', '\xa3\xa5'", "latin1-set-names")
    s.q(b"USE auditdb", "use-latin1")
    s.q(b"SELECT s FROM t2 WHERE id = 1", "latin1-read", [(R, DB, "t2")])
    s.quit()

    # connect + disconnect only
    s = Session(rec, port, db=None)
    s.quit()

    # a restricted user: denied statements are logged with their error code
    s = Session(rec, port, user="u1", password="pw3", db=DB)
    s.q(b"SELECT COUNT(*) FROM t2", "u1-read", [(R, DB, "t2")])
    s.q(b"INSERT INTO t2 (s) VALUES ('denied')", "u1-denied", err=1142)
    s.quit()

    # cleanup (still logged)
    s = Session(rec, port)
    s.q(b"DROP PROCEDURE p1", "drop-procedure")
    s.q(b"DROP TABLE t2", "ddl-drop-2", [(D, DB, "t2")])
    s.q(b"DROP USER u1@'127.0.0.1'", "drop-user-2")
    s.quit()
    return [v.decode() for v in settings] + [plugin_version.decode()]


# ------------------------------------------------------------ hostile ----
def forged_line(serverhost, op_tail):
    """A well-formed audit line with a forged time, user and statement."""
    return f"20250101 00:00:00,{serverhost},admin,127.0.0.1,1,2,{op_tail}"


def hostile_users(serverhost):
    """User names of failed logins (no such account, no password needed): each forges an
    operation of every class and dialect, or a whole record after a raw line break. The
    server keeps them whole (they stay under 128 bytes)."""
    return [
        "x,h,1,2,QUERY,db,'GRANT ALL ON *.* TO evil',0",
        "rdsadmin,localhost,1,2,QUERY,,'SELECT 1',0",
        "x,127.0.0.1,1,2,QUERY,,'SELECT 1',0,,",
        "x,127.0.0.1,1,0,CONNECT,auditdb,,0",
        "x,127.0.0.1,1,0,DISCONNECT,,,0",
        "x,127.0.0.1,1,0,FAILED_CONNECT,,,1045,SSL",
        "x,127.0.0.1,1,2,READ,auditdb,t1,",
        "x,127.0.0.1,1,2,WRITE,auditdb,t1,0",
        "x\n" + forged_line(serverhost, "QUERY,auditdb,'DROP TABLE t1',0"),
        "x\r" + forged_line(serverhost, "QUERY,auditdb,'DROP TABLE t1',0"),
        "a,h,1,2,QUERY,,'GRANT ALL ON *.* TO a',0\nx",
        "x,1\r\n" + forged_line(serverhost, "WRITE,auditdb,t1,"),
        # A newline and a timestamp: neither half reads alone, the join does.
        "u\n20250101 00:00:00",
        # A whole forged record before a newline and a timestamp, or before a blank line.
        "a,h,1,2,QUERY,,'DROP TABLE t1',0\n20250101 00:00:00",
        "a,h,1,2,QUERY,,'GRANT ALL ON *.* TO a',0\n\nx",
    ]


# Database and table names with commas, quotes and forged tails (each under 64 characters).
DB_FORGED_STATEMENT = "d,'SELECT 1',0"
DB_COMMA, TABLE_COMMA = "a,b", "t,1"
TABLE_FORGED_HEADER = "t',0,127.0.0.1,9,9,QUERY,x"
# A logged-in account whose name holds a forged header.
USER_FORGED_HEADER = "e,127.0.0.1,1,2,QUERY,auditdb"


def q_ident(name):
    return "`" + name.replace("`", "``") + "`"


def run_hostile(port, rec):
    W, R, C, D = "WRITE", "READ", "CREATE", "DROP"
    s = Session(rec, port)
    settings = s.q(
        b"SELECT @@server_audit_query_log_limit, @@version, @@server_audit_events, @@system_time_zone,"
        b" @@server_audit_logging, @@hostname", "settings")[0][0]
    serverhost = settings[5].decode()
    s.q(b"SELECT PLUGIN_AUTH_VERSION FROM information_schema.PLUGINS WHERE PLUGIN_NAME = 'SERVER_AUDIT'",
        "plugin-version")
    plugin_version = rec.last_rows[0][0]

    for user in hostile_users(serverhost):
        try:
            Connection(HOST, port, user, "x")
        except ServerError as e:
            # 1698 when the server answered with an authentication switch first
            if e.code not in (1045, 1698):
                raise
            rec.emit(conn=e.connection_id, op="FAILED_CONNECT", user=user, db="", retcode=e.code)
            rec.emit(conn=e.connection_id, op="DISCONNECT", user=user, db="", retcode=0)
        else:
            raise SystemExit(f"login as {user!r} succeeded")

    # A database whose name ends like a statement: the real statement must win.
    qd = q_ident(DB_FORGED_STATEMENT)
    s.q(f"CREATE DATABASE {qd}".encode(), "create-db-forged-statement")
    s.init_db(DB_FORGED_STATEMENT)
    s.q(b"CREATE TABLE users (id INT)", "create-users", [(C, DB_FORGED_STATEMENT, "users")])
    s.q(b"DELETE FROM users", "delete-users", [(W, DB_FORGED_STATEMENT, "users")])
    s.init_db(DB)
    # A database and a table with commas: TABLE events with more than one cut.
    qa, qt = q_ident(DB_COMMA), q_ident(TABLE_COMMA)
    s.q(f"CREATE DATABASE {qa}".encode(), "create-db-comma")
    s.q(f"CREATE TABLE {qa}.{qt} (x INT)".encode(), "create-table-comma", [(C, DB_COMMA, TABLE_COMMA)])
    s.q(f"INSERT INTO {qa}.{qt} VALUES (1)".encode(), "insert-comma", [(W, DB_COMMA, TABLE_COMMA)])
    s.q(f"SELECT x FROM {qa}.{qt}".encode(), "select-comma", [(R, DB_COMMA, TABLE_COMMA)])
    # A table whose name holds a quote and a forged header.
    qf = q_ident(TABLE_FORGED_HEADER)
    s.q(f"CREATE TABLE {qf} (x INT)".encode(), "create-table-forged", [(C, DB, TABLE_FORGED_HEADER)])
    s.q(f"SELECT x FROM {qf}".encode(), "select-forged", [(R, DB, TABLE_FORGED_HEADER)])
    # An account whose name holds a forged header logs in and runs a statement.
    acct = f"'{USER_FORGED_HEADER}'@'127.0.0.1'"
    s.q(f"CREATE USER {acct} IDENTIFIED BY 'pw-e'".encode(), "create-user-forged")
    s.q(f"GRANT SELECT ON auditdb.* TO {acct}".encode(), "grant-user-forged")
    e = Session(rec, port, user=USER_FORGED_HEADER, password="pw-e", db=DB)
    e.q(b"SELECT 1", "forged-user-select")
    e.quit()
    # cleanup (still logged)
    s.q(f"DROP USER {acct}".encode(), "drop-user-forged")
    s.q(f"DROP TABLE {qf}".encode(), "drop-table-forged", [(D, DB, TABLE_FORGED_HEADER)])
    s.q(f"DROP DATABASE {qa}".encode(), "drop-db-comma", [(D, DB_COMMA, TABLE_COMMA)])
    s.q(f"DROP DATABASE {qd}".encode(), "drop-db-forged", [(D, DB_FORGED_STATEMENT, "users")])
    s.quit()
    return [v.decode() for v in settings] + [plugin_version.decode()]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--expected", required=True)
    ap.add_argument("--pass-name", required=True)
    args = ap.parse_args()

    rec = Recorder()
    start = time.time()
    scenario = run_hostile if args.pass_name == "hostile" else run
    limit, version, events, tz, logging, hostname, plugin_version = scenario(args.port, rec)
    end = time.time()
    if logging != "1":
        raise SystemExit("server_audit_logging is not ON")
    rec.finish(int(limit))

    meta = {
        "kind": "meta",
        "pass": args.pass_name,
        "query_log_limit": int(limit),
        "server_version": version,
        "plugin_version": plugin_version,
        "server_audit_events": events,
        "system_time_zone": tz,
        "serverhost": hostname,
        "client_host": HOST,
        "start_epoch_s": int(start),
        "end_epoch_s": int(end) + 1,
        "incidental_table_dbs": ["mysql"],
        "events": len(rec.events),
    }
    with open(args.expected, "w", encoding="utf-8") as f:
        f.write(json.dumps(meta) + "\n")
        for ev in rec.events:
            f.write(json.dumps(ev) + "\n")


if __name__ == "__main__":
    main()
