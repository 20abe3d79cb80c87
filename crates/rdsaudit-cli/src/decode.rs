//! `rdsaudit decode`: shows the CloudWatch Logs payload JSON inside any delivery shape (a
//! Lambda Kinesis event, `aws kinesis get-records` output, an `awslogs` event, a gzip payload,
//! a Firehose-to-S3 object, one record's pasted base64 `data`), one payload per line. The
//! inverse of `rdsaudit encode`, and what the Kinesis console's data viewer cannot show.

use std::io::Write as _;
use std::path::PathBuf;

use anyhow::Context as _;
use clap::Args;
use rdsaudit::input::gzip::Inflater;
use rdsaudit::input::{self as source, InputKind, Payload, SourceParser, SourceRecord};

/// `rdsaudit decode` arguments.
#[derive(Debug, Args)]
pub struct DecodeArgs {
    /// The event, payload or object; `-` or none reads stdin
    #[arg(value_name = "PATH")]
    pub path: Option<PathBuf>,
}

pub fn run(args: &DecodeArgs) -> anyhow::Result<u8> {
    let name = args
        .path
        .as_ref()
        .map_or_else(|| "stdin".to_owned(), |p| p.display().to_string());
    let bytes = read(args.path.as_deref())?;
    let mut out = super::output(None)?;
    let mut failed = false;
    let mut inflater = Inflater::with_limit(rdsaudit::input::gzip::DEFAULT_MAX_OUTPUT);
    for (i, record) in records(&bytes, &name)?.iter().enumerate() {
        match payload_json(&mut inflater, record) {
            Ok(json) => write_objects(&mut out, &json)?,
            Err(e) => {
                failed = true;
                let seq = record
                    .sequence_number
                    .as_ref()
                    .map_or_else(String::new, |s| format!(" (sequence number {s})"));
                ewriteln!("rdsaudit: {name}: record {}{seq}: {e:#}", i + 1);
            }
        }
    }
    out.flush()?;
    Ok(if failed {
        super::SOME_INPUT_FAILED
    } else {
        super::OK
    })
}

fn read(path: Option<&std::path::Path>) -> anyhow::Result<Vec<u8>> {
    match path {
        Some(p) if p.as_os_str() != "-" => {
            std::fs::read(p).with_context(|| format!("reading {}", p.display()))
        }
        _ => {
            let mut buf = Vec::new();
            std::io::Read::read_to_end(&mut std::io::stdin().lock(), &mut buf)
                .context("reading stdin")?;
            Ok(buf)
        }
    }
}

/// The payloads of `bytes`, by its detected kind, as owned records.
fn records(bytes: &[u8], name: &str) -> anyhow::Result<Vec<OwnedRecord>> {
    let text = bytes.trim_ascii();
    if rdsaudit::input::base64_data::looks_like_base64_data(text) {
        return Ok(vec![OwnedRecord::base64(text.to_vec(), None)]);
    }
    match source::detect(bytes) {
        InputKind::KinesisEvent | InputKind::KinesisGetRecords => {
            let mut buf = padded(bytes);
            let records =
                source::parse_kinesis_event(&mut buf, bytes.len(), &mut SourceParser::new())
                    .with_context(|| format!("{name}: not a Kinesis event"))?;
            Ok(records.iter().map(OwnedRecord::from).collect())
        }
        InputKind::AwslogsEvent => {
            let mut buf = padded(bytes);
            let record =
                source::parse_awslogs_event(&mut buf, bytes.len(), &mut SourceParser::new())
                    .with_context(|| format!("{name}: not an awslogs event"))?;
            Ok(vec![OwnedRecord::from(&record)])
        }
        InputKind::CloudWatchGzip => Ok(vec![OwnedRecord::gzip(bytes.to_vec())]),
        InputKind::CloudWatchJson => Ok(vec![OwnedRecord::json(bytes.to_vec())]),
        other => anyhow::bail!(
            "{name}: {} holds log events, not an encoded delivery (rdsaudit parse reads it; rdsaudit encode makes a delivery from audit lines)",
            other.name()
        ),
    }
}

fn padded(bytes: &[u8]) -> Vec<u8> {
    let mut buf = bytes.to_vec();
    buf.resize(bytes.len() + simd_json::INPUT_PADDING, 0);
    buf
}

/// A record whose payload outlives the parsed event.
struct OwnedRecord {
    kind: Kind,
    bytes: Vec<u8>,
    sequence_number: Option<String>,
}

enum Kind {
    Base64,
    Gzip,
    Json,
    Invalid(String),
}

impl OwnedRecord {
    fn base64(bytes: Vec<u8>, sequence_number: Option<String>) -> Self {
        OwnedRecord {
            kind: Kind::Base64,
            bytes,
            sequence_number,
        }
    }

    fn gzip(bytes: Vec<u8>) -> Self {
        OwnedRecord {
            kind: Kind::Gzip,
            bytes,
            sequence_number: None,
        }
    }

    fn json(bytes: Vec<u8>) -> Self {
        OwnedRecord {
            kind: Kind::Json,
            bytes,
            sequence_number: None,
        }
    }
}

impl From<&SourceRecord<'_>> for OwnedRecord {
    fn from(r: &SourceRecord<'_>) -> Self {
        let sequence_number = r.sequence_number.map(str::to_owned);
        let (kind, bytes) = match r.payload {
            Payload::Base64(b) => (Kind::Base64, b.to_vec()),
            Payload::Gzip(b) => (Kind::Gzip, b.to_vec()),
            Payload::Json(b) => (Kind::Json, b.to_vec()),
            Payload::Invalid(p) => (Kind::Invalid(p.to_string()), Vec::new()),
        };
        OwnedRecord {
            kind,
            bytes,
            sequence_number,
        }
    }
}

/// The payload JSON of one record: base64 decoded, then every gzip member inflated.
fn payload_json(inflater: &mut Inflater, record: &OwnedRecord) -> anyhow::Result<Vec<u8>> {
    let gz = match &record.kind {
        Kind::Invalid(problem) => anyhow::bail!("{problem}"),
        Kind::Json => return Ok(record.bytes.clone()),
        Kind::Gzip => record.bytes.clone(),
        Kind::Base64 => {
            let mut out = Vec::new();
            rdsaudit::input::base64_data::decode(&record.bytes, &mut out).context("base64")?;
            out
        }
    };
    if !gz.starts_with(&[0x1f, 0x8b]) {
        // Test templates put plain JSON in `data`.
        return Ok(gz);
    }
    Ok(inflater.inflate(&gz).context("gzip")?.bytes().to_vec())
}

/// Writes each back-to-back JSON object of `json` on its own line.
fn write_objects(out: &mut impl std::io::Write, json: &[u8]) -> std::io::Result<()> {
    match rdsaudit::input::envelope::objects(json) {
        Some(pieces) => {
            for piece in pieces {
                out.write_all(json.get(piece).unwrap_or_default())?;
                out.write_all(b"\n")?;
            }
        }
        None => {
            out.write_all(json.trim_ascii())?;
            out.write_all(b"\n")?;
        }
    }
    Ok(())
}
