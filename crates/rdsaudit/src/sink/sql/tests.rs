use super::*;
use proptest::prelude::*;

fn flat(sql: &str) -> Result<String, Unwritable> {
    let mut out = Vec::new();
    one_line(sql.as_bytes(), &mut out).map(|()| String::from_utf8(out).unwrap())
}

#[test]
fn examples() {
    let cases = [
        (
            "DELETE FROM t -- note\nWHERE id<10",
            "DELETE FROM t /* note */ WHERE id<10",
        ),
        ("SELECT 1 # hash\n, 2", "SELECT 1 /* hash */ , 2"),
        (
            "DELETE FROM t -- a */ b\nWHERE id=1",
            "DELETE FROM t /* a * / b */ WHERE id=1",
        ),
        ("SELECT 1 -- trailing", "SELECT 1 /* trailing */"),
        ("SELECT 1--1", "SELECT 1--1"),
        ("SELECT 1 --\n2", "SELECT 1 /* */ 2"),
        ("SELECT '--x\n' FROM t", "SELECT '--x\\n' FROM t"),
        (
            "SELECT 'it''s\r\n', \"a\\\"b\n\"",
            "SELECT 'it''s\\r\\n', \"a\\\"b\\n\"",
        ),
        ("SELECT 'a\\\nb'", "SELECT 'a\\nb'"),
        ("SELECT /* a\nb */ 1", "SELECT /* a b */ 1"),
        (
            "SELECT /*! STRAIGHT_JOIN -- x\n*/ 1",
            "SELECT /*! STRAIGHT_JOIN   */ 1",
        ),
        ("SELECT `a``b` FROM t", "SELECT `a``b` FROM t"),
    ];
    for (sql, want) in cases {
        assert_eq!(flat(sql).as_deref(), Ok(want), "{sql:?}");
    }
    for (sql, why) in [
        ("INSERT INTO t VALUES ('abc", Unwritable::OpenString),
        ("SELECT \"abc\\\"", Unwritable::OpenString),
        ("SELECT `abc", Unwritable::OpenIdentifier),
        ("SELECT `a\nb`", Unwritable::BreakInIdentifier),
        ("SELECT 1 /* abc", Unwritable::OpenComment),
        ("SELECT /*! 1 ", Unwritable::OpenComment),
    ] {
        assert_eq!(flat(sql), Err(why), "{sql:?}");
    }
}

/// A token of a statement, with how it is written and how it must come out.
#[derive(Debug, Clone)]
struct Token {
    written: String,
    flat: String,
}

fn token(written: &str, flat: &str) -> Token {
    Token {
        written: written.to_owned(),
        flat: flat.to_owned(),
    }
}

fn code() -> impl Strategy<Value = Token> {
    prop::sample::select(vec![
        "SELECT", "DELETE", "FROM", "t", "WHERE", "id<10", ",", "1", "(", ")", "=", "*", "+",
        "1-1", "a.b", ";", "-", "/", "*/", "!",
    ])
    .prop_map(|w| token(w, w))
}

/// String content: quotes, backslashes, line breaks, comment starters, `;`.
fn content() -> impl Strategy<Value = Vec<&'static str>> {
    prop::collection::vec(
        prop::sample::select(vec![
            "a", " ", "\n", "\r", "\\n", "\\\\", "\\'", "\\\"", "''", "--", "-- ", "#", "/*", "*/",
            ";", "`", "é",
        ]),
        0..8,
    )
}

fn string() -> impl Strategy<Value = Token> {
    (content(), any::<bool>()).prop_map(|(parts, double)| {
        let quote = if double { '"' } else { '\'' };
        let mut written = String::from(quote);
        let mut flat = String::from(quote);
        for p in parts {
            // The other quote needs no escape; this one is doubled or backslashed.
            let p = match (p, double) {
                ("''", true) => "\"\"",
                (p, _) => p,
            };
            written.push_str(p);
            flat.push_str(&p.replace('\n', "\\n").replace('\r', "\\r"));
        }
        written.push(quote);
        flat.push(quote);
        Token { written, flat }
    })
}

fn identifier() -> impl Strategy<Value = Token> {
    prop::collection::vec(
        prop::sample::select(vec!["a", "``", " ", "-- ", "'", "\""]),
        0..5,
    )
    .prop_map(|parts| {
        let s = format!("`{}`", parts.concat());
        token(&s, &s)
    })
}

/// Comment text: no line feed (it would end a line comment), anything else.
fn comment_text() -> impl Strategy<Value = Vec<&'static str>> {
    prop::collection::vec(
        prop::sample::select(vec![
            "x", " ", "*/", "/*", "'", "\"", "`", ";", "--", "#", "*", "/",
        ]),
        0..6,
    )
}

fn line_comment() -> impl Strategy<Value = Token> {
    (comment_text(), any::<bool>()).prop_map(|(parts, hash)| {
        let text = parts.concat();
        let written = format!("{}{text}\n", if hash { "#" } else { "-- " });
        let trimmed = text.trim_ascii();
        let body = trimmed.replace("*/", "* /");
        let flat = if trimmed.is_empty() {
            "/* */ ".to_owned()
        } else {
            format!("/* {body} */ ")
        };
        Token { written, flat }
    })
}

fn block_comment() -> impl Strategy<Value = Token> {
    prop::collection::vec(
        prop::sample::select(vec!["x", " ", "\n", "-- ", "#", "'", "/*"]),
        0..6,
    )
    .prop_map(|parts| parts.concat())
    // `/*/*` holds a `*/`: such a comment ends there.
    .prop_filter("no */ inside", |text| {
        !text.contains("*/") && !text.starts_with('!')
    })
    .prop_map(|text| {
        let written = format!("/*{text}*/");
        token(&written, &written.replace('\n', " "))
    })
}

fn separator() -> impl Strategy<Value = Token> {
    prop::sample::select(vec![(" ", " "), ("\n", " "), ("\r\n", "  "), ("\t", "\t")])
        .prop_map(|(w, f)| token(w, f))
}

fn statement() -> impl Strategy<Value = Vec<Token>> {
    prop::collection::vec(
        (
            prop_oneof![
                4 => code(),
                2 => string(),
                1 => identifier(),
                2 => line_comment(),
                1 => block_comment(),
            ],
            separator(),
        ),
        0..12,
    )
    .prop_map(|pairs| pairs.into_iter().flat_map(|(t, sep)| [t, sep]).collect())
}

proptest! {
    #[test]
    fn one_line_keeps_every_token_and_breaks_no_line(tokens in statement()) {
        let written: String = tokens.iter().map(|t| t.written.as_str()).collect();
        let want: String = tokens.iter().map(|t| t.flat.as_str()).collect();
        let got = flat(&written);
        prop_assert_eq!(got.as_deref(), Ok(want.as_str()), "{:?}", written);
        prop_assert!(!want.contains(['\n', '\r']));
    }

    #[test]
    fn any_input_gives_one_line_or_a_reason(sql in ".*") {
        let mut out = Vec::new();
        if one_line(sql.as_bytes(), &mut out).is_ok() {
            prop_assert!(!out.contains(&b'\n') && !out.contains(&b'\r'));
        }
    }
}

fn query(db: &str, statement: &str, retcode: i64) -> Vec<u8> {
    format!("20240615 10:31:00,h,u,l,1,2,QUERY,{db},'{statement}',{retcode}").into_bytes()
}

#[test]
fn a_refused_statement_is_a_comment_and_use_follows_the_database() {
    let lines = [
        query("shop", "SELECT 1", 0),
        query("shop", "DELETE FROM t\\nWHERE 1", 1142),
        query("a`b", "SELECT 2", 0),
        query("", "SELECT 3", 0),
        query("", "SELECT 4", 0),
        query("shop", "SELECT 5", 0),
    ];
    let mut writer = SqlWriter::new();
    let mut out = Vec::new();
    for line in &lines {
        assert!(writer.write(&crate::parse_line(line).unwrap(), &mut out));
    }
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "USE `shop`;\nSELECT 1;\n\
         -- rdsaudit: not run, the server returned error 1142: DELETE FROM t\\nWHERE 1\n\
         USE `a``b`;\nSELECT 2;\n\
         -- rdsaudit: no database selected from here on (USE cannot unselect one)\n\
         SELECT 3;\nSELECT 4;\nUSE `shop`;\nSELECT 5;\n"
    );
}

proptest! {
    /// Pieces written apart and joined with the `USE` each piece's first statement needs give
    /// the output of one writer, wherever the pieces are cut.
    #[test]
    fn pieces_joined_give_the_whole(
        dbs in prop::collection::vec(prop::sample::select(vec!["", "a", "b", "c`d"]), 0..30),
        cuts in prop::collection::vec(any::<bool>(), 30),
    ) {
        let lines: Vec<Vec<u8>> = dbs.iter().map(|db| query(db, "SELECT 1", 0)).collect();
        let events: Vec<_> = lines.iter().map(|l| crate::parse_line(l).unwrap()).collect();
        let mut whole = Vec::new();
        let mut writer = SqlWriter::new();
        for e in &events {
            writer.write(e, &mut whole);
        }
        let (mut joined, mut before, mut piece, mut bytes) =
            (Vec::new(), None::<Vec<u8>>, SqlWriter::piece(), Vec::new());
        for (i, e) in events.iter().enumerate() {
            piece.write(e, &mut bytes);
            if cuts[i] || i + 1 == events.len() {
                if let Some(first) = piece.first_database() {
                    switch_database(before.as_deref(), first, &mut joined);
                    before = piece.database().map(<[u8]>::to_vec);
                }
                joined.append(&mut bytes);
                piece.reset();
            }
        }
        prop_assert_eq!(String::from_utf8(joined).unwrap(), String::from_utf8(whole).unwrap());
    }
}

/// Review 5's forgery (real MariaDB 10.11): eve's database name holds raw line breaks and a
/// whole line in which admin drops a table. Admin never ran it.
const FORGED: &[u8] = b"20250101 00:00:00,srv,p,10.0.0.1,5,0,DISCONNECT,,,0\n\
20250101 00:00:01,srv,eve,10.0.0.9,7,12,QUERY,x\n\
,u,0\n\
20241231 23:59:59,srv,admin,10.0.0.1,9,9,QUERY,mysql,'DROP TABLE t1',0\n\
20250101 00:00:02,srv,eve,10.0.0.9,7,13,QUERY,,'SELECT 1',0\n";

#[test]
fn an_ambiguous_statement_is_a_comment_and_moves_no_database() {
    let (mut writer, mut out, mut flagged) = (SqlWriter::new(), Vec::new(), 0);
    let mut sink = |e: &AuditEvent<'_>| {
        flagged += u32::from(e.ambiguity.is_ambiguous() && e.operation == Operation::Query);
        writer.write(e, &mut out);
    };
    crate::Decoder::new().decode(FORGED, &mut sink).unwrap();
    assert_eq!(
        flagged, 2,
        "the forged line and the one after it are flagged"
    );
    let out = String::from_utf8(out).unwrap();
    assert_eq!(
        out,
        "-- rdsaudit: not run, ambiguous (2 readings, 1 unlisted): DROP TABLE t1\n\
         -- rdsaudit: not run, ambiguous (2 readings, 1 unlisted): SELECT 1\n"
    );
    assert_eq!(writer.database(), None, "no USE for a forged database");
}

/// A flagged statement holding line breaks and a `;` stays on its comment line.
#[test]
fn an_ambiguous_statement_cannot_leave_its_comment() {
    // User `u` in database `a,l,1,2,QUERY,b`, or user `u,l,1,2,QUERY,a` in `b`.
    let line = b"20240615 10:31:00,h,u,l,1,2,QUERY,a,l,1,2,QUERY,b,'x\\n;DROP TABLE t\\r\\n-- y',0";
    let e = crate::parse_line(line).unwrap();
    assert!(e.ambiguity.is_ambiguous());
    let mut out = Vec::new();
    assert!(SqlWriter::new().write(&e, &mut out));
    let out = String::from_utf8(out).unwrap();
    assert_eq!(out.matches('\n').count(), 1, "{out}");
    assert!(
        out.starts_with("-- rdsaudit: not run, ambiguous ("),
        "{out}"
    );
    assert!(out.ends_with(": x\\n;DROP TABLE t\\r\\n-- y\n"), "{out}");
}
