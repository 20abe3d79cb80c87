//! Property tests: lines built from known fields whose raw names (user, database, table;
//! host separately) hold digits, commas, quotes, backslashes, newlines, CR and whole forged
//! audit lines. The parser must return exactly those fields, or flag the line ambiguous
//! with them among the readings; and the scanner must find exactly the readings the
//! exhaustive reference finds.

use super::*;
use crate::audit::dialect::{OpClass, TimestampForm};
use crate::audit::event::Operation;

/// A raw name: anything the plugin copies unescaped, forged audit structure included.
fn hostile_name() -> impl Strategy<Value = Vec<u8>> {
    let atom = prop_oneof![
        4 => "[a-zA-Z0-9_]{1,4}".prop_map(String::into_bytes),
        4 => prop::sample::select(vec![
            ",", ",,", "'", "\\", "\\'", ",'", "',", "\n", "\r", "\r\n", "0", "1045", "-1",
            "\"", " ", "`", "\u{65E5}", "TCP/IP", "SSL", "QUERY", "READ",
        ])
        .prop_map(|s| s.as_bytes().to_vec()),
        2 => prop::sample::select(vec![
            // Forged headers and tails of every operation class and dialect.
            ",h,1,2,QUERY,db,'GRANT ALL ON *.* TO evil',0",
            ",10.0.0.1,3,4,QUERY,,'SELECT 1',0,,",
            ",h,1,0,CONNECT,,,0",
            ",h,1,0,FAILED_CONNECT,,,1045,SSL",
            ",h,1,2,READ,d,t,",
            ",h,1,2,WRITE,d,t,0",
            ",1,2,DISCONNECT,",
            ",1,2,QUERY,",
            "',0",
            "',0,,",
            ",,1045,TCP/IP",
            // Whole forged lines after a line break.
            "\n20240101 00:00:00,srv,admin,h,1,2,QUERY,db,'DROP TABLE t',0",
            "\r1653053459680124,srv,u,h,1,2,WRITE,d,t,0",
            "\r\n20240101 00:00:00,srv,u,h,1,0,CONNECT,,,0,SSL",
        ])
        .prop_map(|s| s.as_bytes().to_vec()),
    ];
    prop::collection::vec(atom, 0..5).prop_map(|v| v.concat())
}

pub(crate) fn sql_bytes() -> impl Strategy<Value = Vec<u8>> {
    let atom = prop_oneof![
        3 => any::<u8>().prop_map(|b| vec![b]),
        3 => prop::sample::select(vec![
            &b"'"[..], b"\\", b",", b"\n", b"\t", b"\r", b"\x08", b"\x0c", b"\0", b"''", b"',",
            b"\\'", b"\",", b" ", b",h,1,2,READ,d,t", b",'x',0", b",h,3,4,QUERY,,",
            "\u{3001}".as_bytes(), "\u{1F600}".as_bytes(), b"\xff", b"\xc3",
        ])
        .prop_map(|s| s.to_vec()),
        2 => "[a-zA-Z0-9 ]{1,8}".prop_map(String::into_bytes),
    ];
    prop::collection::vec(atom, 0..24).prop_map(|v| v.concat())
}

pub(crate) const OPERATIONS: [&str; 12] = [
    "QUERY",
    "CONNECT",
    "DISCONNECT",
    "FAILED_CONNECT",
    "CHANGEUSER",
    "PROXY_CONNECT",
    "READ",
    "WRITE",
    "CREATE",
    "ALTER",
    "DROP",
    "RENAME",
];

/// A line and the fields it was built from.
#[derive(Debug, Clone)]
pub(crate) struct Built {
    pub(crate) line: Vec<u8>,
    /// Offsets of the true fields, as a key comparable with a parsed reading.
    pub(crate) truth: Key,
}

/// What identifies one reading.
pub(crate) type Key = (
    Vec<u8>,     // username
    Vec<u8>,     // host
    u64,         // connection id
    u64,         // query id
    String,      // operation
    Vec<u8>,     // database
    Vec<u8>,     // object, as written
    Option<i64>, // retcode
    Option<Vec<u8>>,
    Dialect,
    i64,
);

pub(crate) fn key(e: &AuditEvent<'_>) -> Key {
    (
        e.username.as_bytes().to_vec(),
        e.host.as_bytes().to_vec(),
        e.connection_id,
        e.query_id,
        e.operation.as_str().to_owned(),
        e.database.as_bytes().to_vec(),
        e.object.raw().to_vec(),
        e.retcode,
        e.extra.raw().map(<[u8]>::to_vec),
        e.timestamp.dialect,
        e.timestamp.epoch_us,
    )
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn build(
    dialect: Dialect,
    op: &'static str,
    user: Vec<u8>,
    host: Vec<u8>,
    ids: (u64, u64),
    db: Vec<u8>,
    sql: Vec<u8>,
    table: Vec<u8>,
    ret: i64,
    pick: usize,
) -> Option<Built> {
    let class = OpClass::of(&Operation::from_token(op))?;
    let (ts, epoch_us) = match dialect {
        Dialect::Aurora => ("1711200968123456".to_owned(), 1_711_200_968_123_456),
        _ => ("20240323 13:36:08".to_owned(), 1_711_200_968_000_000),
    };
    let mut line = format!("{ts},srv-1,").into_bytes();
    line.extend_from_slice(&user);
    line.push(b',');
    line.extend_from_slice(&host);
    line.extend_from_slice(format!(",{},{},{op},", ids.0, ids.1).as_bytes());
    line.extend_from_slice(&db);
    line.push(b',');
    let rds = dialect == Dialect::RdsMySql;
    let (object, retcode, extra): (Vec<u8>, Option<i64>, Option<Vec<u8>>) = match class {
        OpClass::Query => {
            line.push(b'\'');
            let start = line.len();
            escape_like_plugin(&sql, &mut line);
            let object = line[start..].to_vec();
            line.extend_from_slice(format!("',{ret}").as_bytes());
            let extra = rds.then(|| {
                line.extend_from_slice(b",,");
                b",".to_vec()
            });
            (object, Some(ret), extra)
        }
        OpClass::Connection if rds => {
            let kind = ["SSL", "TCP/IP", "SOCKET"][pick % 3];
            line.extend_from_slice(format!(",{ret},{kind}").as_bytes());
            (Vec::new(), Some(ret), Some(kind.as_bytes().to_vec()))
        }
        OpClass::Connection => {
            let object = ["", "TLSv1.3", "`u`@`h`"][pick % 3];
            line.extend_from_slice(format!("{object},{ret}").as_bytes());
            (object.as_bytes().to_vec(), Some(ret), None)
        }
        OpClass::Table if rds => return None,
        OpClass::Table => {
            if table.is_empty() {
                return None;
            }
            line.extend_from_slice(&table);
            line.push(b',');
            let retcode = (dialect == Dialect::Aurora && pick % 2 == 1).then_some(ret);
            if let Some(r) = retcode {
                line.extend_from_slice(r.to_string().as_bytes());
            }
            (table, retcode, None)
        }
    };
    // Names as written: a name that is not UTF-8 keeps its bytes.
    let truth = (
        user.clone(),
        host.clone(),
        ids.0,
        ids.1,
        op.to_owned(),
        db.clone(),
        object,
        retcode,
        extra,
        dialect,
        epoch_us,
    );
    Some(Built { line, truth })
}

pub(crate) fn dialects() -> impl Strategy<Value = Dialect> {
    prop::sample::select(vec![Dialect::Aurora, Dialect::MariaDb, Dialect::RdsMySql])
}

pub(crate) fn host_like() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        "[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}",
        "[a-z][a-z0-9-]{0,8}(\\.[a-z0-9]{1,5}){0,2}",
        "[0-9.]{1,9}:[0-9]{1,5}",
        Just("::1".to_owned()),
        Just("localhost".to_owned()),
        // The server's own threads (the event scheduler) have none.
        Just(String::new()),
    ]
    .prop_map(String::into_bytes)
}

fn hostile_host() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        host_like(),
        prop::sample::select(vec![
            "1", "0", "QUERY", "READ", "CONNECT", "h:1", "1045", "SSL"
        ])
        .prop_map(|s| s.as_bytes().to_vec()),
    ];
    prop::collection::vec(piece, 1..5).prop_map(|v| v.join(&b","[..]))
}

fn built(host: impl Strategy<Value = Vec<u8>>) -> impl Strategy<Value = Built> {
    built_with(host, hostile_name)
}

/// Names as servers mostly see them (what the scanner's plain-line fast path takes), now and
/// then a hostile one; statements still hostile.
fn mostly_plain_name() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => "[a-zA-Z0-9_]{1,8}".prop_map(String::into_bytes),
        1 => hostile_name(),
    ]
}

fn built_with<N: Strategy<Value = Vec<u8>>>(
    host: impl Strategy<Value = Vec<u8>>,
    name: impl Fn() -> N,
) -> impl Strategy<Value = Built> {
    (
        dialects(),
        prop::sample::select(OPERATIONS.to_vec()),
        name(),
        host,
        (0u64..100, prop_oneof![0u64..1000, Just(u64::MAX)]),
        name(),
        sql_bytes(),
        name(),
        prop_oneof![-2000i64..2000, Just(i64::MIN)],
        any::<usize>(),
    )
        .prop_filter_map(
            "TABLE events on RDS for MySQL or with an empty table",
            |(d, op, user, host, ids, db, sql, table, ret, pick)| {
                build(d, op, user, host, ids, db, sql, table, ret, pick)
            },
        )
}

/// The scanner's whole-line readings, numbers in range, as raw fields.
fn fast_splits(line: &[u8]) -> (u64, Vec<RawLine<'_>>) {
    let line = trim_newline(line);
    let Ok(counted) = scan_counted(line, Breaks::Unknown) else {
        return (0, Vec::new());
    };
    let frame = &counted.frame;
    let mut out = Vec::new();
    let _ = for_each_split(frame, &counted.ends, &mut |s| {
        if read_numbers(frame, &s.anchor, s.retcode).is_ok() {
            out.push(raw_of(frame, &s));
        }
        ControlFlow::Continue(())
    });
    (counted.valid, out)
}

/// When the plain-line fast path answers, the full count agrees: one reading, the same
/// split, and no reading cut by a line break.
fn plain_path_is_the_full_count(line: &[u8]) -> Result<(), TestCaseError> {
    let line = trim_newline(line);
    let Ok((frame, epoch_us)) = Frame::timed(line, Breaks::Unknown) else {
        return Ok(());
    };
    let Some((primary, _)) = sole_plain_split(&frame, &Ends::new(&frame)) else {
        return Ok(());
    };
    let frame = Frame::new(line).map_err(|e| TestCaseError::fail(e.to_string()))?;
    let ends = Ends::new(&frame);
    let full =
        count_splits(frame, ends, epoch_us).map_err(|e| TestCaseError::fail(e.to_string()))?;
    let shown = String::from_utf8_lossy(line);
    prop_assert_eq!(full.valid, 1, "{:?}", shown);
    prop_assert_eq!(full.primary, primary, "{:?}", shown);
    prop_assert_eq!(break_readings(&full.frame, &full.primary), 0, "{:?}", shown);
    Ok(())
}

fn same_as_reference(line: &[u8]) -> Result<(), TestCaseError> {
    plain_path_is_the_full_count(line)?;
    let (count, mut fast) = fast_splits(line);
    let mut reference = reference::splits(line);
    fast.sort();
    reference.sort();
    prop_assert_eq!(
        count,
        reference.len() as u64,
        "{:?}",
        String::from_utf8_lossy(line)
    );
    prop_assert_eq!(fast, reference, "{:?}", String::from_utf8_lossy(line));
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(10_000))]

    /// The true fields are the event, or the event is flagged and they are a listed reading.
    #[test]
    fn the_truth_is_a_reading(b in built(host_like())) {
        let e = parse_line(&b.line).map_err(|err| {
            TestCaseError::fail(format!("{err}: {:?}", String::from_utf8_lossy(&b.line)))
        })?;
        if !e.ambiguity.is_ambiguous() {
            prop_assert_eq!(key(&e), b.truth);
        } else if e.ambiguity.omitted() == 0 {
            let readings: Vec<Key> = std::iter::once(key(&e))
                .chain(e.ambiguity.alternatives().iter().map(key))
                .collect();
            prop_assert_eq!(readings.len() as u64, e.ambiguity.readings());
            prop_assert!(readings.contains(&b.truth), "{:?}", String::from_utf8_lossy(&b.line));
        }
    }

    #[test]
    fn fast_scanner_matches_reference(b in built(host_like())) {
        same_as_reference(&b.line)?;
    }

    #[test]
    fn plain_lines_match_reference(b in built_with(host_like(), mostly_plain_name), at in any::<prop::sample::Index>(), byte in prop::sample::select(vec![b',', b'\'', b'\\', b'\n', b'1', b'R', b'x'])) {
        same_as_reference(&b.line)?;
        let mut line = b.line;
        let i = at.index(line.len());
        line[i] = byte;
        same_as_reference(&line)?;
    }

    #[test]
    fn mutated_lines_match_reference(b in built(host_like()), at in any::<prop::sample::Index>(), byte in prop::sample::select(vec![b',', b'\'', b'\\', b'\n', b'1', b'Q', b'x'])) {
        let mut line = b.line;
        let i = at.index(line.len());
        line[i] = byte;
        same_as_reference(&line)?;
        if let Ok(e) = parse_line(&line) {
            let _ = e.object.text();
            let _ = e.ambiguity.alternatives();
        }
    }

    /// The server writes the host from the client's address (see docs/HOSTILE.md): never a
    /// quote, space or line break; empty only for its own threads. Given commas, digits and forged headers made
    /// of host characters, the line is refused, flagged, or read with the user and host cut
    /// elsewhere and every other field true.
    #[test]
    fn a_hostile_host_is_never_a_confident_forgery(b in built(hostile_host())) {
        plain_path_is_the_full_count(&b.line)?;
        let Ok(e) = parse_line(&b.line) else { return Ok(()) };
        if e.ambiguity.is_ambiguous() {
            return Ok(());
        }
        let (k, t) = (key(&e), b.truth);
        let shown = String::from_utf8_lossy(&b.line);
        let joined = |user: &[u8], host: &[u8]| [user, b",", host].concat();
        prop_assert_eq!(joined(&k.0, &k.1), joined(&t.0, &t.1), "{:?}", shown);
        prop_assert_eq!((&k.2, &k.3, &k.4, &k.5, &k.6, &k.7, &k.8, &k.9), (&t.2, &t.3, &t.4, &t.5, &t.6, &t.7, &t.8, &t.9));
    }

    /// A break in the server host leaves no reading, whichever path reads the line: the
    /// plain path's one search over the names covers the host ([`Frame::check_host`]), the
    /// full count checks it, with the timestamp's time cached or not.
    #[test]
    fn a_break_in_the_server_host_is_no_record(b in built_with(host_like(), mostly_plain_name), at in 0usize..6, byte in prop::sample::select(vec![b'\n', b'\r']), cached in any::<bool>()) {
        let host_at = b.line.iter().position(|&c| c == b',').unwrap_or(0) + 1;
        let mut line = b.line.clone();
        line.insert(host_at + at, byte);
        // The cache holds this line's timestamp, or another one.
        let warm = if cached { b.line.clone() } else { b"20200101 00:00:00,s,u,h,1,2,QUERY,,'x',0".to_vec() };
        let _ = parse_line(&warm);
        prop_assert_eq!(parse_line(&line).err(), Some(LineError::Header), "{:?}", String::from_utf8_lossy(&line));
        same_as_reference(&line)?;
    }

    /// What [`Ends::new`] relies on to skip the connection end: no line's end reads both as
    /// a QUERY's and as a connection line's.
    #[test]
    fn a_query_end_is_no_connection_end(parts in prop::collection::vec(prop::sample::select(vec![
        ",", ",,", "'", "\\'", "0", "-1", "1045", "", "x", "`u`@`h`", "TLSv1.3", "SSL", "TCP/IP",
        "UNDEFINED", "SOCKET", "QUERY", " ", ":", "%", "\n",
    ]), 0..12)) {
        let middle = parts.concat().into_bytes();
        for form in [TimestampForm::Civil, TimestampForm::Epoch, TimestampForm::Iso] {
            if dialect::query_end(form, &middle).is_some() {
                prop_assert!(dialect::connection_end(form, &middle).is_none(), "{:?}", String::from_utf8_lossy(&middle));
            }
        }
    }

    /// [`parse_unbroken_line`] skips the searches for raw line breaks: on a line without any
    /// (cut at its first break, as a reader cuts it, or with its breaks overwritten) it
    /// reads what [`parse_line`] reads, error, fields and readings, and
    /// [`parse_unbroken_into`] writes that over a slot's earlier parse.
    #[test]
    fn an_unbroken_line_reads_as_any_line(b in built(host_like()), at in any::<prop::sample::Index>(), byte in prop::sample::select(vec![b',', b'\'', b'\\', b'\n', b'1', b'R', b'x'])) {
        let mut mutated = b.line.clone();
        let i = at.index(mutated.len());
        mutated[i] = byte;
        for line in [b.line, mutated] {
            let cut = line.get(..memchr::memchr2(b'\n', b'\r', &line).unwrap_or(line.len())).unwrap_or_default();
            let overwritten: Vec<u8> = line.iter().map(|&c| if c == b'\n' || c == b'\r' { b'x' } else { c }).collect();
            for unbroken in [cut, &overwritten[..]] {
                let shown = String::from_utf8_lossy(unbroken);
                prop_assert_eq!(parse_unbroken_line(unbroken), parse_line(unbroken), "{:?}", shown);
                // Over a slot holding an earlier line's parse.
                let mut slot = parse_line(&overwritten);
                parse_unbroken_into(unbroken, &mut slot);
                prop_assert_eq!(slot, parse_line(unbroken), "{:?}", shown);
            }
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(line in prop::collection::vec(any::<u8>(), 0..256)) {
        plain_path_is_the_full_count(&line)?;
        if let Ok(e) = parse_line(&line) {
            let _ = e.ambiguity.alternatives();
        }
        let _ = reference::splits(&line);
    }
}

/// A timestamp out of range in a line whose server host holds a break: the host is reported
/// first, as when the frame was checked before the time was read.
#[test]
fn a_bad_server_host_is_reported_before_a_bad_time() {
    let bad_time = b"20241340 13:36:08,srv,u,h,1,2,QUERY,,'x',0";
    assert_eq!(parse_line(bad_time).err(), Some(LineError::TimestampRange));
    let both = b"20241340 13:36:08,s\rrv,u,h,1,2,QUERY,,'x',0";
    assert_eq!(parse_line(both).err(), Some(LineError::Header));
}

/// `first_stray`, byte at a time: the first quote not escaped, or (where breaks are not
/// known to be absent) the first raw break before it, escaped or not.
fn first_stray_bytes(body: &[u8], breaks: Breaks) -> Option<usize> {
    let is_break =
        |i: usize| breaks == Breaks::Unknown && matches!(body.get(i), Some(b'\n' | b'\r'));
    let mut i = 0;
    while let Some(&b) = body.get(i) {
        if is_break(i) || b == b'\'' {
            return Some(i);
        }
        if b == b'\\' {
            if is_break(i + 1) {
                return Some(i + 1);
            }
            i += 1;
        }
        i += 1;
    }
    None
}

proptest! {
    /// The stray search finds what a byte-at-a-time walk of the statement finds, escapes and
    /// breaks at every offset across block ends, in statements searched quote by quote and
    /// in longer ones searched by blocks.
    #[test]
    fn first_stray_is_a_walk_of_the_body(
        s in prop::collection::vec(
            prop_oneof![6 => Just(b'x'), 3 => Just(b'\\'), 2 => Just(b'\''), 1 => Just(b'\n'), 1 => Just(b'\r'), 1 => any::<u8>()],
            0..320,
        ),
        start in 0usize..80,
        len in 0usize..240,
    ) {
        let start = start.min(s.len());
        let end = (start + len).min(s.len());
        let body = &s[start..end];
        for breaks in [Breaks::Unknown, Breaks::None] {
            prop_assert_eq!(first_stray(body, breaks), first_stray_bytes(body, breaks));
        }
    }
}

/// An escape split across two 64-byte blocks of `first_unescaped_quote`: the backslash ends
/// the first block, the quote it escapes starts the second.
#[test]
fn escape_across_a_block_boundary() {
    for run in [1, 2, 3, 63, 64] {
        let mut body = vec![b'a'; 64 - run];
        body.extend(std::iter::repeat_n(b'\\', run));
        body.extend_from_slice(b"'x");
        let found = first_stray(&body, Breaks::Unknown);
        // An odd run escapes the quote; an even run does not.
        let want = if run % 2 == 1 { None } else { Some(64) };
        assert_eq!(found, want, "run of {run} backslashes");
    }
}
