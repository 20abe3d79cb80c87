//! The inputs of the benches: the recorded real corpus, synthetic batches from
//! `rdsaudit_synth` (the generator behind `rdsaudit gen`), and lines of chosen lengths.
//! `RDSAUDIT_BENCH_QUICK=1` shrinks them (see BENCHMARKS.md).

use std::path::Path;

use base64::Engine as _;
use rdsaudit::Dialect;
use rdsaudit::input::{Payload, SourceRecord};
use rdsaudit_synth::{Corpus, Spec};

/// Set `RDSAUDIT_BENCH_QUICK=1` for a smoke run: smaller corpora, fewer samples.
pub fn quick() -> bool {
    std::env::var_os("RDSAUDIT_BENCH_QUICK").is_some_and(|v| v != "0" && !v.is_empty())
}

fn corpus_file(relative: &str) -> Vec<u8> {
    let path = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../..")).join(relative);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The lines of a recorded `server_audit` log, as CloudWatch would carry them (lossy UTF-8:
/// the regex baseline needs `&str`, and every contender gets the same bytes).
pub fn recorded_lines(relative: &str) -> Vec<String> {
    let log = corpus_file(relative);
    rdsaudit::input::text::records(&log)
        .map(|r| String::from_utf8_lossy(r.bytes).into_owned())
        .collect()
}

/// A multi-row INSERT of at most `len` bytes once escaped, as the plugin writes it between
/// the quotes: every `'` of the string literals is `\'`, with commas inside and between them.
fn escaped_insert(len: usize) -> Vec<u8> {
    let mut escaped = Vec::new();
    let mut row = Vec::new();
    for id in 1.. {
        let sql = if id == 1 {
            "INSERT INTO orders (id, customer, note) VALUES ("
        } else {
            ", ("
        };
        let values = format!(
            "{sql}{id}, 'customer {id}', 'gift, wrapped; ship in {} days')",
            id % 7
        );
        row.clear();
        rdsaudit::audit::unescape::escape_like_plugin(values.as_bytes(), &mut row);
        if escaped.len() + row.len() > len {
            break;
        }
        escaped.extend_from_slice(&row);
    }
    escaped
}

/// An RDS for MySQL QUERY line of about `len` bytes (90% to 100%) holding a multi-row INSERT.
pub fn insert_line(len: usize) -> String {
    const HEAD: &str = "20240323 13:36:08,ip-172-17-4-137,app,10.0.1.5,4,149868,QUERY,shop,'";
    const TAIL: &str = "',0,,";
    let sql = escaped_insert(len - HEAD.len() - TAIL.len());
    let line = format!("{HEAD}{}{TAIL}", String::from_utf8_lossy(&sql));
    assert!(
        line.len() <= len && line.len() > len * 9 / 10,
        "{} for {len}",
        line.len()
    );
    line
}

/// Total length in bytes, for `Throughput::Bytes`.
pub fn total_len(items: &[impl AsRef<[u8]>]) -> u64 {
    items.iter().map(|i| i.as_ref().len() as u64).sum()
}

/// A batch of Kinesis records: the base64 `data` of each, as the Lambda receives it.
pub struct Batch {
    pub name: &'static str,
    pub data: Vec<String>,
}

impl Batch {
    /// The gzip payloads (base64 decoded).
    pub fn gzip(&self) -> Vec<Vec<u8>> {
        let engine = base64::engine::general_purpose::STANDARD;
        self.data
            .iter()
            .map(|d| engine.decode(d).expect("corpus base64"))
            .collect()
    }

    /// The CloudWatch Logs JSON payloads (decompressed).
    pub fn json(&self) -> Vec<Vec<u8>> {
        let mut inflater = rdsaudit::input::gzip::Inflater::new();
        self.gzip()
            .iter()
            .map(|gz| inflater.inflate(gz).expect("corpus gzip").bytes().to_vec())
            .collect()
    }

    /// Decompressed bytes: the unit of every `Throughput` in these benches.
    pub fn inflated_len(&self) -> u64 {
        total_len(&self.json())
    }

    pub fn records(&self) -> Vec<SourceRecord<'_>> {
        self.data
            .iter()
            .map(|d| SourceRecord::new(Payload::Base64(d.as_bytes())))
            .collect()
    }
}

/// The recorded real corpus: `corpus/kinesis/kinesis-event.json` (174 lines of
/// `audit-full.log`, a 156 KB statement among them, plus a control message). Quick mode uses
/// `awslogs-event.json` instead (the same workload cut at 1024 bytes), because the regex
/// baseline needs seconds for the 156 KB line.
pub fn recorded() -> Batch {
    if quick() {
        let event = json_file("corpus/kinesis/awslogs-event.json");
        let data = event["awslogs"]["data"]
            .as_str()
            .expect("awslogs.data")
            .to_owned();
        return Batch {
            name: "recorded-1024",
            data: vec![data],
        };
    }
    let event = json_file("corpus/kinesis/kinesis-event.json");
    let data = event["Records"]
        .as_array()
        .expect("Records")
        .iter()
        .map(|r| {
            r["kinesis"]["data"]
                .as_str()
                .expect("kinesis.data")
                .to_owned()
        })
        .collect();
    Batch {
        name: "recorded",
        data,
    }
}

fn json_file(relative: &str) -> serde_json::Value {
    serde_json::from_slice(&corpus_file(relative)).expect("corpus JSON")
}

/// The synthetic batches: the largest Kinesis batch (10,000 records of one line, 20% hard
/// cases), a short-statement batch (no hard cases: point reads and writes, heartbeats) and a
/// long-statement batch. Quick mode divides the record counts by 10.
pub fn synthetic() -> Vec<Batch> {
    let scale = if quick() { 10 } else { 1 };
    let max = Spec::max_lambda_batch(Dialect::RdsMySql);
    let max = Spec {
        records: max.records / scale,
        ..max
    };
    let short = Spec {
        records: 1_000 / scale,
        lines_per_record: 10,
        hard_percent: 0,
        ..max
    };
    vec![
        from_corpus("max-batch", &Corpus::generate(&max)),
        from_corpus("short-statements", &Corpus::generate(&short)),
        from_corpus("long-statements", &long_statements(400 / scale)),
    ]
}

fn from_corpus(name: &'static str, corpus: &Corpus) -> Batch {
    Batch {
        name,
        data: corpus
            .kinesis_records()
            .into_iter()
            .map(|r| r.data)
            .collect(),
    }
}

/// `records` records of one QUERY line each, whose statements are multi-row INSERTs of 1, 2,
/// 4 and 8 KB in turn (as logged with a raised `server_audit_query_log_limit`). Built from a
/// synthetic corpus by swapping each QUERY statement for a long one, so every other field
/// and the envelope stay what the generator made. (Longer statements would make one
/// iteration of the regex baseline take minutes: it is quadratic in the line length.)
fn long_statements(records: usize) -> Corpus {
    let spec = Spec {
        records: records * 3,
        lines_per_record: 1,
        hard_percent: 0,
        ..Spec::new(Dialect::RdsMySql)
    };
    let mut corpus = Corpus::generate(&spec);
    corpus
        .records
        .retain(|r| r.lines.iter().all(|l| l.expected.operation == "QUERY"));
    corpus.records.truncate(records);
    assert_eq!(
        corpus.records.len(),
        records,
        "not enough QUERY lines in the seed corpus"
    );
    for (i, line) in corpus
        .records
        .iter_mut()
        .flat_map(|r| r.lines.iter_mut())
        .enumerate()
    {
        let sql = escaped_insert(1024 << (i % 4));
        let raw = rdsaudit::audit::scanner::scan(&line.line).expect("synthetic lines parse");
        let start = raw.object.as_ptr() as usize - line.line.as_ptr() as usize;
        let end = start + raw.object.len();
        line.line.splice(start..end, sql.iter().copied());
        line.expected.object = rdsaudit::audit::unescape::unescape_reference(&sql);
    }
    corpus
}
