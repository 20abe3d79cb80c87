//! The dialects: which writer produces which line shape. Adding a dialect means editing this
//! file (its name, its timestamp form, its tails).
//!
//! Every line starts the same way, with two fields the server writes and a client does not
//! choose: the timestamp and the server host (the instance name, set by whoever runs the
//! server). Every line ends with fields whose shape the dialect fixes: the return code, the
//! RDS fork's trailing fields, and a quoted object whose quotes are escaped inside it. What
//! lies between (user, host, database and, for TABLE events, the table) is written raw and
//! may hold anything, so the grammar is read from both ends ([`crate::audit::scanner`]
//! enumerates the splits in between).
//!
//! | dialect | timestamp | QUERY tail | connection tail | TABLE tail |
//! | --- | --- | --- | --- | --- |
//! | `aurora` | epoch µs, 16 digits | `db,'sql',ret` | `db,object,ret` | `db,table,ret` or `db,table,` |
//! | `mariadb` | `YYYYMMDD HH:MM:SS` | `db,'sql',ret` | `db,object,ret` | `db,table,` |
//! | `rds_mysql` | `YYYYMMDD HH:MM:SS` | `db,'sql',ret,,` | `db,,ret,type` | (none) |
//!
//! Sources: `shared/formats.md` §1 (Aurora docs, re:Post example), §2a (upstream
//! `server_audit.c`: `log_header`, `log_statement_ex`, `log_connection`, `log_table`), §2c
//! (aws/audit-plugin-for-mysql: `"\',%d,,"`, `",%.*s,,%d,%s"`, `connection_type_map`), §5
//! (Aurora 2.09 TABLE events with an empty return code, RDS for MySQL 5.7 lines with ten
//! fields: read as `mariadb`).

use crate::audit::event::Operation;

/// Which writer produced a line; decided from the line's own shape (the timestamp form and
/// the tail), see the module table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
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

    /// The dialect of a line with this timestamp form and tail form.
    pub(crate) fn of(form: TimestampForm, tail: TailForm) -> Self {
        match (form, tail) {
            (TimestampForm::Epoch, _) => Dialect::Aurora,
            // Only upstream's plugin has the variable.
            (TimestampForm::Iso, _) => Dialect::MariaDb,
            (TimestampForm::Civil, TailForm::Ten) => Dialect::MariaDb,
            (TimestampForm::Civil, TailForm::RdsFork) => Dialect::RdsMySql,
        }
    }
}

/// How the timestamp field is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TimestampForm {
    /// `YYYYMMDD HH:MM:SS`, server local time (MariaDB plugin and the RDS fork; some Aurora).
    Civil,
    /// Epoch microseconds (Aurora).
    Epoch,
    /// An ISO 8601 date-time, `YYYY-MM-DD HH:MM:SS` or `YYYY-MM-DDTHH:MM:SS`, with an optional
    /// fraction (`.123456`) and zone (`Z`, `+02:00`): upstream MariaDB with
    /// `server_audit_timestamp_format` set to such a shape. The variable takes a
    /// `DATE_FORMAT` string, default `%Y%m%d %H:%i:%s` (the civil form); `%Y-%m-%d %H:%i:%s`
    /// and `%Y-%m-%dT%H:%i:%s.%f` write these (mariadb-corporation/mariadb-docs,
    /// `server/reference/plugins/mariadb-audit-plugin/mariadb-audit-plugin-options-and-system-variables.md`,
    /// `server_audit_timestamp_format`; `/work/shared/formats.md` §2b and §5). Server local
    /// time without a zone, read as UTC like the civil form. Other formats are not read: a
    /// line that starts with none of the three forms is unparsed with reason `Timestamp`.
    Iso,
}

/// Length of `YYYYMMDD HH:MM:SS`.
pub(crate) const CIVIL_LEN: usize = 17;

/// Aurora writes epoch microseconds: 16 digits from 2001-09-09 to 2286-11-20.
pub(crate) const EPOCH_DIGITS: usize = 16;

/// The form and length of the timestamp at the start of `line`, when one is there and a
/// comma follows it: how a record starts (civil, epoch or ISO, see [`TimestampForm`]). Epoch runs of 10 to 19 digits count as record
/// starts (so a seconds or milliseconds epoch is reported with its reason rather than glued
/// to the record before it); only [`EPOCH_DIGITS`] parse.
pub(crate) fn timestamp_shape(line: &[u8]) -> Option<(usize, TimestampForm)> {
    let digits = || {
        line.iter()
            .take(20)
            .take_while(|b| b.is_ascii_digit())
            .count()
    };
    let (n, form) = if is_civil_shape(line) {
        (CIVIL_LEN, TimestampForm::Civil)
    } else if let n @ 10..=19 = digits() {
        (n, TimestampForm::Epoch)
    } else {
        (crate::audit::iso_time::shape_len(line)?, TimestampForm::Iso)
    };
    (line.get(n) == Some(&b',')).then_some((n, form))
}

/// `YYYYMMDD HH:MM:SS`: digits everywhere but the separators.
pub(crate) fn is_civil_shape(s: &[u8]) -> bool {
    let Some(s) = s.get(..CIVIL_LEN) else {
        return false;
    };
    s.iter().enumerate().all(|(i, &b)| match i {
        8 => b == b' ',
        11 | 14 => b == b':',
        _ => b.is_ascii_digit(),
    })
}

/// The tail families of the operations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OpClass {
    /// `QUERY`: a quoted, escaped statement.
    Query,
    /// `CONNECT`, `DISCONNECT`, `FAILED_CONNECT`, `CHANGEUSER`, `PROXY_CONNECT`.
    Connection,
    /// `READ`, `WRITE`, `CREATE`, `ALTER`, `DROP`, `RENAME`: a raw table name.
    Table,
}

impl OpClass {
    /// The class of a logged operation; `None` for a token no dialect writes.
    pub(crate) fn of(op: &Operation<'_>) -> Option<Self> {
        if *op == Operation::Query {
            Some(OpClass::Query)
        } else if op.is_connection() {
            Some(OpClass::Connection)
        } else if op.is_table() {
            Some(OpClass::Table)
        } else {
            None
        }
    }
}

/// Whether the tail has the ten fields of upstream and Aurora, or the RDS fork's extra ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TailForm {
    /// Ten fields.
    Ten,
    /// `,,` after a QUERY's return code, or a connection type after a connection's.
    RdsFork,
}

/// The RDS fork's `connection_type_map` (aws/audit-plugin-for-mysql `server_audit.cc`).
const CONNECTION_TYPES: [&[u8]; 6] = [
    b"UNDEFINED",
    b"TCP/IP",
    b"SOCKET",
    b"NAMED_PIPE",
    b"SSL",
    b"SHARED_MEMORY",
];

/// The 11th field of an RDS for MySQL connection line.
pub(crate) fn is_connection_type(field: &[u8]) -> bool {
    CONNECTION_TYPES.contains(&field)
}

/// The object of a ten-field connection line: empty, a TLS version (`TLSv1.3`, MariaDB 12)
/// or PROXY_CONNECT's `` `user`@`host` ``. Never a quote or a comma: a field ending with the
/// closing quote of a statement is not a connection object.
pub(crate) fn is_connection_object(field: &[u8]) -> bool {
    field.iter().all(|&b| is_connection_object_byte(b))
}

/// A byte a connection line's object may hold.
fn is_connection_object_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b".-_/`@%:".contains(&b)
}

/// The last comma of `s`. A line's last comma is a few bytes from its end (before the return
/// code or the RDS fork's connection type): the last bytes are looked at one by one before
/// `memrchr`, whose start costs more than the search on so short a stretch.
fn last_comma(s: &[u8]) -> Option<usize> {
    let near = s.len().saturating_sub(16);
    let tail = s.get(near..).unwrap_or_default();
    match tail.iter().rposition(|&b| b == b',') {
        Some(i) => Some(near + i),
        None => memchr::memrchr(b',', s.get(..near).unwrap_or_default()),
    }
}

/// A client host as the server writes it: an IP address (`::1`, `fe80::1%eth0`), `host:port`
/// (MariaDB 12), `localhost`, or a host name the server resolved and checked; empty for the
/// server's own threads (the event scheduler runs an event's statements as
/// `...,event_scheduler,,88,228,QUERY,mysql,'INSERT INTO w VALUES (44)',0`, recorded on
/// MariaDB 10.11.14). Never a comma, quote, space or control byte, so the host ends at the
/// last comma before the ids.
pub(crate) fn is_host(field: &[u8]) -> bool {
    field.iter().all(|&b| is_host_byte(b))
}

/// [`is_host`] of `s[start..end]`. With SSE2 or NEON, a host of up to sixteen bytes with sixteen
/// bytes of `s` from its start (a line's client host, nearly always) is classified at once
/// ([`crate::swar::host_bytes`], ~40 instructions; the table is ~9 a byte, and a client
/// host ~10 bytes a line); any other by [`is_host`]. Held to it by `is_host_at_is_is_host`.
#[inline(always)]
pub(crate) fn is_host_at(s: &[u8], start: usize, end: usize) -> bool {
    #[cfg(vector16)]
    {
        let n = end.wrapping_sub(start);
        let chunk = s.get(start..).and_then(|rest| rest.first_chunk::<16>());
        if let Some(chunk) = chunk
            && (1..=16).contains(&n)
        {
            let all = u32::MAX >> (32 - n);
            return crate::swar::host_bytes(chunk) & all == all;
        }
    }
    is_host(s.get(start..end).unwrap_or_default())
}

/// A byte a client host may hold: one bit looked up (a search of the punctuation per byte
/// was ~10 instructions a byte, a client host ~10 bytes a line).
#[inline]
pub(crate) fn is_host_byte(b: u8) -> bool {
    HOST_BYTES
        .get(usize::from(b >> 6))
        .is_some_and(|w| (w >> (b & 63)) & 1 == 1)
}

/// [`is_host_byte`] of every byte, from its definition: bit `b % 64` of word `b / 64`.
static HOST_BYTES: [u64; 4] = [host_word(0), host_word(1), host_word(2), host_word(3)];

/// The bits of the 64 bytes from `64 * w` on.
const fn host_word(w: u8) -> u64 {
    let mut word = 0;
    let mut i = 0;
    while i < 64 {
        let b = w * 64 + i;
        if b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b':' | b'%' | b'[' | b']')
        {
            word |= 1 << i;
        }
        i += 1;
    }
    word
}

/// Whether `line` (the last physical line of a record cut by raw breaks in its names) ends
/// the way a record of a line starting with `record_start` can end: a QUERY, connection or
/// TABLE tail of that timestamp form. Only the end is looked at.
pub(crate) fn could_end_record(record_start: &[u8], line: &[u8]) -> bool {
    let Some((_, form)) = timestamp_shape(record_start) else {
        return false;
    };
    query_end(form, line).is_some()
        || connection_end(form, line).is_some()
        || table_end(form, line).is_some()
}

/// The server host as the server writes it: the instance's host name, never a line break
/// (a line whose second field holds one is the rest of a record cut by a raw break in a
/// name, not a record's start).
pub(crate) fn is_server_host(field: &[u8]) -> bool {
    crate::swar::find2(field, b'\n', b'\r').is_none()
}

/// A TABLE event's return code: upstream writes it empty; Aurora writes it empty or a number.
pub(crate) fn table_retcode_ok(form: TimestampForm, field: &[u8]) -> bool {
    field.is_empty() || (form == TimestampForm::Epoch && is_integer(field))
}

/// `-?[0-9]+`: the shape of a return code (its range is checked when it is read).
pub(crate) fn is_integer(field: &[u8]) -> bool {
    let digits = field.strip_prefix(b"-").unwrap_or(field);
    !digits.is_empty() && digits.iter().all(u8::is_ascii_digit)
}

/// How a QUERY line ends: `',<ret>` (ten fields) or `',<ret>,,` (RDS fork; civil
/// timestamps only). Returns the index of the closing quote in `middle`, the return code's
/// range and the tail form. Always inlined into the scanner's one call per line.
#[inline(always)]
pub(crate) fn query_end(
    form: TimestampForm,
    middle: &[u8],
) -> Option<(usize, std::ops::Range<usize>, TailForm)> {
    let (body, tail) = match middle.strip_suffix(b",,") {
        Some(rest) if form == TimestampForm::Civil => (rest, TailForm::RdsFork),
        _ => (middle, TailForm::Ten),
    };
    let comma = last_comma(body)?;
    let ret = comma + 1..body.len();
    if !is_integer(body.get(ret.clone())?) || comma == 0 {
        return None;
    }
    (body.get(comma - 1) == Some(&b'\'')).then_some((comma - 1, ret, tail))
}

/// How a connection line ends, as `(comma before the object, object, return code, extra,
/// tail form)`: `db,<object>,<ret>` (ten fields) or `db,,<ret>,<type>` (RDS fork). Always
/// inlined into the scanner's one call per connection line.
#[inline(always)]
pub(crate) fn connection_end(form: TimestampForm, middle: &[u8]) -> Option<ConnectionEnd> {
    let last = last_comma(middle)?;
    let last_field = middle.get(last + 1..)?;
    let before = middle.get(..last)?;
    // The object runs back from the last comma over object bytes only: the first other byte
    // from the right is the comma before it, or the line has no ten-field connection end (a
    // QUERY's closing quote stops this at once, where a search for the comma would cross
    // the statement).
    let object_start = before.iter().rposition(|&b| !is_connection_object_byte(b));
    if let Some(prev) = object_start
        && before.get(prev) == Some(&b',')
        && is_integer(last_field)
    {
        return Some(ConnectionEnd {
            object_comma: prev,
            object: prev + 1..last,
            retcode: last + 1..middle.len(),
            extra: None,
            tail: TailForm::Ten,
        });
    }
    object_start?;
    if form != TimestampForm::Civil || !is_connection_type(last_field) {
        return None;
    }
    let prev = memchr::memrchr(b',', before)?;
    if !is_integer(before.get(prev + 1..)?) {
        return None;
    }
    let object_comma = memchr::memrchr(b',', before.get(..prev)?)?;
    (object_comma + 1 == prev).then_some(ConnectionEnd {
        object_comma,
        object: prev..prev,
        retcode: prev + 1..last,
        extra: Some(last + 1..middle.len()),
        tail: TailForm::RdsFork,
    })
}

/// The fixed end of a connection line (ranges index `middle`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ConnectionEnd {
    /// The comma that ends the database.
    pub object_comma: usize,
    pub object: std::ops::Range<usize>,
    pub retcode: std::ops::Range<usize>,
    /// The connection type (RDS fork).
    pub extra: Option<std::ops::Range<usize>>,
    pub tail: TailForm,
}

/// How a TABLE line ends: the comma before the return code, when the return code fits the
/// timestamp form's dialects.
pub(crate) fn table_end(form: TimestampForm, middle: &[u8]) -> Option<usize> {
    let last = last_comma(middle)?;
    table_retcode_ok(form, middle.get(last + 1..)?).then_some(last)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes() {
        assert_eq!(
            timestamp_shape(b"20240323 13:36:08,x"),
            Some((17, TimestampForm::Civil))
        );
        assert_eq!(
            timestamp_shape(b"1653053459680124,c731"),
            Some((16, TimestampForm::Epoch))
        );
        assert_eq!(
            timestamp_shape(b"1653053459,c731"),
            Some((10, TimestampForm::Epoch))
        );
        assert_eq!(timestamp_shape(b"20240323 13:36:08 x"), None);
        assert_eq!(timestamp_shape(b"123,x"), None);
        assert_eq!(timestamp_shape(b""), None);
    }

    /// Upstream MariaDB with `server_audit_timestamp_format` set to ISO shapes: lines as the
    /// plugin writes them (the rest of the line is unchanged by the variable).
    #[test]
    fn iso_timestamps_of_server_audit_timestamp_format() {
        use crate::audit::scanner::parse_line;
        let cases: [(&[u8], i64); 4] = [
            (
                b"2024-03-23 13:36:08,db1,app,10.0.0.5,7,9,QUERY,shop,'SELECT 1',0",
                1_711_200_968_000_000,
            ),
            (
                b"2024-03-23T13:36:08.250000,db1,app,10.0.0.5,7,9,QUERY,shop,'SELECT 1',0",
                1_711_200_968_250_000,
            ),
            (
                b"2024-03-23T13:36:08Z,db1,app,10.0.0.5:51234,7,0,CONNECT,shop,TLSv1.3,0",
                1_711_200_968_000_000,
            ),
            (
                b"2024-03-23 13:36:08.5,db1,app,10.0.0.5,7,9,READ,shop,orders,",
                1_711_200_968_500_000,
            ),
        ];
        for (line, us) in cases {
            let e = parse_line(line).unwrap();
            assert_eq!(
                e.timestamp.epoch_us,
                us,
                "{:?}",
                String::from_utf8_lossy(line)
            );
            assert_eq!(e.timestamp.dialect, Dialect::MariaDb);
            assert_eq!((&*e.username.text(), &*e.database.text()), ("app", "shop"));
        }
        // The RDS fork's tails are civil-only; an impossible date is a range error.
        assert!(parse_line(b"2024-03-23 13:36:08,db1,app,h,7,9,QUERY,,'x',0,,").is_err());
        assert_eq!(
            parse_line(b"2024-02-30 13:36:08,db1,app,h,7,9,QUERY,,'x',0").err(),
            Some(crate::audit::scanner::LineError::TimestampRange)
        );
        assert_eq!(
            timestamp_shape(b"2024-03-23T13:36:08.250000+02:00,x"),
            Some((32, TimestampForm::Iso))
        );
    }

    /// Return codes: upstream writes `int error_code` with `"\',%d"` (`log_statement_ex` in
    /// MariaDB/server `plugin/server_audit/server_audit.c`), the RDS fork `"\',%d,,"`; Aurora's
    /// writer is not published, so every `i64` is read, 19-digit values included; past it,
    /// no server can have written it (`RetcodeRange`).
    #[test]
    fn return_codes_the_server_can_write_are_read() {
        use crate::audit::scanner::{LineError, parse_line};
        for ret in [
            i64::from(i32::MIN),
            i64::from(i32::MAX),
            i64::MAX,
            i64::MIN,
            1_000_000_000_000_000_000,
        ] {
            for line in [
                format!("20240323 13:36:08,db1,u,h,1,2,QUERY,,'x',{ret}"),
                format!("1711200968123456,db1,u,h,1,0,FAILED_CONNECT,,,{ret}"),
                format!("1711200968123456,db1,u,h,1,2,WRITE,d,t,{ret}"),
            ] {
                assert_eq!(
                    parse_line(line.as_bytes()).map(|e| e.retcode),
                    Ok(Some(ret)),
                    "{line}"
                );
            }
        }
        let past = parse_line(b"20240323 13:36:08,db1,u,h,1,2,QUERY,,'x',9223372036854775808");
        assert!(
            matches!(past, Err(LineError::RetcodeRange { .. })),
            "{past:?}"
        );
    }

    proptest::proptest! {
        /// `is_host_at` is `is_host` of the span, at every span of a text of host bytes and
        /// others (empty, reversed and past the end too), hosts of 0 to 20 bytes.
        #[test]
        fn is_host_at_is_is_host(
            s in proptest::collection::vec(
                proptest::prop_oneof![
                    8 => proptest::sample::select(b"aZ09.-_:%[]".to_vec()),
                    1 => proptest::prelude::any::<u8>(),
                ],
                0..40,
            ),
        ) {
            for start in 0..=s.len() + 1 {
                for end in start.saturating_sub(1)..=(start + 20).min(s.len() + 1) {
                    let field = s.get(start..end).unwrap_or_default();
                    proptest::prop_assert_eq!(is_host_at(&s, start, end), is_host(field));
                }
            }
        }
    }

    #[test]
    fn host_bytes_are_the_definition() {
        for b in 0..=u8::MAX {
            let defined = b.is_ascii_alphanumeric() || b".-_:%[]".contains(&b);
            assert_eq!(is_host_byte(b), defined, "{b}");
        }
    }

    #[test]
    fn tails() {
        let civil = TimestampForm::Civil;
        assert_eq!(
            query_end(civil, b"u,h,1,2,QUERY,,'x',0,,"),
            Some((17, 19..20, TailForm::RdsFork))
        );
        assert_eq!(
            query_end(civil, b"u,h,1,2,QUERY,,'x',-5"),
            Some((17, 19..21, TailForm::Ten))
        );
        assert_eq!(query_end(TimestampForm::Epoch, b"QUERY,,'x',0,,"), None);
        assert_eq!(query_end(civil, b"QUERY,,'x'"), None);
        let rds = connection_end(civil, b"u,h,1,0,FAILED_CONNECT,a,b,,1045,TCP/IP").unwrap();
        assert_eq!((rds.object_comma, rds.tail), (26, TailForm::RdsFork));
        let ten = connection_end(civil, b"u,h,1,0,CONNECT,db,TLSv1.3,0").unwrap();
        assert_eq!((ten.object, ten.tail), (19..26, TailForm::Ten));
        assert!(connection_end(civil, b"u,h,1,2,QUERY,,'x',0").is_none());
        // A last comma farther than the bytes looked at one by one; no comma before the object.
        let far = connection_end(civil, b"u,h,1,0,CONNECT,db,,12345678901234567890").unwrap();
        assert_eq!((far.object_comma, far.object), (18, 19..19));
        assert!(connection_end(civil, b"TLSv1.3,0").is_none());
        let fork = connection_end(civil, b"a'b,,0,TCP/IP").map(|c| (c.object_comma, c.tail));
        assert_eq!(fork, Some((3, TailForm::RdsFork)));
        assert_eq!(last_comma(b",bbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"), Some(0));
        assert_eq!(last_comma(b"a,b,c"), Some(3));
        assert_eq!(last_comma(b"abc"), None);
        assert_eq!(table_end(civil, b"READ,db,t,"), Some(9));
        assert_eq!(table_end(civil, b"READ,db,t,0"), None);
        assert_eq!(table_end(TimestampForm::Epoch, b"READ,db,t,0"), Some(9));
    }
}
