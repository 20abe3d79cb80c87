//! The reference splitter: every reading of a line by exhaustive search, byte at a time, with
//! no search from the right, no multi-pattern search and no counting shortcuts. It tries
//! every comma as the end of the user, every comma as the end of the database, every quote
//! as the end of a statement and every comma as the end of a table, and keeps what the
//! grammar of [`super::dialect`] accepts. Cubic on hostile lines; the property tests check
//! that the scanner of [`crate::audit::scanner`] finds exactly the same readings.

use super::dialect::{self, Dialect, OpClass, TailForm, TimestampForm};
use super::scanner::{RawLine, trim_newline};
use crate::audit::event::Operation;

/// Every reading of `line` whose numbers are in range, in no particular order.
pub fn splits(line: &[u8]) -> Vec<RawLine<'_>> {
    let line = trim_newline(line);
    let mut out = Vec::new();
    let Some((ts_len, form)) = dialect::timestamp_shape(line) else {
        return out;
    };
    let (timestamp, rest) = line.split_at(ts_len);
    if super::timestamp::parse_timestamp(timestamp, form).is_err() {
        return out;
    }
    let rest = rest.get(1..).unwrap_or_default();
    let Some(sh_len) = rest.iter().position(|&b| b == b',') else {
        return out;
    };
    let serverhost = rest.get(..sh_len).unwrap_or_default();
    if !dialect::is_server_host(serverhost) {
        return out;
    }
    let middle = rest.get(sh_len + 1..).unwrap_or_default();
    for (p, _) in middle.iter().enumerate().filter(|(_, b)| **b == b',') {
        let Some(head) = header_at(middle, p) else {
            continue;
        };
        for mut s in tails(form, &head, middle) {
            s.timestamp = timestamp;
            s.serverhost = serverhost;
            if in_range(&s) {
                out.push(s);
            }
        }
    }
    out
}

/// User, host, ids, operation and where the rest starts, for the user ending at comma `p`.
struct Head<'a> {
    username: &'a [u8],
    host: &'a [u8],
    connection_id: &'a [u8],
    query_id: &'a [u8],
    operation: &'a str,
    class: OpClass,
    rest: usize,
}

fn header_at(middle: &[u8], p: usize) -> Option<Head<'_>> {
    let mut fields = Vec::new();
    let mut start = p + 1;
    for i in p + 1..middle.len() {
        if middle.get(i) == Some(&b',') {
            fields.push(middle.get(start..i)?);
            start = i + 1;
            if fields.len() == 4 {
                break;
            }
        }
    }
    let [host, cid, qid, op] = fields.as_slice() else {
        return None;
    };
    let digits = |f: &[u8]| !f.is_empty() && f.iter().all(u8::is_ascii_digit);
    if !dialect::is_host(host) || !digits(cid) || !digits(qid) {
        return None;
    }
    let operation = std::str::from_utf8(op).ok()?;
    let class = OpClass::of(&Operation::from_token(operation))?;
    Some(Head {
        username: middle.get(..p)?,
        host,
        connection_id: cid,
        query_id: qid,
        operation,
        class,
        rest: start,
    })
}

/// Every tail after `head` the grammar accepts.
fn tails<'a>(form: TimestampForm, head: &Head<'a>, middle: &'a [u8]) -> Vec<RawLine<'a>> {
    let mut out = Vec::new();
    let rest = middle.get(head.rest..).unwrap_or_default();
    let commas: Vec<usize> = (0..rest.len())
        .filter(|&i| rest.get(i) == Some(&b','))
        .collect();
    let base = |database, object, quoted, retcode, extra, tail| RawLine {
        timestamp: &[],
        serverhost: &[],
        username: head.username,
        host: head.host,
        connection_id: head.connection_id,
        query_id: head.query_id,
        operation: head.operation,
        database,
        object,
        quoted,
        retcode,
        extra,
        dialect: Dialect::of(form, tail),
    };
    let field = |a: usize, b: usize| rest.get(a..b).unwrap_or_default();
    for &d in &commas {
        let database = field(0, d);
        match head.class {
            OpClass::Query => {
                if rest.get(d + 1) != Some(&b'\'') {
                    continue;
                }
                for q in d + 2..rest.len() {
                    if rest.get(q) != Some(&b'\'') || has_unescaped_quote(field(d + 2, q)) {
                        continue;
                    }
                    let after = field(q + 1, rest.len());
                    if let Some((retcode, extra, tail)) = query_suffix(form, after) {
                        out.push(base(database, field(d + 2, q), true, retcode, extra, tail));
                    }
                }
            }
            OpClass::Connection => {
                let after = field(d + 1, rest.len());
                let f: Vec<&[u8]> = after.split(|&b| b == b',').collect();
                match f.as_slice() {
                    [obj, ret]
                        if dialect::is_connection_object(obj) && dialect::is_integer(ret) =>
                    {
                        out.push(base(database, obj, false, ret, None, TailForm::Ten));
                    }
                    [obj, ret, kind]
                        if form == TimestampForm::Civil
                            && obj.is_empty()
                            && dialect::is_integer(ret)
                            && dialect::is_connection_type(kind) =>
                    {
                        let extra = after.get(after.len() - kind.len()..);
                        out.push(base(database, obj, false, ret, extra, TailForm::RdsFork));
                    }
                    _ => {}
                }
            }
            OpClass::Table => {
                for &e in commas.iter().filter(|&&e| e > d + 1) {
                    let ret = field(e + 1, rest.len());
                    if !ret.contains(&b',') && dialect::table_retcode_ok(form, ret) {
                        out.push(base(
                            database,
                            field(d + 1, e),
                            false,
                            ret,
                            None,
                            TailForm::Ten,
                        ));
                    }
                }
            }
        }
    }
    out
}

/// `,<ret>` or, with a civil timestamp, `,<ret>,,`.
/// Return code, extra fields and tail form of a QUERY line's end.
type QuerySuffix<'a> = (&'a [u8], Option<&'a [u8]>, TailForm);

fn query_suffix(form: TimestampForm, after: &[u8]) -> Option<QuerySuffix<'_>> {
    let after = after.strip_prefix(b",")?;
    if dialect::is_integer(after) {
        return Some((after, None, TailForm::Ten));
    }
    let ret = after.strip_suffix(b",,")?;
    (form == TimestampForm::Civil && dialect::is_integer(ret))
        .then(|| (ret, after.get(ret.len() + 1..), TailForm::RdsFork))
}

/// A byte-at-a-time walk: a raw line break is stray (the plugin escapes them); otherwise a
/// backslash escapes the next byte, and a quote not escaped is stray.
fn has_unescaped_quote(body: &[u8]) -> bool {
    let mut escaped = false;
    for &b in body {
        if b == b'\n' || b == b'\r' {
            return true;
        }
        if escaped {
            escaped = false;
        } else if b == b'\\' {
            escaped = true;
        } else if b == b'\'' {
            return true;
        }
    }
    false
}

fn in_range(s: &RawLine<'_>) -> bool {
    let text = |b: &[u8]| std::str::from_utf8(b).ok().map(str::to_owned);
    let u = |b: &[u8]| text(b).and_then(|t| t.parse::<u64>().ok()).is_some();
    let ret_ok = s.retcode.is_empty()
        || text(s.retcode)
            .and_then(|t| t.parse::<i64>().ok())
            .is_some();
    u(s.connection_id) && u(s.query_id) && ret_ok
}
