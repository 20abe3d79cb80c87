//! Typed audit events: what one audit line means.
//!
//! An [`AuditEvent`] borrows every field from the line it was scanned from. Only the object
//! (the SQL text of a `QUERY`) may need an allocation, and only when it is unescaped and holds
//! an escape sequence.
//!
//! ```
//! use rdsaudit::{parse_line, Dialect, Operation};
//!
//! let line = br"1703817810076799,aurora-mysql-instance-1,rdsadmin,localhost,223170,20070834,QUERY,,'SET SESSION time_zone=\'+00:00\'',0";
//! let event = parse_line(line)?;
//! assert_eq!(event.timestamp.dialect, Dialect::Aurora);
//! assert_eq!(event.timestamp.epoch_us, 1703817810076799);
//! assert_eq!(event.operation, Operation::Query);
//! assert_eq!(event.object.text(), "SET SESSION time_zone='+00:00'");
//! assert_eq!(event.retcode, Some(0));
//! # Ok::<(), rdsaudit::LineError>(())
//! ```

use std::borrow::Cow;

pub use crate::audit::dialect::Dialect;

/// When the event happened, normalised to UTC epoch microseconds.
///
/// MariaDB-style timestamps are server local time with one-second resolution; they are read
/// as UTC, which is what RDS servers run on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Timestamp {
    /// Microseconds since the Unix epoch, UTC (MariaDB-style local times are read as UTC).
    pub epoch_us: i64,
    /// The dialect the line was written in, told from the line itself.
    pub dialect: Dialect,
}

/// The `operation` field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operation<'a> {
    /// A client logged in.
    Connect,
    /// A client logged out.
    Disconnect,
    /// A login failed (the user name is whatever the client sent).
    FailedConnect,
    /// `COM_CHANGE_USER` (`CHANGEUSER` in the log).
    ChangeUser,
    /// A proxy user logged in (`PROXY_CONNECT`).
    ProxyConnect,
    /// A statement; the object is its escaped text.
    Query,
    /// A table was read (TABLE events; the object is the table).
    Read,
    /// A table was written.
    Write,
    /// A table was created.
    Create,
    /// A table was altered.
    Alter,
    /// A table was dropped.
    Drop,
    /// A table was renamed (the object is `old|newdb.newtable`).
    Rename,
    /// Any other upper-case token, kept as written.
    Other(&'a str),
}

impl<'a> Operation<'a> {
    /// Maps a token to an operation; unknown tokens become [`Operation::Other`].
    pub fn from_token(token: &'a str) -> Self {
        Operation::known(token.as_bytes()).unwrap_or(Operation::Other(token))
    }

    /// The operation a token names, when it is one of the known ones: read from the line's
    /// bytes, so the scanner need not check the token as UTF-8 first (a `from_utf8` call per
    /// token was 2% of a plain log's whole run). Inlined: the scanner's call per line cost
    /// more than the match.
    #[inline(always)]
    pub(crate) fn known(token: &[u8]) -> Option<Operation<'static>> {
        Some(match token {
            b"CONNECT" => Operation::Connect,
            b"DISCONNECT" => Operation::Disconnect,
            b"FAILED_CONNECT" => Operation::FailedConnect,
            b"CHANGEUSER" => Operation::ChangeUser,
            b"PROXY_CONNECT" => Operation::ProxyConnect,
            b"QUERY" => Operation::Query,
            b"READ" => Operation::Read,
            b"WRITE" => Operation::Write,
            b"CREATE" => Operation::Create,
            b"ALTER" => Operation::Alter,
            b"DROP" => Operation::Drop,
            b"RENAME" => Operation::Rename,
            _ => return None,
        })
    }

    /// The token as it appears in the log.
    pub fn as_str(&self) -> &'a str {
        match self {
            Operation::Connect => "CONNECT",
            Operation::Disconnect => "DISCONNECT",
            Operation::FailedConnect => "FAILED_CONNECT",
            Operation::ChangeUser => "CHANGEUSER",
            Operation::ProxyConnect => "PROXY_CONNECT",
            Operation::Query => "QUERY",
            Operation::Read => "READ",
            Operation::Write => "WRITE",
            Operation::Create => "CREATE",
            Operation::Alter => "ALTER",
            Operation::Drop => "DROP",
            Operation::Rename => "RENAME",
            Operation::Other(s) => s,
        }
    }

    /// TABLE events: the object is a bare table name, never quoted.
    pub fn is_table(&self) -> bool {
        matches!(
            self,
            Operation::Read
                | Operation::Write
                | Operation::Create
                | Operation::Alter
                | Operation::Drop
                | Operation::Rename
        )
    }

    /// Connection events: the object is empty, a TLS version or `` `user`@`host` ``.
    pub fn is_connection(&self) -> bool {
        matches!(
            self,
            Operation::Connect
                | Operation::Disconnect
                | Operation::FailedConnect
                | Operation::ChangeUser
                | Operation::ProxyConnect
        )
    }
}

impl std::fmt::Display for Operation<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The `object` field: SQL text for QUERY, a table name for TABLE events.
///
/// `raw` is exactly what stands in the line between the quotes, still escaped; nothing is
/// decoded until asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Object<'a> {
    raw: &'a [u8],
    quoted: bool,
}

/// Length at which the plugin's default `server_audit_query_log_limit` cuts statements.
pub const DEFAULT_QUERY_LOG_LIMIT: usize = 1024;

impl<'a> Object<'a> {
    /// An object of `raw` bytes as written in the line (`quoted`: it was single-quoted and is escaped).
    pub fn new(raw: &'a [u8], quoted: bool) -> Self {
        Object { raw, quoted }
    }

    /// The bytes as written in the line (escapes intact, quotes removed).
    pub fn raw(&self) -> &'a [u8] {
        self.raw
    }

    /// Whether the line wrote the object between single quotes (QUERY events do).
    pub fn is_quoted(&self) -> bool {
        self.quoted
    }

    /// Whether the object is empty (connection events).
    pub fn is_empty(&self) -> bool {
        self.raw.is_empty()
    }

    /// The unescaped bytes; borrowed when the object holds no backslash.
    ///
    /// Unquoted objects (table names) are never unescaped: the plugin writes them raw.
    pub fn unescaped(&self) -> Cow<'a, [u8]> {
        if !self.quoted || memchr::memchr(b'\\', self.raw).is_none() {
            return Cow::Borrowed(self.raw);
        }
        let mut out = Vec::with_capacity(self.raw.len());
        crate::audit::unescape::unescape_into(self.raw, &mut out);
        Cow::Owned(out)
    }

    /// Appends the unescaped bytes to `out`, for callers that reuse one buffer for many
    /// events.
    pub fn unescape_into(&self, out: &mut Vec<u8>) {
        if self.quoted {
            crate::audit::unescape::unescape_to(self.raw, out);
        } else {
            out.extend_from_slice(self.raw);
        }
    }

    /// The unescaped text, with invalid UTF-8 replaced by U+FFFD (see [`Object::unescaped`] for
    /// the exact bytes).
    pub fn text(&self) -> Cow<'a, str> {
        match self.unescaped() {
            Cow::Borrowed(b) => String::from_utf8_lossy(b),
            Cow::Owned(v) => match String::from_utf8(v) {
                Ok(s) => Cow::Owned(s),
                Err(e) => Cow::Owned(String::from_utf8_lossy(e.as_bytes()).into_owned()),
            },
        }
    }

    /// True when the statement reaches the plugin's default cut-off, so it may have been
    /// truncated (the plugin adds no marker): [`Object::possibly_truncated_at`] the default
    /// [`DEFAULT_QUERY_LOG_LIMIT`].
    pub fn possibly_truncated(&self) -> bool {
        self.possibly_truncated_at(DEFAULT_QUERY_LOG_LIMIT)
    }

    /// True when the statement reaches `limit`, the server's `server_audit_query_log_limit`
    /// (an RDS option; 1024 by default), so it may have been truncated. A cut lands at the
    /// limit or one byte short of it, since the plugin never splits a two-byte escape (seen
    /// in `corpus/mariadb/audit-limit1024.log`; at a limit of 64, `DELETE FROM victim` and its
    /// padding cut before the `WHERE` is 64 bytes).
    pub fn possibly_truncated_at(&self, limit: usize) -> bool {
        self.quoted && self.raw.len() + 1 >= limit
    }
}

/// A raw name (`serverhost`, `username`, `host`, `database`): the bytes the server wrote,
/// which may be any bytes (a failed login's user name is whatever the client sent), with
/// whether they are valid UTF-8, told once when the line was scanned.
///
/// Two names that differ in their bytes differ, even when their lossy texts (invalid
/// UTF-8 replaced by U+FFFD) are the same: a user `\xff` and a user `\xfe` are two users.
/// Outputs write [`Name::text`] and, when the name is not valid UTF-8, the exact bytes in
/// base64 (`username_base64`, ...).
///
/// ```
/// use rdsaudit::Name;
///
/// let ff = Name::new(b"\xff");
/// let fe = Name::new(b"\xfe");
/// assert_ne!(ff, fe);
/// assert_eq!(ff.text(), fe.text()); // both "\u{FFFD}"
/// assert_eq!(ff.as_bytes(), b"\xff");
/// assert_eq!(ff.as_str(), None);
/// assert_eq!(Name::new(b"app").as_str(), Some("app"));
/// assert_eq!(Name::from("app"), "app");
/// ```
#[derive(Clone, Copy)]
pub struct Name<'a>(NameBytes<'a>);

/// A [`Name`]'s bytes, by whether they are UTF-8: the same size as the `Cow<str>` names
/// were (a tag and a slice), built as cheaply (nearly every name is ASCII, checked with
/// the names of its line at once).
#[derive(Clone, Copy)]
enum NameBytes<'a> {
    /// Valid UTF-8.
    Text(&'a str),
    /// Not valid UTF-8 (never valid text: [`Name::new`] checks).
    Bytes(&'a [u8]),
}

impl<'a> Name<'a> {
    /// The name of `bytes`, checked as UTF-8.
    #[must_use]
    pub fn new(bytes: &'a [u8]) -> Self {
        match std::str::from_utf8(bytes) {
            Ok(text) => Name(NameBytes::Text(text)),
            Err(_) => Name(NameBytes::Bytes(bytes)),
        }
    }

    /// The bytes as written.
    #[inline(always)]
    #[must_use]
    pub fn as_bytes(&self) -> &'a [u8] {
        match self.0 {
            NameBytes::Text(text) => text.as_bytes(),
            NameBytes::Bytes(bytes) => bytes,
        }
    }

    /// The name as text, when it is valid UTF-8 (`None`: see [`Name::text`] and
    /// [`Name::as_bytes`]).
    #[inline(always)]
    #[must_use]
    pub fn as_str(&self) -> Option<&'a str> {
        match self.0 {
            NameBytes::Text(text) => Some(text),
            NameBytes::Bytes(_) => None,
        }
    }

    /// Whether the bytes are valid UTF-8.
    #[inline(always)]
    #[must_use]
    pub fn is_utf8(&self) -> bool {
        matches!(self.0, NameBytes::Text(_))
    }

    /// The name as text, invalid UTF-8 replaced by U+FFFD (lossy: two names may have the same
    /// text; compare names, or their bytes).
    #[must_use]
    pub fn text(&self) -> Cow<'a, str> {
        match self.0 {
            NameBytes::Text(text) => Cow::Borrowed(text),
            NameBytes::Bytes(bytes) => String::from_utf8_lossy(bytes),
        }
    }

    /// The length in bytes.
    #[must_use]
    pub fn len(&self) -> usize {
        self.as_bytes().len()
    }

    /// Whether the name is empty (no database selected, an anonymous user).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.as_bytes().is_empty()
    }
}

impl Default for Name<'_> {
    fn default() -> Self {
        Name(NameBytes::Text(""))
    }
}

impl<'a> From<&'a str> for Name<'a> {
    fn from(text: &'a str) -> Self {
        Name(NameBytes::Text(text))
    }
}

impl PartialEq for Name<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl Eq for Name<'_> {}

impl std::hash::Hash for Name<'_> {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.as_bytes().hash(state);
    }
}

impl PartialEq<str> for Name<'_> {
    fn eq(&self, other: &str) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl PartialEq<&str> for Name<'_> {
    fn eq(&self, other: &&str) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl PartialEq<Name<'_>> for str {
    fn eq(&self, other: &Name<'_>) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl PartialEq<Name<'_>> for &str {
    fn eq(&self, other: &Name<'_>) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl std::fmt::Debug for Name<'_> {
    /// Valid UTF-8 as a string, other bytes as a byte string (`b"\xff"`).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            NameBytes::Text(text) => text.fmt(f),
            NameBytes::Bytes(bytes) => write!(f, "b\"{}\"", bytes.escape_ascii()),
        }
    }
}

impl std::fmt::Display for Name<'_> {
    /// The lossy text ([`Name::text`]).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text())
    }
}

/// Fields after the return code, kept as written: `,,` on RDS for MySQL QUERY lines, the
/// connection type (`SSL`, `TCP/IP`, ...) on its connection lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Extra<'a> {
    raw: Option<&'a [u8]>,
}

impl<'a> Extra<'a> {
    /// `raw` is everything after the comma that ends the return code, or `None` when the line
    /// ends with the return code.
    pub fn new(raw: Option<&'a [u8]>) -> Self {
        Extra { raw }
    }

    /// The raw trailing fields, as written (`None` when there are none).
    pub fn raw(&self) -> Option<&'a [u8]> {
        self.raw
    }

    /// Whether there are no trailing fields.
    pub fn is_empty(&self) -> bool {
        self.raw.is_none()
    }

    /// The extra fields, split on commas (`0,,` gives two empty fields).
    pub fn fields(&self) -> impl Iterator<Item = &'a [u8]> + 'a {
        self.raw.into_iter().flat_map(|r| r.split(|&b| b == b','))
    }
}

/// Where an event came from, when it travelled through CloudWatch Logs and Kinesis.
///
/// The CloudWatch `event_id` is unique per log event: it is the key to de-duplicate on, since
/// Kinesis and Lambda deliver at least once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Provenance<'a> {
    /// CloudWatch Logs log group, when the line came in an envelope.
    pub log_group: Option<&'a str>,
    /// CloudWatch Logs log stream, when the line came in an envelope.
    pub log_stream: Option<&'a str>,
    /// CloudWatch Logs event `id`: unique per log event, the de-duplication key.
    pub event_id: Option<&'a str>,
    /// CloudWatch Logs event `timestamp`, epoch milliseconds.
    pub cloudwatch_timestamp_ms: Option<i64>,
    /// `kinesis.sequenceNumber` of the record the line came in.
    pub sequence_number: Option<&'a str>,
    /// The input file the event was read from, as the user named it (set by front ends
    /// that read files: the CLI; `None` for standard input and the Lambda).
    pub file: Option<&'a str>,
    /// 1-based line number, for events read from a plain log file.
    pub line_number: Option<u64>,
}

/// One audit record.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AuditEvent<'a> {
    /// When the server logged it, and in which dialect.
    pub timestamp: Timestamp,
    /// `serverhost`: the instance name (written by the server), its bytes as written.
    pub serverhost: Name<'a>,
    /// `username`, raw (for a failed login, whatever the client sent), its bytes as written.
    pub username: Name<'a>,
    /// `host`: the client's host or IP, raw; empty for the server's own threads (see
    /// [`AuditEvent::is_server_thread`]).
    pub host: Name<'a>,
    /// `connection_id`: the server's connection (thread) id.
    pub connection_id: u64,
    /// `query_id`: the statement id; TABLE events share their statement's.
    pub query_id: u64,
    /// `operation`: `QUERY`, `CONNECT`, `WRITE`, ... as written.
    pub operation: Operation<'a>,
    /// `database`, raw (empty when none is selected), its bytes as written.
    pub database: Name<'a>,
    /// `object`: the escaped statement (QUERY) or the table name (TABLE events).
    pub object: Object<'a>,
    /// Empty on upstream TABLE events.
    pub retcode: Option<i64>,
    /// Fields past the tenth that the dialect writes (the RDS fork's connection type, the two empty fields after a QUERY).
    pub extra: Extra<'a>,
    /// Where the line came from (log group, stream, event id, sequence number, file line).
    pub provenance: Provenance<'a>,
    /// Whether the line can be read another way (a raw name holding commas, digits, an
    /// operation or a line break), and the other readings.
    pub ambiguity: Ambiguity<'a>,
}

impl AuditEvent<'_> {
    /// Whether the server ran this itself, not for a client: its client host is empty (a
    /// client's never is: an address, `localhost` or a name). The event scheduler's
    /// statements are logged so, with the database `mysql` while they run in the event's
    /// schema (recorded on MariaDB 10.11.14:
    /// `...,event_scheduler,,88,228,QUERY,mysql,'INSERT INTO w VALUES (44)',0` wrote `shop.w`).
    #[must_use]
    pub fn is_server_thread(&self) -> bool {
        self.host.is_empty()
    }
}

/// The other readings of a line whose raw names let it split more than one way.
///
/// A user, host, database or table name is written raw, so a name may hold
/// `,<host>,<id>,<id>,<OPERATION>,...` or a line break and a whole audit line. When more
/// than one split satisfies the dialect's grammar, the event is one of them (the one with
/// the longest user name, see [`crate::audit::scanner`]) and is flagged here; the others
/// are computed again from the line on demand, so an unambiguous event pays nothing.
///
/// ```
/// // A TABLE event on table `t,1` in database `a,b`: three ways to cut `a,b,t,1`.
/// let e = rdsaudit::parse_line(b"20240615 10:31:00,db1,app,localhost,43,17,READ,a,b,t,1,")?;
/// assert!(e.ambiguity.is_ambiguous());
/// assert_eq!(e.ambiguity.readings(), 3);
/// let alternatives = e.ambiguity.alternatives();
/// let mut cuts: Vec<_> = std::iter::once(&e)
///     .chain(&alternatives)
///     .map(|a| format!("{}|{}", a.database, a.object.text()))
///     .collect();
/// cuts.sort();
/// assert_eq!(cuts, ["a,b,t|1", "a,b|t,1", "a|b,t,1"]);
/// # Ok::<(), rdsaudit::LineError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Ambiguity<'a> {
    /// The record, when ambiguous; with a line before it that may be its head
    /// (`own_start` > 0) and a record after it that may be its rest (`own_end` short of the
    /// end), when they may be one record cut by a raw line break.
    record: &'a [u8],
    /// Where the event's own record starts in `record`.
    own_start: usize,
    /// Where it ends (`record.len()` unless a record after it is included).
    own_end: usize,
    /// How many readings the record has (0 or 1: unambiguous), unlisted ones included.
    readings: u64,
}

impl<'a> Ambiguity<'a> {
    pub(crate) fn new(record: &'a [u8], own_start: usize, readings: u64) -> Self {
        Self::around(record, own_start, record.len(), readings)
    }

    /// An event read from `record[own_start..own_end]`, with text around it that reads with
    /// it (see [`crate::audit::scanner`]).
    pub(crate) fn around(
        record: &'a [u8],
        own_start: usize,
        own_end: usize,
        readings: u64,
    ) -> Self {
        Ambiguity {
            record,
            own_start,
            own_end,
            readings,
        }
    }

    /// The same ambiguity with one more reading that cannot be listed: the event's record may
    /// go on past the lines that were joined (see [`crate::input::text`]), so some longer
    /// reading was not read. The event is then flagged even when it read one way only.
    pub(crate) fn with_unlisted_reading(self, record: &'a [u8]) -> Self {
        let record = if self.record.is_empty() {
            record
        } else {
            self.record
        };
        Ambiguity {
            record,
            own_end: if self.record.is_empty() {
                record.len()
            } else {
                self.own_end
            },
            readings: self.readings().saturating_add(1),
            ..self
        }
    }

    /// The bytes the readings are computed from (empty when unambiguous): the record, or the
    /// unparsed line before it and the record.
    pub fn record(&self) -> &'a [u8] {
        self.record
    }

    /// The same ambiguity over a copy of [`Ambiguity::record`] (for a caller that moves the
    /// event's bytes to another buffer).
    pub fn rebased<'b>(&self, record: &'b [u8]) -> Ambiguity<'b> {
        Ambiguity {
            record,
            own_start: self.own_start,
            own_end: self.own_end,
            readings: self.readings,
        }
    }

    /// Whether the line has more than one reading.
    pub fn is_ambiguous(&self) -> bool {
        self.readings > 1
    }

    /// How many readings the line has in all, the event's own included (1 when unambiguous).
    pub fn readings(&self) -> u64 {
        self.readings.max(1)
    }

    /// The other readings, at most [`crate::audit::scanner::MAX_ALTERNATIVES`] of them and
    /// [`crate::audit::scanner::MAX_ALTERNATIVES_BYTES`] of field text together (see
    /// [`Ambiguity::omitted`]); empty when unambiguous. Each is a whole event with its own
    /// timestamp (a reading may start at a line break inside the record) and no provenance.
    pub fn alternatives(&self) -> Vec<AuditEvent<'a>> {
        if !self.is_ambiguous() {
            return Vec::new();
        }
        crate::audit::scanner::alternatives(self.record, self.own_start, self.own_end)
    }

    /// The listed alternatives and how many readings are left out, computed once (what an
    /// output writes).
    pub fn listed(&self) -> (Vec<AuditEvent<'a>>, u64) {
        let listed = self.alternatives();
        let omitted = self.omitted_after(listed.len());
        (listed, omitted)
    }

    fn omitted_after(&self, listed: usize) -> u64 {
        self.readings
            .saturating_sub(1)
            .saturating_sub(listed as u64)
    }

    /// How many other readings [`Ambiguity::alternatives`] leaves out: past the caps, and
    /// those that could not be read (0 when unambiguous).
    pub fn omitted(&self) -> u64 {
        if !self.is_ambiguous() {
            return 0;
        }
        self.omitted_after(self.alternatives().len())
    }
}
