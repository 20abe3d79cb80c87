//! The naive baseline: what the usual audit-log Lambda does, ported faithfully to Rust.
//!
//! For each Kinesis record: base64 -> gunzip (`flate2`) -> `serde_json::Value` -> for each
//! `logEvents[].message`, split the line on commas with the lookahead regex
//! `,(?=(?:[^']*'[^']*')*[^']*$)` ("a comma followed by an even number of quotes"), take
//! field 8, trim `'` and replace `\'` with `'`.
//!
//! It is kept as written in the wild, bugs included: the regex counts the `'` of an escaped
//! `\'` as a quote, so a statement holding `\'` next to a comma is split in the wrong place,
//! and only `\'` is unescaped (`\\`, `\n`, `\t` stay as written). `tests/naive_baseline.rs`
//! pins down both behaviours; the benches report how often it agrees with our parser.
//!
//! Shared by `benches/pipeline` and `tests/naive_baseline.rs` through `#[path]`.

use std::io::Read as _;
use std::sync::LazyLock;

use base64::Engine as _;

/// The lookahead regex of the usual Lambda, compiled once per process as it would be at
/// module load.
static FIELD_SEPARATOR: LazyLock<fancy_regex::Regex> = LazyLock::new(|| {
    fancy_regex::Regex::new(r",(?=(?:[^']*'[^']*')*[^']*$)")
        .expect("the baseline regex is a constant")
});

/// Index of the object (SQL text or table name) among the comma-separated fields.
const OBJECT_FIELD: usize = 8;

pub type Error = Box<dyn std::error::Error + Send + Sync>;

/// The fields of one audit line as the lookahead regex splits it.
pub fn split_fields(line: &str) -> Result<Vec<&str>, Error> {
    Ok(FIELD_SEPARATOR.split(line).collect::<Result<Vec<_>, _>>()?)
}

/// Field 8, with quotes trimmed and `\'` turned into `'`; `None` when the line has fewer than
/// nine fields.
pub fn object(line: &str) -> Result<Option<String>, Error> {
    let fields = split_fields(line)?;
    Ok(fields
        .get(OBJECT_FIELD)
        .map(|field| field.trim_matches('\'').replace("\\'", "'")))
}

/// One Kinesis record's `data` (base64 of a gzip CloudWatch Logs payload) to the objects of
/// its log events, in order. A `CONTROL_MESSAGE` yields nothing.
pub fn record_objects(data: &str) -> Result<Vec<Option<String>>, Error> {
    let compressed = base64::engine::general_purpose::STANDARD.decode(data)?;
    let mut json = Vec::new();
    flate2::read::GzDecoder::new(compressed.as_slice()).read_to_end(&mut json)?;
    let payload: serde_json::Value = serde_json::from_slice(&json)?;
    if payload["messageType"] != "DATA_MESSAGE" {
        return Ok(Vec::new());
    }
    let events = payload["logEvents"]
        .as_array()
        .ok_or("logEvents is not an array")?;
    events
        .iter()
        .map(|event| object(event["message"].as_str().ok_or("message is not a string")?))
        .collect()
}
