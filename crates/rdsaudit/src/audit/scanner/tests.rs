use super::*;
use crate::audit::reference;
use crate::audit::unescape::escape_like_plugin;
use proptest::prelude::*;

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

    // A table name with a comma, on an upstream TABLE line (empty return code).
    let e = parse_line(b"20240323 13:36:09,h,u,l,4,5,WRITE,shop,or,ders,").unwrap();
    assert_eq!(e.database, "shop,or");
    assert_eq!(e.object.raw(), b"ders");
    let e = parse_line(b"20240323 13:36:09,h,u,l,4,5,READ,shop,it's,").unwrap();
    assert_eq!(e.object.raw(), b"it's");
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
    assert_eq!((e.database.as_ref(), e.retcode), ("a,b", Some(0)));
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
    // Many commas after the operation and no valid tail: capped retries, a clean error.
    let mut line = b"20240323 13:36:09,h,u,l,4,5,QUERY,".to_vec();
    line.extend(std::iter::repeat_n(b',', 100_000));
    assert!(parse_line(&line).is_err());
    // A huge statement parses.
    let mut line = b"20240323 13:36:09,h,u,l,4,5,QUERY,db,'".to_vec();
    line.extend(std::iter::repeat_n(b'x', 1 << 20));
    line.extend_from_slice(b"',0");
    assert_eq!(parse_line(&line).unwrap().object.raw().len(), 1 << 20);
}

// ---- property tests: fast scanner against the reference, and the escape round trip ----

fn sql_bytes() -> impl Strategy<Value = Vec<u8>> {
    let atom = prop_oneof![
        3 => any::<u8>().prop_map(|b| vec![b]),
        3 => prop::sample::select(vec![
            &b"'"[..], b"\\", b",", b"\n", b"\t", b"\r", b"\x08", b"\x0c", b"\0", b"''", b"',",
            b"\\'", b"\",", b" ", "\u{3001}".as_bytes(), "\u{65E5}\u{672C}".as_bytes(),
            "\u{1F600}".as_bytes(), b"\xff", b"\xc3",
        ])
        .prop_map(|s| s.to_vec()),
        2 => "[a-zA-Z0-9 ]{1,8}".prop_map(String::into_bytes),
    ];
    prop::collection::vec(atom, 0..48).prop_map(|v| v.concat())
}

#[derive(Debug, Clone)]
struct GenLine {
    line: Vec<u8>,
    sql: Vec<u8>,
    op: &'static str,
    extra: Option<&'static str>,
}

fn gen_line() -> impl Strategy<Value = GenLine> {
    (
        prop_oneof![
            Just("20240323 13:36:08".to_string()),
            (1_600_000_000_000_000i64..1_800_000_000_000_000).prop_map(|t| t.to_string())
        ],
        "[a-z0-9-]{1,12}",
        "[a-zA-Z_]{0,10}",
        "[a-z0-9.:]{1,15}",
        0u64..1_000_000,
        0u64..u64::MAX,
        prop::sample::select(vec![
            "QUERY",
            "READ",
            "WRITE",
            "CONNECT",
            "DISCONNECT",
            "FAILED_CONNECT",
            "RENAME",
            "QUERY_DDL",
        ]),
        "[a-z_]{0,8}",
        sql_bytes(),
        -2000i64..2000,
        prop::sample::select(vec![None, Some(""), Some(","), Some("SSL"), Some("TCP/IP")]),
    )
        .prop_map(|(ts, sh, user, host, cid, qid, op, db, sql, ret, extra)| {
            let op_quoted = !matches!(
                op,
                "READ" | "WRITE" | "RENAME" | "CONNECT" | "DISCONNECT" | "FAILED_CONNECT"
            );
            let mut line = format!("{ts},{sh},{user},{host},{cid},{qid},{op},{db},").into_bytes();
            let sql = if op_quoted {
                line.push(b'\'');
                escape_like_plugin(&sql, &mut line);
                line.push(b'\'');
                sql
            } else {
                // Unquoted objects are bare names.
                let name: Vec<u8> = sql.into_iter().filter(u8::is_ascii_alphanumeric).collect();
                line.extend_from_slice(&name);
                name
            };
            line.extend_from_slice(format!(",{ret}").as_bytes());
            if let Some(x) = extra {
                line.push(b',');
                line.extend_from_slice(x.as_bytes());
            }
            GenLine {
                line,
                sql,
                op,
                extra,
            }
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(10_000))]

    #[test]
    fn fast_scanner_matches_reference(g in gen_line()) {
        let fast = scan(&g.line).map_err(|e| TestCaseError::fail(format!("{e}: {:?}", String::from_utf8_lossy(&g.line))))?;
        let reference = reference::split(&g.line);
        prop_assert_eq!(Some(fast), reference);
    }

    #[test]
    fn object_round_trips(g in gen_line()) {
        let e = parse_line(&g.line).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let object = e.object.unescaped();
        prop_assert_eq!(object.as_ref(), &g.sql[..]);
        prop_assert_eq!(e.operation.as_str(), g.op);
        prop_assert_eq!(e.extra.raw(), g.extra.map(str::as_bytes));
    }

    #[test]
    fn arbitrary_bytes_never_panic(line in prop::collection::vec(any::<u8>(), 0..256)) {
        let _ = parse_line(&line);
        let _ = reference::split(&line);
    }

    #[test]
    fn mutated_lines_never_panic(g in gen_line(), at in any::<prop::sample::Index>(), b in any::<u8>()) {
        let mut line = g.line;
        let i = at.index(line.len());
        line[i] = b;
        if let Ok(e) = parse_line(&line) {
            let _ = e.object.text();
        }
    }

    /// Users, databases and tables with commas, quotes and newlines, as the plugin writes them.
    #[test]
    fn raw_names_anchor_on_structure(
        user in "[a-z,'\n ]{0,10}",
        db in "[a-z'\n]{0,10}",
        sql in sql_bytes(),
    ) {
        let mut line = format!("20240323 13:36:08,srv,{user},10.1.2.3,4,5,QUERY,{db},'").into_bytes();
        escape_like_plugin(&sql, &mut line);
        line.extend_from_slice(b"',0");
        let e = parse_line(&line).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(e.username.as_ref(), user.as_str());
        prop_assert_eq!(e.host.as_ref(), "10.1.2.3");
        prop_assert_eq!(e.database.as_ref(), db.as_str());
        let object = e.object.unescaped();
        prop_assert_eq!(object.as_ref(), &sql[..]);
    }
}

/// An escape split across two 64-byte blocks of `find_close`: the backslash ends the first
/// block, the quote it escapes starts the second.
#[test]
fn escape_across_a_block_boundary() {
    for run in [1, 2, 3, 63, 64] {
        let mut body = vec![b'a'; 64 - run];
        body.extend(std::iter::repeat_n(b'\\', run));
        body.extend_from_slice(b"',0");
        let close = find_close(&body, 0).map(|c| c.pos);
        // An odd run escapes the quote (no closing quote left); an even run does not.
        let want = if run % 2 == 1 { None } else { Some(64) };
        assert_eq!(close, want, "run of {run} backslashes");
    }
}
