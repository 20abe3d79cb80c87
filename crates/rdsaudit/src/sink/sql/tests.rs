use super::*;
use proptest::prelude::*;

fn flat(sql: &str) -> Result<String, Unwritable> {
    let mut out = Vec::new();
    one_line(sql.as_bytes(), &mut out).map(|_| String::from_utf8(out).unwrap())
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
        ("SELECT 1 -- /*!", "SELECT 1 /* / *! */"),
        ("SELECT 1 /* a /*!*/", "SELECT 1 /* a / *!*/"),
        (
            "SELECT /*+ BKA(t1) NO_ICP(t2) */ 1",
            "SELECT /*+ BKA(t1) NO_ICP(t2) */ 1",
        ),
        ("SELECT /*+ \\! id */ 1", "SELECT /* + \\! id */ 1"),
        ("SELECT /*+ '; */ 1", "SELECT /* + '; */ 1"),
        ("SELECT 'a\0b', /* \0 */ 1", "SELECT 'a\\0b', /*   */ 1"),
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
        ("SELECT `a\0`", Unwritable::Nul),
        ("SELECT 1\0", Unwritable::Nul),
        ("SELECT /*! 1 /* x */ */", Unwritable::NestedComment),
    ] {
        assert_eq!(flat(sql), Err(why), "{sql:?}");
    }
}

#[test]
fn invalid_utf8_is_not_written() {
    assert_eq!(
        one_line(b"INSERT INTO t VALUES ('\xff')", &mut Vec::new()).err(),
        Some(Unwritable::NotUtf8)
    );
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
            ";", "`", "é", "\0", "/*!",
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
            flat.push_str(
                &p.replace('\n', "\\n")
                    .replace('\r', "\\r")
                    .replace('\0', "\\0"),
            );
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
            "x", " ", "*/", "/*", "'", "\"", "`", ";", "--", "#", "*", "/", "/*!", "/*M!", "/*+",
            "\0", "\\",
        ]),
        0..6,
    )
}

fn line_comment() -> impl Strategy<Value = Token> {
    (comment_text(), any::<bool>()).prop_map(|(parts, hash)| {
        let text = parts.concat();
        let written = format!("{}{text}\n", if hash { "#" } else { "-- " });
        let trimmed = text.trim_ascii();
        let body = broken_up(trimmed);
        let flat = if trimmed.is_empty() {
            "/* */ ".to_owned()
        } else {
            format!("/* {body} */ ")
        };
        Token { written, flat }
    })
}

/// A comment's text as written: line breaks and NUL as spaces, `*/` and `/*` broken up.
fn broken_up(text: &str) -> String {
    text.replace(['\n', '\r', '\0'], " ")
        .replace("*/", "* /")
        .replace("/*", "/ *")
}

fn block_comment() -> impl Strategy<Value = Token> {
    prop::collection::vec(
        prop::sample::select(vec![
            "x", " ", "\n", "-- ", "#", "'", "/*", "/*!", "/*+", "+", "(", "\0", "\\", ";",
        ]),
        0..6,
    )
    .prop_map(|parts| parts.concat())
    // `/*/*` holds a `*/`: such a comment ends there.
    .prop_filter("no */ inside", |text| {
        !text.contains("*/") && !text.starts_with('!') && !text.starts_with("M!")
    })
    .prop_map(|text| {
        let written = format!("/*{text}*/");
        // A hint holding more than names and `(),=.@+` is made a comment to every client.
        let plain_hint = text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b" \t_(),=.@+".contains(&b));
        let space = if text.starts_with('+') && !plain_hint {
            " "
        } else {
            ""
        };
        Token {
            written,
            flat: format!("/*{space}{}*/", broken_up(&text)),
        }
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
    /// the output of one writer, wherever the pieces are cut; so do statements written alone
    /// and joined one by one with their databases (`--merge`).
    #[test]
    fn pieces_joined_give_the_whole(
        statements in prop::collection::vec(
            (prop::sample::select(vec!["", "a", "b", "c`d"]), 0..3_u8),
            0..30,
        ),
        cuts in prop::collection::vec(any::<bool>(), 30),
    ) {
        // Run, refused (its database still selected), or reaching the log limit (a comment
        // that selects no database: a piece may start with it).
        let cut = format!("SELECT {}", "x".repeat(DEFAULT_QUERY_LOG_LIMIT));
        let lines: Vec<Vec<u8>> = statements
            .iter()
            .map(|&(db, kind)| match kind {
                0 => query(db, "SELECT 1", 0),
                1 => query(db, "SELECT 2", 1146),
                _ => query(db, &cut, 0),
            })
            .collect();
        let events: Vec<_> = lines.iter().map(|l| crate::parse_line(l).unwrap()).collect();
        let mut whole = Vec::new();
        let mut writer = SqlWriter::new();
        for e in &events {
            writer.write(e, &mut whole);
        }
        let (mut joined, mut joiner, mut piece, mut bytes) =
            (Vec::new(), Joiner::default(), SqlWriter::piece(), Vec::new());
        for (i, e) in events.iter().enumerate() {
            piece.write(e, &mut bytes);
            if cuts[i] || i + 1 == events.len() {
                joiner.join(&piece, &bytes, &mut joined).unwrap();
                bytes.clear();
                piece.reset();
            }
        }
        let whole = String::from_utf8(whole).unwrap();
        prop_assert_eq!(&String::from_utf8(joined).unwrap(), &whole);
        // One statement at a time, each kept with its database alone (as `--merge` does).
        let (mut one_by_one, mut joiner) = (Vec::new(), Joiner::default());
        for e in &events {
            piece.reset();
            bytes.clear();
            piece.write(e, &mut bytes);
            joiner.statement(piece.first_database(), &bytes, &mut one_by_one).unwrap();
        }
        prop_assert_eq!(&String::from_utf8(one_by_one).unwrap(), &whole);
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

/// The event scheduler's statements (no client host) are logged with database `mysql` but
/// run in the event's schema (recorded on MariaDB 10.11.14: `INSERT INTO w` wrote `shop.w`):
/// a comment, never `USE mysql` and the statement to run. Failed before: `USE \`mysql\`;`
/// then the INSERT, which a replay would run on `mysql.w`.
#[test]
fn a_server_thread_s_statement_is_not_run() {
    let mut writer = SqlWriter::new();
    let mut out = Vec::new();
    for line in [
        &b"20261205 09:22:57,vm,r,127.0.0.1,86,226,QUERY,shop,'SELECT 1',0"[..],
        b"20261205 09:22:57,vm,event_scheduler,,88,228,QUERY,mysql,'INSERT INTO w VALUES (44)',0",
    ] {
        writer.write(&crate::parse_line(line).unwrap(), &mut out);
    }
    let out = String::from_utf8(out).unwrap();
    assert_eq!(
        out,
        "USE `shop`;\nSELECT 1;\n\
         -- rdsaudit: not run, a server thread's statement (the event scheduler's: the database it ran in is not logged): INSERT INTO w VALUES (44)\n"
    );
    assert_eq!(writer.database(), Some(&b"shop"[..]));
    // A client's line whose database forges an empty-host reading is ambiguous, and says so
    // (session 35's adversary 2, LOW-2: it gave the server thread's reason).
    let forged = b"20261205 09:22:57,vm,u,10.0.0.5,7,8,QUERY,s,,3,4,QUERY,x,'DELETE FROM w',0";
    let mut out = Vec::new();
    SqlWriter::new().write(&crate::parse_line(forged).unwrap(), &mut out);
    let out = String::from_utf8(out).unwrap();
    assert!(
        out.starts_with("-- rdsaudit: not run, ambiguous (2 readings"),
        "{out}"
    );
}

/// A statement whose database name is not UTF-8 is a comment, and no `USE` is written for
/// it: its lossy text (`d\u{FFFD}`) would select another database. Failed before: `USE
/// \`d\u{FFFD}\`;` then the statement, to run.
#[test]
fn a_database_name_that_is_not_utf8_is_never_used() {
    let mut writer = SqlWriter::new();
    let mut out = Vec::new();
    for line in [
        &b"20240323 13:36:08,srv,app,10.0.0.1,5,7,QUERY,shop,'SELECT 1',0"[..],
        b"20240323 13:36:08,srv,app,10.0.0.1,5,8,QUERY,d\xfe,'DELETE FROM t',0",
    ] {
        writer.write(&crate::parse_line(line).unwrap(), &mut out);
    }
    let out = String::from_utf8(out).unwrap();
    assert_eq!(
        out,
        "USE `shop`;\nSELECT 1;\n\
         -- rdsaudit: not run, its database name is not valid UTF-8 (NDJSON's database_base64 holds its bytes): DELETE FROM t\n"
    );
    assert_eq!(writer.database(), Some(&b"shop"[..]));
}

/// A database name holding a line break or a NUL: no `USE` fits on a line, so the statement
/// is not run in the database before it (it was: `USE` was left out with a note, and the
/// `DELETE` ran in `shop`).
#[test]
fn a_database_name_holding_a_line_break_is_never_used() {
    for db in [&b"d\nx"[..], b"d\rx", b"d\0x"] {
        let mut writer = SqlWriter::new();
        let mut out = Vec::new();
        let shop =
            crate::parse_line(b"20240323 13:36:08,srv,app,10.0.0.1,5,7,QUERY,shop,'SELECT 1',0")
                .unwrap();
        writer.write(&shop, &mut out);
        let mut e = crate::parse_line(
            b"20240323 13:36:08,srv,app,10.0.0.1,5,8,QUERY,other,'DELETE FROM t',0",
        )
        .unwrap();
        e.database = crate::Name::new(db);
        writer.write(&e, &mut out);
        let out = String::from_utf8(out).unwrap();
        assert_eq!(
            out,
            "USE `shop`;\nSELECT 1;\n\
             -- rdsaudit: not run, its database name holds a line break or a NUL (no USE can select it on one line): DELETE FROM t\n",
            "{db:?}"
        );
        assert_eq!(writer.database(), Some(&b"shop"[..]));
    }
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

/// The statements the `mysql` / `mariadb` client sends for `script` (its `add_line` rules,
/// default options, but `/* */` comments kept as with `--comments`): `DELIMITER` lines,
/// strings (backslash escapes) and back-quoted names, `-- ` and `#` comments skipped, `/*! */`
/// read as code, and `/*+ */` too when `hint_is_code` (the `mysql` client's hints; MariaDB's
/// client reads them as comments). Inside a comment, a `/*!` (or a hint opener read as code)
/// makes the client skip the next `*/` (its `ss_comment` flag). A backslash outside strings
/// is one of its commands, and a NUL makes it stop: both fail the test. What is left after
/// the last delimiter is sent too.
fn client_statements_of(script: &str, hint_is_code: bool) -> Vec<String> {
    assert!(
        !script.contains('\0'),
        "the client refuses a NUL: {script:?}"
    );
    let (mut sent, mut buf, mut delimiter) = (Vec::new(), String::new(), ";".to_owned());
    let (mut quote, mut comment, mut code, mut skip_end) = (None::<char>, false, false, false);
    let opens_code = |rest: &str| {
        rest.starts_with("/*!")
            || rest.starts_with("/*M!")
            || (hint_is_code && rest.starts_with("/*+"))
    };
    for line in script.split('\n') {
        let mut words = line.split_ascii_whitespace();
        if quote.is_none()
            && !comment
            && buf.trim().is_empty()
            && let (Some(w), Some(d)) = (words.next(), words.next())
            && w.eq_ignore_ascii_case("delimiter")
        {
            delimiter = d.to_owned();
            continue;
        }
        let chars: Vec<char> = line.chars().collect();
        let mut i = 0;
        while let Some(&c) = chars.get(i) {
            let rest: String = chars[i..].iter().collect();
            if let Some(q) = quote {
                buf.push(c);
                if c == '\\' && q != '`' {
                    buf.extend(chars.get(i + 1));
                    i += 1;
                } else if c == q {
                    quote = None;
                }
            } else if comment {
                buf.push(c);
                if opens_code(&rest) {
                    skip_end = true;
                } else if rest.starts_with("*/") {
                    buf.push('/');
                    comment = skip_end;
                    skip_end = false;
                    i += 1;
                }
            } else if rest.starts_with(&delimiter) {
                // A statement of comments only is not sent.
                if code {
                    sent.push(buf.trim().to_owned());
                }
                (buf, code) = (String::new(), false);
                i += delimiter.chars().count();
                continue;
            } else if rest.starts_with("/*") && !opens_code(&rest) {
                buf.push_str("/*");
                comment = true;
                i += 1;
            } else if rest.starts_with('#')
                || (rest.starts_with("--") && rest[2..].starts_with([' ', '\t']))
            {
                break;
            } else {
                assert!(
                    c != '\\' || rest.starts_with("\\N"),
                    "a client command: {rest}"
                );
                if matches!(c, '\'' | '"' | '`') {
                    quote = Some(c);
                }
                code |= !c.is_whitespace();
                buf.push(c);
            }
            i += 1;
        }
        buf.push('\n');
    }
    assert!(
        quote.is_none() && !comment,
        "the script ends inside a string or comment: {script}"
    );
    if code {
        sent.push(buf.trim().to_owned());
    }
    sent
}

/// Writes one event alone; returns the output and the statements the client sends for it
/// (its `USE` left out).
fn replayed(line: &[u8]) -> (String, Vec<String>) {
    let e = crate::parse_line(line).unwrap();
    let mut out = Vec::new();
    SqlWriter::piece().write(&e, &mut out);
    let out = String::from_utf8(out).unwrap();
    let sent = client_statements(&out);
    (out, sent)
}

/// The statements both clients send for `script`; the test fails where they differ. (A
/// statement of hints and comments alone, sent by the `mysql` client, is an empty query to
/// the server.)
fn client_statements(script: &str) -> Vec<String> {
    let mut mysql = client_statements_of(script, true);
    mysql.retain(|s| !only_comments(s));
    assert_eq!(mysql, client_statements_of(script, false), "{script}");
    mysql
}

/// Whether `s` holds nothing but `/* */` comments (hints among them, not `/*! */` code) and
/// blanks.
fn only_comments(s: &str) -> bool {
    let mut rest = s.trim();
    while let Some(hint) = rest.strip_prefix("/*") {
        if hint.starts_with('!') || hint.starts_with("M!") {
            return false;
        }
        let Some(end) = hint.find("*/") else {
            return false;
        };
        rest = hint[end + 2..].trim();
    }
    rest.is_empty()
}

/// Whether `out` is a `-- rdsaudit:` comment saying `why`, and nothing else.
fn not_run(out: &str, why: &str) -> bool {
    out.starts_with(&format!("-- rdsaudit: {why}")) && out.matches('\n').count() == 1
}

#[test]
fn a_compound_statement_is_sent_whole() {
    let cases = [
        // review8's f16: the server ran IF 1=0, nothing was dropped.
        "BEGIN NOT ATOMIC IF 1=0 THEN SELECT 1; DROP TABLE t; END IF; END",
        "CREATE PROCEDURE p() BEGIN UPDATE a SET x=1; DELETE FROM t; END;",
        "CREATE TRIGGER tr BEFORE INSERT ON t FOR EACH ROW BEGIN SET @a=1; SET @b=2; END",
        "SELECT 1; SELECT \\'$$ // ; \\' -- note\\nFROM dual /*!; */",
        "SELECT 1/*!50000 ; DROP TABLE t */",
        "SELECT \\'x$\\' ; SELECT 2 /* $$$ //  */",
    ];
    for sql in cases {
        let (out, sent) = replayed(&query("db", sql, 0));
        assert!(out.starts_with("DELIMITER "), "{out}");
        assert!(out.ends_with("\nDELIMITER ;\n"), "{out}");
        let mut want = Vec::new();
        let text = crate::parse_line(&query("db", sql, 0))
            .unwrap()
            .object
            .text()
            .into_owned();
        one_line(text.trim().as_bytes(), &mut want).unwrap();
        assert_eq!(sent, [String::from_utf8(want).unwrap()], "{out}");
    }
    // A `;` at the end, or in strings, names and comments, needs no delimiter.
    for sql in [
        "SELECT 1;",
        "SELECT \\';\\', `a;b` /* ; */ -- ;",
        "SELECT 1; /* done */",
    ] {
        let (out, sent) = replayed(&query("db", sql, 0));
        assert!(!out.contains("DELIMITER"), "{out}");
        assert_eq!(sent.len(), 1, "{out}");
    }
}

#[test]
fn the_delimiter_occurs_nowhere_in_the_statement() {
    let busy = "SELECT \\'$$ $$$ // /// ;\\'; SELECT 1";
    let (out, sent) = replayed(&query("", busy, 0));
    assert!(out.starts_with("DELIMITER $$$$\n"), "{out}");
    assert_eq!(sent.len(), 1, "{out}");
    // Every run the client takes (15 bytes at most) is in the text: not written as SQL.
    let full = format!(
        "SELECT \\'{}{}\\'; SELECT 1",
        "$".repeat(15),
        "/".repeat(15)
    );
    let (out, sent) = replayed(&query("", &full, 0));
    assert!(
        not_run(&out, "not written as SQL, it holds every delimiter"),
        "{out}"
    );
    assert!(sent.is_empty());
}

#[test]
fn delimiter_lines_carry_the_event_id() {
    let line = query("db", "BEGIN NOT ATOMIC SELECT 1; END", 0);
    let mut e = crate::parse_line(&line).unwrap();
    e.provenance.event_id = Some("123");
    let mut out = Vec::new();
    SqlWriter::piece().write(&e, &mut out);
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "DELIMITER $$ -- event_id=123\n\
         BEGIN NOT ATOMIC SELECT 1; END $$ -- event_id=123\n\
         DELIMITER ; -- event_id=123\n"
    );
}

#[test]
fn a_statement_at_the_log_limit_is_not_run() {
    // review8's f18: `DELETE /*...*/ FROM orders WHERE id = 5`, cut right before its WHERE.
    let sql = format!("DELETE /*{}*/ FROM orders", "x".repeat(1024 - 9 - 14));
    assert_eq!(sql.len(), DEFAULT_QUERY_LOG_LIMIT);
    let (out, sent) = replayed(&query("shop", &sql, 0));
    assert!(
        not_run(
            &out,
            "not run, may be cut at the audit log limit (1024 bytes): DELETE /*"
        ),
        "{out:.80}"
    );
    assert!(sent.is_empty());
    // One byte short of the limit is a cut too (the plugin keeps a two-byte escape whole);
    // two bytes short is not. (Shortened in the comment: a cut statement that does not start
    // as one on rows, `ELETE ...`, may set `sql_mode` past the cut, and is another note.)
    let shorter = |n: usize| format!("DELETE /*{}*/ FROM orders", "x".repeat(1024 - 9 - 14 - n));
    let (out, _) = replayed(&query("shop", &shorter(1), 0));
    assert!(
        out.starts_with("-- rdsaudit: not run, may be cut"),
        "{out:.80}"
    );
    let (out, sent) = replayed(&query("shop", &shorter(2), 0));
    assert!(!out.starts_with("-- "), "{out:.80}");
    assert_eq!(sent.len(), 1);
    // No USE for it: the next statement's database is written.
    let mut writer = SqlWriter::new();
    let mut out = Vec::new();
    writer.write(
        &crate::parse_line(&query("shop", &sql, 0)).unwrap(),
        &mut out,
    );
    assert_eq!(writer.database(), None);
}

#[test]
fn load_local_and_placeholders_are_not_run() {
    let local = "not run, LOAD ... LOCAL would send the replaying machine's file";
    let prepared = "not run, a prepared statement (its parameters are not in the audit log)";
    for (sql, why) in [
        (
            "LOAD DATA LOCAL INFILE \\'/etc/passwd\\' INTO TABLE t",
            local,
        ),
        (
            "load data low_priority local infile \\'x\\' into table t",
            local,
        ),
        (
            "LOAD /* a */ XML\\nCONCURRENT LOCAL INFILE \\'x\\' INTO TABLE t",
            local,
        ),
        ("LOAD DATA /*!LOCAL*/ INFILE \\'x\\' INTO TABLE t", local),
        ("INSERT INTO t1 (s) VALUES (?)", prepared),
        ("SELECT ?, s FROM t1 WHERE id = ?", prepared),
        ("SELECT 1 /*!50000 + ? */", prepared),
    ] {
        let (out, sent) = replayed(&query("db", sql, 0));
        assert!(not_run(&out, why), "{sql}: {out}");
        assert!(sent.is_empty(), "{sql}");
    }
    for sql in [
        "LOAD DATA INFILE \\'/srv/x.csv\\' INTO TABLE t",
        "SELECT \\'LOAD DATA LOCAL\\', `local` FROM t",
        "SELECT load, local FROM t",
        "PREPARE st FROM \\'SELECT ? AS x\\'",
        "SELECT \\'?\\', `?` /* ? */ -- ?",
    ] {
        let (out, sent) = replayed(&query("db", sql, 0));
        assert!(!out.starts_with("-- "), "{sql}: {out}");
        assert_eq!(sent.len(), 1, "{sql}");
    }
}

#[test]
fn a_backslash_command_is_never_written() {
    // `/*!99999 */` holds code the server skips (retcode 0) but the client reads: `\!` runs
    // a shell command on the replaying machine (checked with MariaDB 10.11's client).
    for sql in [
        "SELECT 3 /*!99999 \\\\! touch /tmp/pwn */",
        "SELECT 2 /*M! \\\\! touch /tmp/pwn */",
    ] {
        let (out, sent) = replayed(&query("db", sql, 0));
        assert!(
            not_run(&out, "not written as SQL, a backslash outside strings"),
            "{out}"
        );
        assert!(sent.is_empty());
    }
    let (out, sent) = replayed(&query("db", "SELECT \\\\N, \\'\\\\!\\' /* \\\\! */", 0));
    assert_eq!(out, "SELECT \\N, '\\!' /* \\! */;\n");
    assert_eq!(sent.len(), 1);
}

#[test]
fn every_corpus_statement_is_one_client_statement() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../corpus/mariadb");
    let (mut statements, mut delimited) = (0, 0);
    for name in [
        "audit-full.log",
        "audit-hostile.log",
        "audit-limit1024.log",
        "audit-semantics.log",
        "audit-review3-forgeries.log",
        "audit-review29-replay.log",
    ] {
        let input = std::fs::read(format!("{dir}/{name}")).unwrap();
        let mut sink = |e: &AuditEvent<'_>| {
            let mut out = Vec::new();
            if !SqlWriter::piece().write(e, &mut out) {
                return;
            }
            let out = String::from_utf8_lossy(&out).into_owned();
            let sent = client_statements(&out);
            // One statement, none for a comment line (or a statement of comments only).
            assert!(sent.len() <= 1, "{name}: {out}");
            assert!(!out.starts_with("-- ") || sent.is_empty(), "{name}: {out}");
            assert!(
                !out.starts_with("DELIMITER") || sent.len() == 1,
                "{name}: {out}"
            );
            statements += sent.len();
            delimited += usize::from(out.starts_with("DELIMITER"));
        };
        crate::Decoder::new().decode(&input, &mut sink).unwrap();
    }
    assert!(statements > 100, "{statements}");
    assert!(delimited > 0, "the corpus holds routines with bodies");
}

proptest! {
    /// Whatever the statement holds, the client sends it as one statement, or not at all.
    #[test]
    fn any_statement_is_one_client_statement_or_a_comment(tokens in statement()) {
        let written: String = tokens.iter().map(|t| t.written.as_str()).collect();
        let escaped = written.replace('\\', "\\\\").replace('\'', "\\'").replace('\n', "\\n").replace('\r', "\\r");
        let (out, sent) = replayed(&query("db", &escaped, 0));
        prop_assert!(sent.len() <= 1, "{}", out);
        if out.starts_with("-- ") {
            prop_assert!(sent.is_empty(), "{}", out);
        }
    }
}

/// Statements recorded by the session-29 review on MariaDB 10.11
/// (`corpus/mariadb/audit-review29-replay.log`): `/*!` inside `/* */`, `-- ` and `#` comments,
/// a NUL in a string and in a refused statement, invalid UTF-8. Read by the client, the
/// whole output sends every statement line it holds, each whole and alone: a `/*!` copied
/// into a comment made the client skip the comment's end, drop the statements after it and
/// run a `DROP TABLE` held in a later statement's string.
#[test]
fn a_comment_never_swallows_the_statements_after_it() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../corpus/mariadb/audit-review29-replay.log"
    );
    let input = std::fs::read(path).unwrap();
    let (mut writer, mut out) = (SqlWriter::new(), Vec::new());
    let mut sink = |e: &AuditEvent<'_>| {
        writer.write(e, &mut out);
    };
    crate::Decoder::new().decode(&input, &mut sink).unwrap();
    let script = String::from_utf8(out).unwrap();
    let lines: Vec<String> = script
        .lines()
        .filter(|l| !l.starts_with("-- "))
        .map(|l| l.strip_suffix(';').unwrap_or(l).trim().to_owned())
        // A statement of one comment is not sent.
        .filter(|l| !(l.starts_with("/*") && l.ends_with("*/") && l.matches("*/").count() == 1))
        .collect();
    assert_eq!(client_statements(&script), lines, "{script}");
    assert!(lines.contains(&"SELECT '*/; DROP TABLE shop.victim; -- '".to_owned()));
    assert!(
        lines.contains(&"SELECT 1 /* / *! */".to_owned()),
        "{script}"
    );
    // A NUL is `\\0` in a string and in a comment line; invalid UTF-8 is a comment.
    assert!(script.contains("\\0"), "{script}");
    assert!(!script.contains('\0'));
    assert!(script.contains("not valid UTF-8"), "{script}");
}

/// Recorded by the session-29 review (`corpus/mariadb/audit-review29-session.log`): sessions
/// that `SET sql_mode='ANSI_QUOTES'`, `'NO_BACKSLASH_ESCAPES'` and `NAMES gbk`, then run a
/// `DELETE ... -- ` + newline + `LIMIT 0` that deleted no row on the server, and every row
/// when flattened by the default reading and replayed after the `SET`. From the first such
/// `SET` on, no line is runnable, written whole or in pieces joined (one piece per event, as
/// the CLI's chunks may be).
#[test]
fn no_statement_after_a_set_that_changes_reading_is_run() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../corpus/mariadb/audit-review29-session.log"
    );
    let input = std::fs::read(path).unwrap();
    let (mut whole, mut writer) = (Vec::new(), SqlWriter::new());
    let (mut joined, mut joiner) = (Vec::new(), Joiner::default());
    let mut sink = |e: &AuditEvent<'_>| {
        writer.write(e, &mut whole);
        let (mut piece, mut bytes) = (SqlWriter::piece(), Vec::new());
        piece.write(e, &mut bytes);
        joiner.join(&piece, &bytes, &mut joined).unwrap();
    };
    crate::Decoder::new().decode(&input, &mut sink).unwrap();
    for out in [whole, joined] {
        let out = String::from_utf8(out).unwrap();
        let runnable: Vec<&str> = out.lines().filter(|l| !l.starts_with("-- ")).collect();
        assert!(runnable.is_empty(), "{out}");
        assert_eq!(out.matches("DELETE FROM shop.t").count(), 3, "{out}");
        assert!(client_statements(&out).is_empty());
    }
}

/// Recorded on MariaDB 10.11 with `server_audit_query_log_limit=1024` (session 30,
/// `crates/rdsaudit-cli/tests/recorded/review30_set_past_the_limit.log`): `SET @pad='<1100
/// bytes>', sql_mode='ANSI_QUOTES'` is logged cut inside the pad, before `sql_mode`; the
/// `DELETE FROM shop.t WHERE "v" = 'v'` after it deleted no row on the server, and every row
/// replayed (the cut `SET` was a "may be cut" comment, which started no taint). A statement
/// at the limit that does not start as one on rows now starts it. Failed before.
#[test]
fn a_statement_cut_before_what_it_sets_comments_out_the_lines_after_it() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../rdsaudit-cli/tests/recorded/review30_set_past_the_limit.log"
    );
    let input = std::fs::read(path).unwrap();
    let (mut writer, mut out) = (SqlWriter::new(), Vec::new());
    let mut sink = |e: &AuditEvent<'_>| {
        writer.write(e, &mut out);
        if e.operation == Operation::Query {
            assert!(changes_reading(e, 1024) == e.object.raw().starts_with(b"SET"));
        }
    };
    crate::Decoder::new().decode(&input, &mut sink).unwrap();
    let out = String::from_utf8(out).unwrap();
    assert!(out.lines().all(|l| l.starts_with("-- ")), "{out}");
    assert!(out.contains("may be cut at the audit log limit (1024 bytes) before what it sets"));
    assert!(
        out.contains(r#"DELETE FROM shop.t WHERE "v" = 'v'"#),
        "{out}"
    );
    // Below the limit a `SET @pad=...` sets nothing that changes reading.
    let short =
        crate::parse_line(br"20240323 13:36:08,vm,app,10.0.0.1,5,7,QUERY,shop,'SET @pad=\'p\'',0")
            .unwrap();
    assert!(!changes_reading(&short, 1024));
}

/// A flagged line whose own reading is the `SET` (a raw name lets the line read another way)
/// is its comment, and so is one with unlisted readings whose record names `sql_mode` (an
/// unlisted reading may set it): the lines after both are comments.
#[test]
fn a_flagged_line_that_may_set_the_mode_comments_out_the_lines_after_it() {
    let own = crate::parse_line(
        br"20240323 13:36:08,srv,mal,h,1,2,QUERY,shop,'SELECT 1',0,h,1,2,QUERY,shop,'SET NAMES gbk',0",
    )
    .unwrap();
    assert!(own.ambiguity.is_ambiguous());
    assert!(changes_reading(&own, 1024));
    // Review 5's forgery: eve's database name holds a whole line; eve's own record (unlisted)
    // names `sql_mode` here.
    let forged = b"20250101 00:00:01,srv,eve,10.0.0.9,7,12,QUERY,x\n\
,u,0\n\
20241231 23:59:59,srv,admin,10.0.0.1,9,9,QUERY,mysql,'SELECT @@sql_mode',0\n\
20250101 00:00:02,srv,eve,10.0.0.9,7,13,QUERY,,'SELECT 1',0\n\
20250101 00:00:03,srv,bob,10.0.0.2,8,14,QUERY,shop,'DELETE FROM t WHERE \"v\" = \\'v\\'',0\n";
    let (mut writer, mut out) = (SqlWriter::new(), Vec::new());
    let mut sink = |e: &AuditEvent<'_>| {
        writer.write(e, &mut out);
    };
    crate::Decoder::new().decode(forged, &mut sink).unwrap();
    let out = String::from_utf8(out).unwrap();
    assert!(out.lines().all(|l| l.starts_with("-- ")), "{out}");
    assert!(
        out.starts_with(&format!(
            "-- rdsaudit: {}, in a reading of this ambiguous line (",
            session::THE_SET_WHY
        )),
        "{out}"
    );
}
