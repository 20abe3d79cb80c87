//! The inputs of the benches: the recorded real corpus, lines of chosen lengths, and (with
//! `RDSAUDIT_BENCH_QUICK=1`) smaller versions of everything so a run takes about a minute.

use std::path::Path;

/// Set `RDSAUDIT_BENCH_QUICK=1` for a smoke run: smaller corpora, fewer samples.
pub fn quick() -> bool {
    std::env::var_os("RDSAUDIT_BENCH_QUICK").is_some_and(|v| v != "0" && !v.is_empty())
}

fn corpus_file(relative: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(relative);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The lines of a recorded `server_audit` log, as CloudWatch would carry them (lossy UTF-8:
/// the regex baseline needs `&str`, and every contender gets the same bytes).
pub fn recorded_lines(relative: &str) -> Vec<String> {
    let log = corpus_file(relative);
    rdsaudit::text::records(&log)
        .map(|r| String::from_utf8_lossy(r.bytes).into_owned())
        .collect()
}

/// A QUERY line of about `len` bytes (never more) holding a multi-row INSERT, as the plugin
/// writes it: every `'` of the string literals escaped as `\'`, commas inside and between them.
pub fn insert_line(len: usize) -> String {
    const HEAD: &str = "20240323 13:36:08,ip-172-17-4-137,app,10.0.1.5,4,149868,QUERY,shop,'";
    const TAIL: &str = "',0,,";
    let mut escaped = Vec::new();
    let mut row = Vec::new();
    for id in 1.. {
        let sql = if id == 1 { "INSERT INTO orders (id, customer, note) VALUES (" } else { ", (" };
        let values = format!("{sql}{id}, 'customer {id}', 'gift, wrapped; ship in {} days')", id % 7);
        row.clear();
        rdsaudit::unescape::escape_like_plugin(values.as_bytes(), &mut row);
        if HEAD.len() + escaped.len() + row.len() + TAIL.len() > len {
            break;
        }
        escaped.extend_from_slice(&row);
    }
    let line = format!("{HEAD}{}{TAIL}", String::from_utf8_lossy(&escaped));
    assert!(line.len() <= len && line.len() > len * 9 / 10, "{} for {len}", line.len());
    line
}

/// Total length in bytes, for `Throughput::Bytes`.
pub fn total_len(items: &[impl AsRef<[u8]>]) -> u64 {
    items.iter().map(|i| i.as_ref().len() as u64).sum()
}
