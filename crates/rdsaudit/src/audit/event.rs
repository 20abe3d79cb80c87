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

/// Which writer produced a line; decided from the line's own shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dialect {
    /// Aurora MySQL Advanced Auditing: epoch-microsecond timestamp, 10 fields.
    Aurora,
    /// Upstream MariaDB `server_audit` (RDS for MariaDB): `YYYYMMDD HH:MM:SS`, 10 fields.
    MariaDb,
    /// AWS's fork of the plugin for RDS for MySQL: `YYYYMMDD HH:MM:SS` and trailing fields
    /// (`,,` after a QUERY's return code, a connection type after a CONNECT's).
    RdsMySql,
}

impl Dialect {
    /// The stable name used in every output (`aurora`, `mariadb`, `rds_mysql`).
    pub fn as_str(self) -> &'static str {
        match self {
            Dialect::Aurora => "aurora",
            Dialect::MariaDb => "mariadb",
            Dialect::RdsMySql => "rds_mysql",
        }
    }
}

/// When the event happened, normalised to UTC epoch microseconds.
///
/// MariaDB-style timestamps are server local time with one-second resolution; they are read
/// as UTC, which is what RDS servers run on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Timestamp {
    pub epoch_us: i64,
    pub dialect: Dialect,
}

/// The `operation` field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operation<'a> {
    Connect,
    Disconnect,
    FailedConnect,
    ChangeUser,
    ProxyConnect,
    Query,
    Read,
    Write,
    Create,
    Alter,
    Drop,
    Rename,
    /// Any other upper-case token, kept as written.
    Other(&'a str),
}

impl<'a> Operation<'a> {
    /// Maps a token to an operation; unknown tokens become [`Operation::Other`].
    pub fn from_token(token: &'a str) -> Self {
        match token {
            "CONNECT" => Operation::Connect,
            "DISCONNECT" => Operation::Disconnect,
            "FAILED_CONNECT" => Operation::FailedConnect,
            "CHANGEUSER" => Operation::ChangeUser,
            "PROXY_CONNECT" => Operation::ProxyConnect,
            "QUERY" => Operation::Query,
            "READ" => Operation::Read,
            "WRITE" => Operation::Write,
            "CREATE" => Operation::Create,
            "ALTER" => Operation::Alter,
            "DROP" => Operation::Drop,
            "RENAME" => Operation::Rename,
            other => Operation::Other(other),
        }
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
    /// truncated (the plugin adds no marker). A cut lands at the limit or one byte short of
    /// it, since the plugin never splits a two-byte escape (seen in
    /// `corpus/mariadb/audit-limit1024.log`).
    pub fn possibly_truncated(&self) -> bool {
        self.quoted && self.raw.len() + 1 >= DEFAULT_QUERY_LOG_LIMIT
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

    pub fn raw(&self) -> Option<&'a [u8]> {
        self.raw
    }

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
    pub log_group: Option<&'a str>,
    pub log_stream: Option<&'a str>,
    pub event_id: Option<&'a str>,
    pub cloudwatch_timestamp_ms: Option<i64>,
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
    pub timestamp: Timestamp,
    pub serverhost: Cow<'a, str>,
    pub username: Cow<'a, str>,
    pub host: Cow<'a, str>,
    pub connection_id: u64,
    pub query_id: u64,
    pub operation: Operation<'a>,
    pub database: Cow<'a, str>,
    pub object: Object<'a>,
    /// Empty on upstream TABLE events.
    pub retcode: Option<i64>,
    pub extra: Extra<'a>,
    pub provenance: Provenance<'a>,
}
