"""Minimal MySQL/MariaDB client protocol (stdlib only).

Gives byte-exact control over what is sent: COM_QUERY payloads are raw bytes
(no client-side parsing, no comment stripping, no charset conversion).
Supports mysql_native_password (incl. auth switch), COM_QUERY with
multi-results, COM_INIT_DB, COM_STMT_PREPARE / EXECUTE / CLOSE, COM_QUIT.
"""

import hashlib
import socket
import struct

CLIENT_LONG_PASSWORD = 0x1
CLIENT_CONNECT_WITH_DB = 0x8
CLIENT_PROTOCOL_41 = 0x200
CLIENT_TRANSACTIONS = 0x2000
CLIENT_SECURE_CONNECTION = 0x8000
CLIENT_MULTI_STATEMENTS = 0x10000
CLIENT_MULTI_RESULTS = 0x20000
CLIENT_PS_MULTI_RESULTS = 0x40000
CLIENT_PLUGIN_AUTH = 0x80000

SERVER_MORE_RESULTS_EXISTS = 0x0008

CHARSETS = {"utf8mb4": 45, "latin1": 8, "binary": 63}


class ServerError(Exception):
    def __init__(self, code, state, message):
        super().__init__(f"{code} ({state}): {message}")
        self.code = code
        self.state = state
        self.message = message


def native_password(password: bytes, scramble: bytes) -> bytes:
    if not password:
        return b""
    h1 = hashlib.sha1(password).digest()
    h2 = hashlib.sha1(h1).digest()
    h3 = hashlib.sha1(scramble + h2).digest()
    return bytes(a ^ b for a, b in zip(h1, h3))


def lenenc_int(buf, pos):
    first = buf[pos]
    if first < 0xFB:
        return first, pos + 1
    if first == 0xFC:
        return struct.unpack_from("<H", buf, pos + 1)[0], pos + 3
    if first == 0xFD:
        return int.from_bytes(buf[pos + 1 : pos + 4], "little"), pos + 4
    if first == 0xFE:
        return struct.unpack_from("<Q", buf, pos + 1)[0], pos + 9
    raise ValueError("bad lenenc int 0x%02x" % first)


def lenenc_bytes(data: bytes) -> bytes:
    n = len(data)
    if n < 0xFB:
        return bytes([n]) + data
    if n < 1 << 16:
        return b"\xfc" + struct.pack("<H", n) + data
    if n < 1 << 24:
        return b"\xfd" + n.to_bytes(3, "little") + data
    return b"\xfe" + struct.pack("<Q", n) + data


class Connection:
    def __init__(self, host, port, user, password, db=None, charset="utf8mb4", timeout=30):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.seq = 0
        self.connection_id = None
        self.server_version = None
        try:
            self._handshake(user.encode(), password.encode(), db.encode() if db is not None else None, charset)
        except ServerError as e:
            e.connection_id = self.connection_id
            self.sock.close()
            raise

    # --- packet layer -------------------------------------------------
    def _recv_exact(self, n):
        out = bytearray()
        while len(out) < n:
            chunk = self.sock.recv(n - len(out))
            if not chunk:
                raise ConnectionError("server closed the connection")
            out += chunk
        return bytes(out)

    def read_packet(self):
        payload = b""
        while True:
            hdr = self._recv_exact(4)
            length = int.from_bytes(hdr[:3], "little")
            self.seq = (hdr[3] + 1) & 0xFF
            payload += self._recv_exact(length)
            if length < 0xFFFFFF:
                return payload

    def write_packet(self, payload: bytes):
        while True:
            chunk, payload = payload[:0xFFFFFF], payload[0xFFFFFF:]
            self.sock.sendall(len(chunk).to_bytes(3, "little") + bytes([self.seq]) + chunk)
            self.seq = (self.seq + 1) & 0xFF
            if len(chunk) < 0xFFFFFF:
                return

    def command(self, cmd: int, arg: bytes = b""):
        self.seq = 0
        self.write_packet(bytes([cmd]) + arg)

    @staticmethod
    def _check_err(pkt):
        if pkt[:1] == b"\xff":
            code = struct.unpack_from("<H", pkt, 1)[0]
            if pkt[3:4] == b"#":
                state, msg = pkt[4:9].decode(), pkt[9:]
            else:
                state, msg = "", pkt[3:]
            raise ServerError(code, state, msg.decode("utf-8", "replace"))

    # --- handshake ------------------------------------------------------
    def _handshake(self, user, password, db, charset):
        pkt = self.read_packet()
        self._check_err(pkt)
        if pkt[0] != 10:
            raise ValueError("unsupported protocol version %d" % pkt[0])
        end = pkt.index(b"\0", 1)
        self.server_version = pkt[1:end].decode()
        pos = end + 1
        self.connection_id = struct.unpack_from("<I", pkt, pos)[0]
        pos += 4
        scramble = pkt[pos : pos + 8]
        pos += 9
        caps = struct.unpack_from("<H", pkt, pos)[0]
        pos += 2 + 1 + 2
        caps |= struct.unpack_from("<H", pkt, pos)[0] << 16
        pos += 2
        auth_len = pkt[pos]
        pos += 1 + 10
        part2_len = max(13, auth_len - 8)
        scramble += pkt[pos : pos + part2_len - 1]  # trailing NUL dropped
        pos += part2_len
        plugin = pkt[pos:].split(b"\0", 1)[0] or b"mysql_native_password"

        flags = (
            CLIENT_LONG_PASSWORD
            | CLIENT_PROTOCOL_41
            | CLIENT_TRANSACTIONS
            | CLIENT_SECURE_CONNECTION
            | CLIENT_MULTI_STATEMENTS
            | CLIENT_MULTI_RESULTS
            | CLIENT_PS_MULTI_RESULTS
            | CLIENT_PLUGIN_AUTH
        )
        if db is not None:
            flags |= CLIENT_CONNECT_WITH_DB
        auth = native_password(password, scramble) if plugin == b"mysql_native_password" else b""
        resp = struct.pack("<IIB", flags, 1 << 24, CHARSETS[charset]) + b"\0" * 23
        resp += user + b"\0" + bytes([len(auth)]) + auth
        if db is not None:
            resp += db + b"\0"
        resp += b"mysql_native_password\0"
        self.write_packet(resp)
        while True:
            pkt = self.read_packet()
            self._check_err(pkt)
            if pkt[:1] == b"\x00":
                return
            if pkt[:1] == b"\xfe":  # auth switch request
                name, _, data = pkt[1:].partition(b"\0")
                if name != b"mysql_native_password":
                    raise ValueError("unsupported auth plugin %r" % name)
                self.write_packet(native_password(password, data.rstrip(b"\0")))
                continue
            raise ValueError("unexpected auth packet %r" % pkt[:16])

    # --- results ----------------------------------------------------------
    def _read_ok_or_result(self, binary=False):
        """Reads one result; returns (rows, more_results)."""
        pkt = self.read_packet()
        self._check_err(pkt)
        if pkt[:1] == b"\x00":
            return None, self._ok_status(pkt) & SERVER_MORE_RESULTS_EXISTS
        ncols, _ = lenenc_int(pkt, 0)
        for _ in range(ncols):
            self.read_packet()
        eof = self.read_packet()  # EOF after column definitions
        rows = []
        while True:
            pkt = self.read_packet()
            self._check_err(pkt)
            if pkt[:1] == b"\xfe" and len(pkt) < 9:
                status = struct.unpack_from("<H", pkt, 3)[0]
                return rows, status & SERVER_MORE_RESULTS_EXISTS
            rows.append(pkt if binary else self._text_row(pkt, ncols))
        del eof

    @staticmethod
    def _ok_status(pkt):
        _, pos = lenenc_int(pkt, 1)
        _, pos = lenenc_int(pkt, pos)
        return struct.unpack_from("<H", pkt, pos)[0]

    @staticmethod
    def _text_row(pkt, ncols):
        row, pos = [], 0
        for _ in range(ncols):
            if pkt[pos] == 0xFB:
                row.append(None)
                pos += 1
                continue
            n, pos = lenenc_int(pkt, pos)
            row.append(pkt[pos : pos + n])
            pos += n
        return row

    def query(self, sql: bytes):
        """COM_QUERY; returns list of results (rows or None), raises ServerError
        on the first failing statement (remaining results are discarded by the
        server)."""
        self.command(0x03, sql)
        results = []
        while True:
            rows, more = self._read_ok_or_result()
            results.append(rows)
            if not more:
                return results

    def init_db(self, db: bytes):
        self.command(0x02, db)
        pkt = self.read_packet()
        self._check_err(pkt)

    def prepare(self, sql: bytes):
        self.command(0x16, sql)
        pkt = self.read_packet()
        self._check_err(pkt)
        stmt_id, ncols, nparams = struct.unpack_from("<IHH", pkt, 1)
        if nparams:
            for _ in range(nparams):
                self.read_packet()
            self.read_packet()
        if ncols:
            for _ in range(ncols):
                self.read_packet()
            self.read_packet()
        return stmt_id, nparams

    def execute(self, stmt_id: int, params):
        """params: list of bytes (sent as VAR_STRING) or int (LONGLONG)."""
        body = struct.pack("<IBI", stmt_id, 0, 1)
        if params:
            nulls = bytearray((len(params) + 7) // 8)
            types, values = b"", b""
            for i, p in enumerate(params):
                if p is None:
                    nulls[i // 8] |= 1 << (i % 8)
                    types += b"\x06\x00"
                elif isinstance(p, int):
                    types += b"\x08\x00"
                    values += struct.pack("<q", p)
                else:
                    types += b"\xfd\x00"
                    values += lenenc_bytes(p)
            body += bytes(nulls) + b"\x01" + types + values
        self.command(0x17, body)
        results = []
        while True:
            rows, more = self._read_ok_or_result(binary=True)
            results.append(rows)
            if not more:
                return results

    def close_stmt(self, stmt_id: int):
        self.command(0x19, struct.pack("<I", stmt_id))

    def quit(self):
        try:
            self.command(0x01)
            # the server closes the socket; wait for it so DISCONNECT is logged
            try:
                while self.sock.recv(4096):
                    pass
            except OSError:
                pass
        finally:
            self.sock.close()
