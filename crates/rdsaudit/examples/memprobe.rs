//! Peak-memory probe for hostile inputs (issue 7): runs one input through the handler path the
//! Lambda uses (`parse_kinesis_event`, then `Pipeline::process` with the NDJSON sink) and
//! reports the process's resident memory before and at its peak.
//!
//! ```text
//! cargo run --release --example memprobe -- bomb       # 1 GiB of zeros, ~1 MiB of gzip
//! cargo run --release --example memprobe -- longline   # one 10 MiB audit line in a record
//! cargo run --release --example memprobe -- longtext   # the same line as a plain log file
//! cargo run --release --example memprobe -- events     # 60 MiB of tiny unparsable log events
//! ```
//!
//! The input is built first; then the peak (`VmHWM`) is reset through `/proc/self/clear_refs`
//! so the figure covers the processing alone. Linux only.

use std::io::Write as _;

use anyhow::{Context as _, Result, bail};
use rdsaudit::decoder::Next;
use rdsaudit::input::InputKind;
use rdsaudit::input::gzip::DEFAULT_MAX_OUTPUT;
use rdsaudit::sink::NdjsonBuffer;
use rdsaudit::{Decoder, Report};
use rdsaudit_synth::delivery::{KinesisRecord, base64, kinesis_event};

const MIB: usize = 1 << 20;

fn main() -> Result<()> {
    let case = std::env::args().nth(1).unwrap_or_default();
    let (input, is_text) = match case.as_str() {
        "bomb" => (event_of(&gzip_zeros(1024 * MIB)?), false),
        "longline" => (event_of(&gzip(envelope(&long_line()).as_bytes())?), false),
        "longtext" => (long_line().into_bytes(), true),
        "events" => (event_of(&gzip(&tiny_events(60 * MIB))?), false),
        _ => bail!("usage: memprobe bomb|longline|longtext|events"),
    };
    let kind = if is_text {
        InputKind::AuditText
    } else {
        InputKind::KinesisEvent
    };
    let decoder = Decoder::builder().kind(Some(kind)).build();
    reset_peak()?;
    let before = status_kib("VmRSS")?;
    let report = handle(&decoder, input.clone())?;
    let peak = status_kib("VmHWM")?;
    let after = status_kib("VmRSS")?;
    println!("case {case}: input {} bytes", input.len());
    println!("report {report:?}");
    println!(
        "rss before {before} KiB, peak {peak} KiB (+{} KiB), after {after} KiB; inflate limit {} KiB",
        peak.saturating_sub(before),
        DEFAULT_MAX_OUTPUT >> 10
    );
    Ok(())
}

/// Decodes `input` in parallel into NDJSON, as the CLI does, dropping each record's output
/// once it is handed over.
fn handle(decoder: &Decoder, mut input: Vec<u8>) -> Result<Report> {
    Ok(decoder.decode_parallel(&mut input, NdjsonBuffer::default, |_| Ok(Next::Continue))?)
}

/// A Kinesis event with one record holding `gz`.
fn event_of(gz: &[u8]) -> Vec<u8> {
    kinesis_event(&[KinesisRecord {
        sequence_number: "49590338271490256608559692538361571095921575989136588898".to_owned(),
        partition_key: "probe".to_owned(),
        data: base64(gz),
        arrival_ms: 1_711_200_969_123,
    }])
}

/// A 10 MiB Aurora QUERY line.
fn long_line() -> String {
    let statement = "INSERT INTO t VALUES (1,'x'),".repeat(10 * MIB / 29 + 1);
    format!("1711200969123456,i1,admin,10.0.1.5,35,698024,QUERY,shop,'{statement}',0")
}

fn envelope(message: &str) -> String {
    let mut json = br#"{"messageType":"DATA_MESSAGE","owner":"123456789012","logGroup":"/aws/rds/cluster/c1/audit","logStream":"c1-instance-1","subscriptionFilters":["f"],"logEvents":[{"id":"1","timestamp":1711200969000,"message":"#.to_vec();
    rdsaudit::sink::json_str(&mut json, message);
    json.extend_from_slice(b"}]}");
    String::from_utf8_lossy(&json).into_owned()
}

/// An envelope of about `size` bytes holding as many minimal log events as fit: the most
/// per-event bookkeeping one record under the inflate limit can cause.
fn tiny_events(size: usize) -> Vec<u8> {
    const EVENT: &[u8] = br#"{"id":"1","timestamp":1,"message":"x"},"#;
    let head = br#"{"messageType":"DATA_MESSAGE","owner":"1","logGroup":"g","logStream":"s","logEvents":["#;
    let mut json = head.to_vec();
    json.extend(EVENT.repeat(size / EVENT.len()));
    json.pop();
    json.extend_from_slice(b"]}");
    json
}

fn gzip(data: &[u8]) -> Result<Vec<u8>> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(6));
    encoder.write_all(data)?;
    Ok(encoder.finish()?)
}

/// `total` zero bytes streamed through flate2 1 MiB at a time (never held uncompressed).
fn gzip_zeros(total: usize) -> Result<Vec<u8>> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    let chunk = vec![0u8; MIB];
    for _ in 0..total / MIB {
        encoder.write_all(&chunk)?;
    }
    Ok(encoder.finish()?)
}

/// Resets `VmHWM` to the current RSS (Linux >= 4.0).
fn reset_peak() -> Result<()> {
    std::fs::write("/proc/self/clear_refs", "5").context("resetting VmHWM")
}

/// A `/proc/self/status` field in KiB.
fn status_kib(field: &str) -> Result<u64> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    let line = status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .with_context(|| format!("no {field} in /proc/self/status"))?;
    Ok(line.trim().trim_end_matches("kB").trim().parse()?)
}
