use super::*;
use crate::audit::event::Operation;
use crate::audit::reference;
use crate::audit::unescape::escape_like_plugin;
use proptest::prelude::*;

mod hostile;
pub(crate) mod properties;

const DOC_EXAMPLES: &str = include_str!("../../../../../corpus/doc/doc_examples.txt");

/// The concrete audit lines of the published examples (templates and JSON left out).
fn doc_lines() -> Vec<&'static str> {
    DOC_EXAMPLES
        .lines()
        .filter(|l| l.starts_with(|c: char| c.is_ascii_digit()))
        .collect()
}

#[test]
fn every_published_example_parses() {
    let lines = doc_lines();
    assert_eq!(lines.len(), 15, "the example file changed");
    for l in lines {
        let e = parse_line(l.as_bytes()).unwrap_or_else(|err| panic!("{l}: {err}"));
        assert!(e.timestamp.epoch_us > 1_500_000_000_000_000, "{l}");
    }
}

#[test]
fn aurora_table_event() {
    let e = parse_line(
        b"1653053459680124,c731-instance-1,admin,52.94.133.136,35,698024,WRITE,testdb,test2,0",
    )
    .unwrap();
    assert_eq!(e.timestamp.dialect, Dialect::Aurora);
    assert_eq!(e.serverhost, "c731-instance-1");
    assert_eq!(e.username, "admin");
    assert_eq!(e.host, "52.94.133.136");
    assert_eq!((e.connection_id, e.query_id), (35, 698024));
    assert_eq!(e.operation, Operation::Write);
    assert_eq!(e.database, "testdb");
    assert_eq!(e.object.raw(), b"test2");
    assert!(!e.object.is_quoted());
    assert_eq!(e.retcode, Some(0));
    assert!(e.extra.is_empty());
}

#[test]
fn aurora_query_with_commas_and_escaped_quotes() {
    let e = parse_line(br"1703817810076799,aurora-mysql-instance-1,rdsadmin,localhost,223170,20070834,QUERY,,'SET SESSION wait_timeout=28800,SESSION time_zone=\'+00:00\',SESSION sql_mode=0,SESSION autocommit=1',0").unwrap();
    assert_eq!(e.database, "");
    assert_eq!(
        e.object.text(),
        "SET SESSION wait_timeout=28800,SESSION time_zone='+00:00',SESSION sql_mode=0,SESSION autocommit=1"
    );
}

#[test]
fn mariadb_12_host_port_and_tls_object() {
    let e =
        parse_line(b"20260731 09:14:22,mdb1,root,192.168.1.24:54312,7,0,CONNECT,mysql,TLSv1.3,0")
            .unwrap();
    assert_eq!(e.timestamp.dialect, Dialect::MariaDb);
    assert_eq!(e.host, "192.168.1.24:54312");
    assert_eq!(e.object.raw(), b"TLSv1.3");
    assert_eq!(e.operation, Operation::Connect);
}

/// The event scheduler's lines have no client host (recorded on MariaDB 10.11.14, session 35's
/// adversary: `crates/rdsaudit-cli/tests/recorded/review35_event_scheduler.log`); they are
/// events, not unparsed lines read into a neighbour's name.
#[test]
fn the_event_scheduler_s_lines_have_an_empty_host() {
    let e = parse_line(
        b"20261205 09:22:57,vm,event_scheduler,,88,228,QUERY,mysql,'INSERT INTO w VALUES (44)',0",
    )
    .unwrap();
    assert_eq!(e.username, "event_scheduler");
    assert_eq!(e.host, "");
    assert_eq!((e.connection_id, e.query_id), (88, 228));
    assert_eq!(e.operation, Operation::Query);
    assert_eq!(e.database, "mysql");
    assert_eq!(e.object.text(), "INSERT INTO w VALUES (44)");
    assert_eq!(e.retcode, Some(0));
    assert!(!e.ambiguity.is_ambiguous());
    let t = parse_line(b"20261205 09:22:57,vm,event_scheduler,,85,0,WRITE,mysql,event,").unwrap();
    assert_eq!(
        (t.host.as_bytes(), t.database.as_bytes()),
        (&b""[..], &b"mysql"[..])
    );
    assert_eq!((t.object.raw(), t.retcode), (&b"event"[..], None));
    assert!(!t.ambiguity.is_ambiguous());
}

#[test]
fn upstream_table_event_has_empty_retcode() {
    let e = parse_line(b"20240615 10:31:00,db1,app,localhost,43,17,READ,shop,orders,").unwrap();
    assert_eq!(e.timestamp.dialect, Dialect::MariaDb);
    assert_eq!(e.object.raw(), b"orders");
    assert_eq!(e.retcode, None);
    assert!(e.extra.is_empty());
}

#[test]
fn rds_mysql_trailing_fields() {
    let q = parse_line(
        b"20240323 13:36:09,ip-172-17-4-137,rdsadmin,localhost,4,149869,QUERY,,'SELECT 1',0,,",
    )
    .unwrap();
    assert_eq!(q.timestamp.dialect, Dialect::RdsMySql);
    assert_eq!(q.extra.fields().collect::<Vec<_>>(), vec![&b""[..], b""]);
    let c = parse_line(
        b"20240615 10:32:00,ip-10-0-0-1,baduser,10.0.0.6,44,0,FAILED_CONNECT,,,1045,SOCKET",
    )
    .unwrap();
    assert_eq!(c.operation, Operation::FailedConnect);
    assert_eq!(c.retcode, Some(1045));
    assert_eq!(c.extra.fields().collect::<Vec<_>>(), vec![&b"SOCKET"[..]]);
}

#[test]
fn trailing_newlines_and_crlf() {
    let base = b"20240323 13:36:09,h,u,localhost,4,5,QUERY,,'SELECT 1',0".to_vec();
    for suffix in [&b"\n"[..], b"\r\n"] {
        let mut l = base.clone();
        l.extend_from_slice(suffix);
        assert_eq!(parse_line(&l).unwrap().retcode, Some(0));
    }
}

#[test]
fn errors_are_specific() {
    assert_eq!(parse_line(b""), Err(LineError::Empty));
    assert_eq!(parse_line(b"\n"), Err(LineError::Empty));
    assert_eq!(parse_line(b"hello,world"), Err(LineError::Timestamp));
    assert_eq!(
        parse_line(b"20240323 13:36:09,h,u,x,QUERY,,'x',0"),
        Err(LineError::Header)
    );
    assert!(matches!(
        parse_line(b"20240323 13:36:09,h,u,l,4,5,QUERY,,'SELECT \\'x,0"),
        Err(LineError::UnterminatedObject { .. })
    ));
    assert!(matches!(
        parse_line(b"20240323 13:36:09,h,u,l,4,5,QUERY,,'SELECT 1'"),
        Err(LineError::MissingRetcode { .. })
    ));
    // Nine fields: the object is the last one.
    assert!(parse_line(b"20240323 13:36:09,h,u,l,4,5,CONNECT,db,").is_err());
    assert!(matches!(
        parse_line(b"20240323 13:36:09,h,u,l,4,5,QUERY,,SELECT 1,0"),
        Err(LineError::UnquotedQuery { .. })
    ));
}

/// Names the plugin writes raw: commas, quotes and newlines in them.
#[test]
fn raw_names_do_not_derail_the_scanner() {
    let e = parse_line(
        b"20240323 13:36:09,h,o'brien,x\ny,10.0.0.1,4,5,QUERY,we,ird'db,'SELECT \\'a\\',1',0",
    )
    .unwrap();
    assert_eq!(e.username, "o'brien,x\ny");
    assert_eq!(e.host, "10.0.0.1");
    assert_eq!(e.database, "we,ird'db");
    assert_eq!(e.object.text(), "SELECT 'a',1");
    assert_eq!(e.retcode, Some(0));

    // A database ending in `,'` still leaves the object intact.
    let e = parse_line(b"20240323 13:36:09,h,u,l,4,5,QUERY,a,'b,'SELECT 1',0").unwrap();
    assert_eq!(e.database, "a,'b");
    assert_eq!(e.object.text(), "SELECT 1");

    // A table name with a comma, on an upstream TABLE line (empty return code): two cuts,
    // flagged, the other one listed.
    let e = parse_line(b"20240323 13:36:09,h,u,l,4,5,WRITE,shop,or,ders,").unwrap();
    assert_eq!(e.ambiguity.readings(), 2);
    assert_eq!(
        (&*e.database.text(), e.object.raw()),
        ("shop", &b"or,ders"[..])
    );
    let alt = e.ambiguity.alternatives();
    assert_eq!(
        (&*alt[0].database.text(), alt[0].object.raw()),
        ("shop,or", &b"ders"[..])
    );
    let e = parse_line(b"20240323 13:36:09,h,u,l,4,5,READ,shop,it's,").unwrap();
    assert_eq!(e.object.raw(), b"it's");
    assert!(!e.ambiguity.is_ambiguous());
}

#[test]
fn a_comma_in_a_connection_database_keeps_the_return_code() {
    // Only TABLE events may end with an empty return code, so `a` + object `b` + empty
    // return code is not a valid split here.
    let e = parse_line(
        b"20240323 13:36:09,ip-172-17-4-137,app,10.0.0.5,4,0,FAILED_CONNECT,a,b,,1045,TCP/IP",
    )
    .unwrap();
    assert_eq!(e.database, "a,b");
    assert_eq!(e.retcode, Some(1045));
    assert_eq!(e.extra.fields().collect::<Vec<_>>(), vec![&b"TCP/IP"[..]]);
    let e = parse_line(b"20240323 13:36:09,h,app,l,4,0,CONNECT,a,b,,0").unwrap();
    assert_eq!((&*e.database.text(), e.retcode), ("a,b", Some(0)));
    assert_eq!(e.timestamp.dialect, Dialect::MariaDb);
}

#[test]
fn a_masked_password_tail_copied_unescaped_still_parses() {
    // server_audit copies the text after IDENTIFIED BY up to a quote without escaping it.
    let e = parse_line(
        br"20240323 13:36:09,h,root,localhost,4,9,QUERY,,'ALTER USER u IDENTIFIED BY \',1064",
    )
    .unwrap();
    assert_eq!(e.object.text(), r"ALTER USER u IDENTIFIED BY \");
    assert_eq!(e.retcode, Some(1064));
}

#[test]
fn objects_that_fool_the_lookahead_regex() {
    let cases: [(&[u8], &str); 4] = [
        (br#"SELECT "it\'s""#, r#"SELECT "it's""#),
        (br"SELECT \'a,b\', \'c\'", "SELECT 'a,b', 'c'"),
        (
            br"INSERT INTO t VALUES (\'\\\\\', 1)",
            r"INSERT INTO t VALUES ('\\', 1)",
        ),
        (br"SELECT \'\',\'", "SELECT '','"),
    ];
    let split = fancy_regex::Regex::new(r",(?=(?:[^']*'[^']*')*[^']*$)").unwrap();
    for (escaped, sql) in cases {
        let mut line = b"20240323 13:36:09,h,u,l,4,5,QUERY,db,'".to_vec();
        line.extend_from_slice(escaped);
        line.extend_from_slice(b"',0");
        let text = std::str::from_utf8(&line).unwrap();
        // The seed's way: split, take field 8, trim quotes, replace \' with '.
        let fields: Vec<&str> = {
            let mut out = Vec::new();
            let mut last = 0;
            for m in split.find_iter(text) {
                let m = m.unwrap();
                out.push(&text[last..m.start()]);
                last = m.end();
            }
            out.push(&text[last..]);
            out
        };
        let naive = fields
            .get(8)
            .map(|f| f.trim_matches('\'').replace("\\'", "'"));
        assert_ne!(naive.as_deref(), Some(sql), "the regex got {text} right");
        assert_eq!(parse_line(&line).unwrap().object.text(), sql);
    }
}

#[test]
fn hostile_lines_stay_linear_and_fail_cleanly() {
    // Many commas after the operation and no valid tail: a clean error.
    let mut line = b"20240323 13:36:09,h,u,l,4,5,QUERY,".to_vec();
    line.extend(std::iter::repeat_n(b',', 100_000));
    assert!(parse_line(&line).is_err());
    // A TABLE line whose names hold 100 000 commas: every cut counted; each reading holds
    // 100 KB of names, so one is listed (the byte cap), the rest counted.
    let mut line = b"20240323 13:36:09,h,u,l,4,5,READ,".to_vec();
    line.extend(std::iter::repeat_n(b',', 100_000));
    line.extend_from_slice(b"t,");
    let e = parse_line(&line).unwrap();
    assert_eq!(e.ambiguity.readings(), 100_000);
    assert_eq!(e.ambiguity.alternatives().len(), 1);
    assert_eq!(e.ambiguity.omitted(), 100_000 - 2);
    // Short readings: the count cap.
    let mut line = b"20240323 13:36:09,h,u,l,4,5,READ,".to_vec();
    line.extend(std::iter::repeat_n(b',', 100));
    line.extend_from_slice(b"t,");
    let e = parse_line(&line).unwrap();
    assert_eq!(e.ambiguity.alternatives().len(), MAX_ALTERNATIVES);
    assert_eq!(e.ambiguity.omitted(), 100 - 1 - MAX_ALTERNATIVES as u64);
    // Thousands of forged anchors in the names, each with thousands of TABLE cuts: counted
    // from running comma counts, not enumerated (quadratic would be 10^9 steps here).
    let mut line = b"20240323 13:36:09,h,u".to_vec();
    for _ in 0..20_000 {
        line.extend_from_slice(b",h,1,2,READ,");
    }
    line.extend_from_slice(b"d,t,");
    let e = parse_line(&line).unwrap();
    assert!(e.ambiguity.readings() > 20_000);
    // A huge statement parses.
    let mut line = b"20240323 13:36:09,h,u,l,4,5,QUERY,db,'".to_vec();
    line.extend(std::iter::repeat_n(b'x', 1 << 20));
    line.extend_from_slice(b"',0");
    assert_eq!(parse_line(&line).unwrap().object.raw().len(), 1 << 20);
}

proptest! {
    /// Ids and return codes read as `str::parse` reads them, at every length around the
    /// 19 digits that cannot overflow, `u64::MAX` and `i64::MIN` included.
    #[test]
    fn numbers_read_as_std_parses_them(
        digits in prop_oneof![
            "[0-9]{0,22}",
            "-?[0-9]{0,21}",
            "[0-9]{0,5}[^0-9][0-9]{0,5}",
            Just(u64::MAX.to_string()),
            Just("18446744073709551616".to_owned()),
            Just(i64::MIN.to_string()),
            Just("-9223372036854775809".to_owned()),
            Just(i64::MAX.to_string()),
        ],
    ) {
        let unsigned = digits.parse::<u64>().ok().filter(|_| !digits.starts_with('+'));
        prop_assert_eq!(parse_u64(digits.as_bytes()), unsigned);
        let signed = digits.parse::<i64>().ok().filter(|_| !digits.starts_with('+'));
        prop_assert_eq!(parse_i64(digits.as_bytes()), signed);
    }

    /// Numbers read in place as one word are read as the digit loop reads the field alone,
    /// at every span of a text dense with digits (lengths 0 to 20, spans starting less than
    /// eight bytes in, reversed spans, spans past the end).
    #[test]
    fn numbers_at_read_as_parse_u64(
        s in prop::collection::vec(
            prop_oneof![
                6 => b'0'..=b'9',
                1 => Just(b'-'),
                1 => Just(b','),
                1 => prop::sample::select(vec![b'/', b':', b'\0', b'@', b'\xb0', b'\xf9', b'\xff']),
            ],
            0..40,
        ),
    ) {
        for start in 0..=s.len() + 1 {
            for end in start.saturating_sub(1)..=(start + 21).min(s.len() + 1) {
                let field = s.get(start..end).unwrap_or_default();
                prop_assert_eq!(parse_u64_at(&s, Span(start, end)), parse_u64(field));
                let word = end.checked_sub(8).and_then(|from| s.get(from..end));
                if let (Some(word), 1..=8) = (word.and_then(|w| w.first_chunk::<8>()), field.len()) {
                    prop_assert_eq!(digits_in_word(u64::from_le_bytes(*word), field.len()), parse_u64(field));
                }
            }
        }
    }

    /// The comma-mask search for TABLE operations finds exactly the `,OP,` a byte-at-a-time
    /// search finds, in statements dense with commas, across block ends.
    #[test]
    fn table_operations_match_a_scalar_search(
        s in prop::collection::vec(
            prop_oneof![
                3 => prop::sample::select(vec![
                    &b","[..], b",,", b"1", b"READ", b"WRITE", b"CREATE", b"ALTER", b"DROP",
                    b"RENAME", b"QUERY", b"REA", b"DROPS", b"_", b"read", b"\'", b"x",
                ]).prop_map(<[u8]>::to_vec),
                1 => "[A-Z,]{0,7}".prop_map(String::into_bytes),
                1 => "[a-z ]{0,70}".prop_map(String::into_bytes),
            ],
            0..80,
        ).prop_map(|v| v.concat()),
    ) {
        const OPS: [&[u8]; 6] = [b",READ,", b",WRITE,", b",CREATE,", b",ALTER,", b",DROP,", b",RENAME,"];
        let scalar: Vec<usize> = (0..s.len())
            .filter(|&k| OPS.iter().any(|op| s[k..].starts_with(op)))
            .collect();
        let mut fast = Vec::new();
        let _ = table_operations(&s, &mut |k| {
            fast.push(k);
            ControlFlow::Continue(())
        });
        prop_assert_eq!(fast, scalar);
    }

    /// The search for commas five to seven bytes apart finds a pair in a stretch of a line
    /// exactly when a byte-at-a-time search does, for stretches starting and ending in and
    /// past the first block (whose mask [`Ends`] takes), across block ends; and where it
    /// finds none the TABLE search finds no operation in the stretch.
    #[test]
    fn comma_pairs_in_match_a_scalar_search(
        s in prop::collection::vec(
            prop_oneof![
                3 => prop::sample::select(vec![
                    &b","[..], b",,", b"1", b"READ", b"WRITE", b"CREATE", b"ALTER", b"DROP",
                    b"RENAME", b"x", b"xy",
                ]).prop_map(<[u8]>::to_vec),
                1 => "[a-z ]{0,70}".prop_map(String::into_bytes),
            ],
            0..60,
        ).prop_map(|v| v.concat()),
        from in 0usize..200,
        len in 0usize..300,
    ) {
        let to = from.saturating_add(len);
        let stretch = s.get(from..to.min(s.len())).unwrap_or_default();
        let comma = |k: usize| stretch.get(k) == Some(&b',');
        let scalar = (0..stretch.len()).any(|k| comma(k) && [5, 6, 7].iter().any(|&d| comma(k + d)));
        let [first] = crate::swar::masks_at(&s, 0, [b',']);
        let fast = comma_pairs_in(&s, first, from, to);
        prop_assert_eq!(fast, scalar);
        if !fast {
            prop_assert!(table_operations(stretch, &mut |_| ControlFlow::Break(())).is_continue());
        }
    }

    /// The first six commas are the first six a byte-at-a-time search finds, whether the
    /// first block holds them all or they run past it, from the first block's mask as
    /// [`Ends`] takes it.
    #[test]
    fn first_commas_match_a_scalar_search(
        s in prop::collection::vec(
            prop_oneof![1 => Just(b','), 4 => Just(b'x'), 1 => any::<u8>()],
            0..300,
        ),
    ) {
        let [first] = crate::swar::masks_at(&s, 0, [b',']);
        let scalar: Vec<usize> = memchr::memchr_iter(b',', &s).take(6).collect();
        let want = <[usize; 6]>::try_from(scalar).ok();
        prop_assert_eq!(first_commas(&s, first), want);
    }
}
