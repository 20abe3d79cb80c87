//! The statement fingerprint: percona-toolkit's normal form (`pt-fingerprint`,
//! `QueryRewriter::fingerprint` of percona-toolkit 3.2.1), so groups match what DBAs get from
//! `pt-query-digest`, and its digest (pt-query-digest's `Query ID`).
//!
//! The normal form is defined by a sequence of Perl substitutions. They are ported here one by
//! one, in the same order, each as one linear pass (the `regex` crate, whose leftmost-first
//! matching gives the same matches as Perl's backtracking for these patterns without
//! back-references); the two passes Perl writes with a back-reference or `\G` (UNION
//! collapsing, `ASC` removal after `ORDER BY`) are written out by hand. Every quirk is kept on
//! purpose, because a group must match pt-query-digest's: digits inside names become `?`
//! (`tab1` → `ta?`: `b?` is folded too), `0x1F` becomes `?f`, `'it''s'` becomes `??`, a
//! `-- comment` is only removed when no quote follows it on its line, `SELECT a--b` loses
//! `--b`, and a `CALL p(...)` is reduced to `call p`.
//!
//! ```
//! use rdsaudit_sql::fingerprint::{digest, fingerprint};
//!
//! let fp = fingerprint(b"INSERT INTO orders (id, note) VALUES (1, 'a,b'), (2, 'c')");
//! assert_eq!(fp, "insert into orders (id, note) values(?+)");
//! assert_eq!(fingerprint(b"DELETE FROM audit_trail WHERE id < 42 /* nightly */"),
//!            "delete from audit_trail where id < ? ");
//! assert_eq!(digest(&fp).len(), 32);
//! ```
//!
//! Deliberate deviations from pt-fingerprint (checked by `tests/pt_fingerprint.rs`):
//! - The result is text: bytes that are not UTF-8 (latin1 or `_binary` literals left outside
//!   quotes, a cut multi-byte character) become U+FFFD. pt-fingerprint writes the raw bytes.
//! - UNION collapsing spends at most [`UNION_BUDGET`] byte comparisons per input byte;
//!   pt-fingerprint's backtracking is cubic on pathological `select ... union` chains, where
//!   this port stops collapsing instead (no real statement comes near the budget).

use std::borrow::Cow;
use std::sync::LazyLock;

use md5::{Digest as _, Md5};
use regex::bytes::{Captures, Regex};

/// Byte comparisons allowed per input byte while collapsing UNIONs (see the module docs).
pub const UNION_BUDGET: usize = 64;

/// The percona-toolkit fingerprint of `sql` (the unescaped object of a QUERY event).
pub fn fingerprint(sql: &[u8]) -> String {
    match fingerprint_bytes(sql) {
        Cow::Borrowed(b) => String::from_utf8_lossy(b).into_owned(),
        Cow::Owned(v) => String::from_utf8(v)
            .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()),
    }
}

/// pt-query-digest's `Query ID` of a fingerprint: its MD5, 32 upper-case hex digits
/// (`make_checksum` in percona-toolkit 3.x; reports print it after `0x`).
pub fn digest(fingerprint: &str) -> String {
    let sum = Md5::digest(fingerprint.as_bytes());
    let mut out = String::with_capacity(32);
    for b in sum {
        out.push(hex_digit(b >> 4));
        out.push(hex_digit(b & 0xf));
    }
    out
}

fn hex_digit(n: u8) -> char {
    char::from(
        b"0123456789ABCDEF"
            .get(usize::from(n))
            .copied()
            .unwrap_or(b'0'),
    )
}

/// A compiled pattern. The patterns are constants, all compiled by the unit tests.
#[allow(clippy::expect_used)]
fn re(pattern: &str) -> Regex {
    Regex::new(pattern).expect("a constant pattern")
}

macro_rules! pattern {
    ($name:ident, $re:expr) => {
        static $name: LazyLock<Regex> = LazyLock::new(|| re($re));
    };
}

// The patterns of QueryRewriter::fingerprint, in its order; `(?-u)` gives Perl's byte-string
// semantics (ASCII `\s`, `\w`, `\b`).
pattern!(
    MYSQLDUMP,
    r"(?-u)\ASELECT /\*!40001 SQL_NO_CACHE \*/ \* FROM `"
);
pattern!(TOOLKIT, r"(?-u)/\*\w+\.\w+:[0-9]/[0-9]\*/");
pattern!(CALL, r"(?i-u)\A\s*(call\s+\S+)\(");
pattern!(
    MULTI_INSERT,
    r"(?is-u)\A((?:INSERT|REPLACE)(?: IGNORE)?\s+INTO.+?VALUES\s*\(.*?\))\s*,\s*\("
);
pattern!(BLOCK_COMMENT, r"(?s-u)/\*[^!].*?\*/");
pattern!(LINE_COMMENT, r#"(?-u)(?:--|#)[^'"\r\n]*"#);
pattern!(USE, r"(?i-u)\Ause \S+(\n?)\z");
pattern!(ESCAPED_QUOTE, r#"(?-u)\\["']"#);
pattern!(DOUBLE_QUOTED, r#"(?s-u)".*?""#);
pattern!(SINGLE_QUOTED, r"(?s-u)'.*?'");
pattern!(NUMBER, r"(?-u)[0-9+-][0-9a-f.xb+-]*");
pattern!(NUMBER_PREFIX, r"(?-u)[xb.+-]\?");
pattern!(NULL, r"(?-u)\bnull\b");
pattern!(LIST, r"(?-u)\b(in|values?)(?:[\s,]*\([\s?,]*\))+");
pattern!(LIMIT, r"(?-u)\blimit \?(?:, ?\?| offset \?)?");
pattern!(ORDER_BY, r"(?i-u)\bORDER BY ");

fn fingerprint_bytes(query: &[u8]) -> Cow<'_, [u8]> {
    if MYSQLDUMP.is_match(query) {
        return Cow::Borrowed(b"mysqldump");
    }
    if TOOLKIT.is_match(query) {
        return Cow::Borrowed(b"percona-toolkit");
    }
    if query.starts_with(b"administrator command: ") {
        return Cow::Borrowed(query);
    }
    if let Some(call) = CALL.captures(query).and_then(|c| c.get(1)) {
        return Cow::Owned(call.as_bytes().to_ascii_lowercase());
    }
    let query = MULTI_INSERT
        .captures(query)
        .and_then(|c| c.get(1))
        .map_or(query, |m| m.as_bytes());
    let q = BLOCK_COMMENT.replace_all(query, &b""[..]);
    let q = remove_line_comments(&q);
    if let Some(c) = USE.captures(&q) {
        let mut out = b"use ?".to_vec();
        out.extend_from_slice(c.get(1).map_or(&b""[..], |m| m.as_bytes()));
        return Cow::Owned(out);
    }
    let q = ESCAPED_QUOTE.replace_all(&q, &b""[..]).into_owned();
    let q = DOUBLE_QUOTED.replace_all(&q, &b"?"[..]).into_owned();
    let q = SINGLE_QUOTED.replace_all(&q, &b"?"[..]).into_owned();
    let q = NUMBER.replace_all(&q, &b"?"[..]).into_owned();
    let q = NUMBER_PREFIX.replace_all(&q, &b"?"[..]).into_owned();
    let leading = q.iter().position(|&b| !is_space(b)).unwrap_or(q.len());
    let mut q = squeeze_whitespace(chomp(q.get(leading..).unwrap_or_default()));
    q.make_ascii_lowercase();
    let q = NULL.replace_all(&q, &b"?"[..]).into_owned();
    let q = LIST
        .replace_all(&q, |c: &Captures<'_>| {
            let mut out = c.get(1).map_or(Vec::new(), |m| m.as_bytes().to_vec());
            out.extend_from_slice(b"(?+)");
            out
        })
        .into_owned();
    let q = collapse_unions(q);
    let q = LIMIT.replacen(&q, 1, &b"limit ?"[..]).into_owned();
    Cow::Owned(drop_asc_after_order_by(q))
}

/// `s/(?:--|#)[^'"\r\n]*(?=[\r\n]|\Z)//g`: the lookahead is checked by hand. When it fails,
/// no start before the end of that run can succeed either (the run stops at the same quote),
/// so the search goes on from there: linear where Perl is quadratic.
fn remove_line_comments(q: &[u8]) -> Cow<'_, [u8]> {
    let mut out: Option<Vec<u8>> = None;
    let mut copied = 0;
    let mut at = 0;
    while let Some(m) = LINE_COMMENT.find_at(q, at) {
        let next = q.get(m.end()).copied();
        if matches!(next, None | Some(b'\r' | b'\n')) {
            let buf = out.get_or_insert_with(|| Vec::with_capacity(q.len()));
            buf.extend_from_slice(q.get(copied..m.start()).unwrap_or_default());
            copied = m.end();
        }
        at = m.end().max(m.start() + 1);
    }
    match out {
        None => Cow::Borrowed(q),
        Some(mut buf) => {
            buf.extend_from_slice(q.get(copied..).unwrap_or_default());
            Cow::Owned(buf)
        }
    }
}

/// Perl's `chomp` with the default record separator: one trailing newline.
fn chomp(q: &[u8]) -> &[u8] {
    q.strip_suffix(b"\n").unwrap_or(q)
}

/// `tr[ \n\t\r\f][ ]s`: each run of these five bytes becomes one space.
fn squeeze_whitespace(q: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(q.len());
    for &b in q {
        if matches!(b, b' ' | b'\n' | b'\t' | b'\r' | b'\x0c') {
            // Every space already in `out` came from this set, so a space there ends a run.
            if out.last() != Some(&b' ') {
                out.push(b' ');
            }
        } else {
            out.push(b);
        }
    }
    out
}

/// Perl's `\s` on a byte string.
fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r')
}

fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// `s/\b(select\s.*?)(?:(\sunion(?:\sall)?)\s\1)+/$1 \/*repeat$2*\//xg` (the text has no
/// newline left, so `.` is any byte). For each `select` the lazy group ends before the first
/// ` union` whose repetition matches; the greedy `+` then takes every further repetition, and
/// `$2` is the last one's separator.
fn collapse_unions(q: Vec<u8>) -> Vec<u8> {
    if memchr::memmem::find(&q, b"union").is_none() {
        return q;
    }
    let unions: Vec<usize> = memchr::memmem::find_iter(&q, b"union")
        .filter(|&u| u > 0 && q.get(u - 1).is_some_and(|&b| is_space(b)))
        .map(|u| u - 1)
        .collect();
    let mut budget = q.len().saturating_mul(UNION_BUDGET);
    let mut out = Vec::with_capacity(q.len());
    let mut copied = 0;
    let mut at = 0;
    while let Some(found) = memchr::memmem::find(q.get(at..).unwrap_or_default(), b"select") {
        let start = at + found;
        let after = start + 6;
        let bounded = start == 0 || !q.get(start - 1).is_some_and(|&b| is_word(b));
        let spaced = q.get(after).is_some_and(|&b| is_space(b));
        let found = if bounded && spaced {
            union_match(&q, start, after + 1, &unions, &mut budget)
        } else {
            None
        };
        match found {
            Some((group_end, sep, end)) => {
                out.extend_from_slice(q.get(copied..group_end).unwrap_or_default());
                out.extend_from_slice(b" /*repeat");
                out.extend_from_slice(sep);
                out.extend_from_slice(b"*/");
                copied = end;
                at = end;
            }
            None => at = start + 1,
        }
        if budget == 0 {
            break;
        }
    }
    out.extend_from_slice(q.get(copied..).unwrap_or_default());
    out
}

/// For a `select` at `start` (its `\s` ends at `min_end`): the end of `$1`, the last
/// separator and the end of the whole match.
fn union_match<'q>(
    q: &'q [u8],
    start: usize,
    min_end: usize,
    unions: &[usize],
    budget: &mut usize,
) -> Option<(usize, &'q [u8], usize)> {
    let first = unions.partition_point(|&u| u < min_end);
    for &end in unions.get(first..).unwrap_or_default() {
        let group = q.get(start..end)?;
        let Some((sep, next)) = repetition(q, end, group, budget) else {
            if *budget == 0 {
                return None;
            }
            continue;
        };
        let (mut sep, mut next) = (sep, next);
        while let Some((s, n)) = repetition(q, next, group, budget) {
            (sep, next) = (s, n);
        }
        return Some((end, sep, next));
    }
    None
}

/// One `(\sunion(?:\sall)?)\s\1` at `at`: the separator and where the repetition ends.
fn repetition<'q>(
    q: &'q [u8],
    at: usize,
    group: &[u8],
    budget: &mut usize,
) -> Option<(&'q [u8], usize)> {
    let union_end = at + 6;
    let is_union = q.get(at).is_some_and(|&b| is_space(b)) && q.get(at + 1..union_end)? == b"union";
    if !is_union {
        return None;
    }
    let all_end = union_end + 4;
    let with_all = q.get(union_end).is_some_and(|&b| is_space(b))
        && q.get(union_end + 1..all_end) == Some(&b"all"[..]);
    let candidates = if with_all {
        [Some(all_end), Some(union_end)]
    } else {
        [Some(union_end), None]
    };
    for sep_end in candidates.into_iter().flatten() {
        *budget = budget.saturating_sub(group.len() + 1);
        let body = sep_end + 1;
        let repeated = q.get(sep_end).is_some_and(|&b| is_space(b))
            && q.get(body..body + group.len()) == Some(group);
        if repeated {
            return Some((q.get(at..sep_end)?, body + group.len()));
        }
        if *budget == 0 {
            return None;
        }
    }
    None
}

/// `if ($q =~ m/\bORDER BY /gi) { 1 while $q =~ s/\G(.+?)\s+ASC/$1/gi && pos $q }`: one
/// global pass from the end of the first `ORDER BY `, each match starting where the last one
/// ended, deleting `\s+asc` (no word boundary: `a ascii` loses ` asc`).
fn drop_asc_after_order_by(q: Vec<u8>) -> Vec<u8> {
    let Some(order) = ORDER_BY.find(&q) else {
        return q;
    };
    let mut out = Vec::with_capacity(q.len());
    out.extend_from_slice(q.get(..order.end()).unwrap_or_default());
    let mut at = order.end();
    while let Some((keep_end, match_end)) = next_asc(&q, at) {
        out.extend_from_slice(q.get(at..keep_end).unwrap_or_default());
        at = match_end;
    }
    out.extend_from_slice(q.get(at..).unwrap_or_default());
    out
}

/// The first `(.+?)\s+asc` at `at`: where `$1` ends and where `asc` ends. `.` is not `\n`.
fn next_asc(q: &[u8], at: usize) -> Option<(usize, usize)> {
    let mut k = at + 1;
    while k < q.len() {
        if q.get(k - 1) == Some(&b'\n') {
            return None;
        }
        if q.get(k).is_some_and(|&b| is_space(b)) {
            let run = q
                .get(k..)?
                .iter()
                .position(|&b| !is_space(b))
                .map_or(q.len(), |p| k + p);
            if q.get(run..run + 3)
                .is_some_and(|w| w.eq_ignore_ascii_case(b"asc"))
            {
                return Some((k, run + 3));
            }
        }
        k += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_compile() {
        for p in [
            &MYSQLDUMP,
            &TOOLKIT,
            &CALL,
            &MULTI_INSERT,
            &BLOCK_COMMENT,
            &LINE_COMMENT,
            &USE,
            &ESCAPED_QUOTE,
            &DOUBLE_QUOTED,
            &SINGLE_QUOTED,
            &NUMBER,
            &NUMBER_PREFIX,
            &NULL,
            &LIST,
            &LIMIT,
            &ORDER_BY,
        ] {
            assert!(!p.as_str().is_empty());
        }
    }

    #[test]
    fn percona_quirks_are_kept() {
        assert_eq!(
            fingerprint(
                b"select 0x1F, 'it''s', \"x\", t1 from tab1 where a-b=1 and c in (1, 2) or d in ()"
            ),
            "select ?f, ??, ?, t? from ta? where a?=? and c in(?+) or d in(?+)"
        );
        assert_eq!(fingerprint(b"CALL db.p(f(1))"), "call db.p(f");
        assert_eq!(fingerprint(b"use foo"), "use ?");
        assert_eq!(
            fingerprint(b"SELECT a FROM t UNION SELECT a FROM t UNION ALL SELECT a FROM t"),
            "select a from t /*repeat union all*/"
        );
        assert_eq!(
            fingerprint(b"select null, NULL, nullx from t order by ascii asc, b ASC limit 5, 10"),
            "select ?, ?, nullx from t order by ascii, b limit ?"
        );
    }

    #[test]
    fn a_huge_multi_row_insert_is_cut_at_its_first_row() {
        let mut sql = b"/* bulk */ INSERT INTO t (a, b) VALUES ".to_vec();
        for i in 0..200_000 {
            sql.extend_from_slice(format!("({i}, 'x{i}'),").as_bytes());
        }
        sql.extend_from_slice(b"(0, 'end')");
        assert_eq!(fingerprint(&sql), "insert into t (a, b) values(?+)");
    }

    #[test]
    fn digest_is_pt_query_digest_query_id() {
        // `perl -MDigest::MD5=md5_hex -e 'print uc md5_hex("select ?")'`
        assert_eq!(digest("select ?"), "1FE1379FE2A31B8D16219655761820A2");
    }
}
