//! `rdsaudit parse`: every event, filtered, in the chosen format, in input order.

use std::io::Write as _;

use rdsaudit::sink::{EventWriter, Format};
use rdsaudit::{AuditEvent, Decoder, Sink};

use super::accounting::Accounting;
use super::args::ParseArgs;
use super::input::Reader;

/// The formatted output of one record (or one piece of a text file), written in input order.
struct Chunk {
    bytes: Vec<u8>,
    /// Events written (after filtering; SQL writes only QUERY events).
    events: u64,
    writer: EventWriter,
}

impl Chunk {
    fn new(format: Format, csv_raw: bool) -> Self {
        Chunk {
            bytes: Vec::new(),
            events: 0,
            writer: EventWriter::new(format).csv_raw(csv_raw),
        }
    }
}

impl Sink for Chunk {
    fn event(&mut self, e: &AuditEvent<'_>) {
        self.events += u64::from(self.writer.write(e, &mut self.bytes));
    }
}

pub fn run(args: &ParseArgs, quiet: bool) -> anyhow::Result<u8> {
    let filter = super::filter(&args.filter)?;
    let format = args.format;
    let reader = Reader {
        decoder: Decoder::builder().kind(args.input.kind).build(),
        filter: &filter,
        progress: !quiet,
    };
    let mut out = super::output(None)?;
    out.write_all(&EventWriter::new(format).header())?;
    let mut acc = Accounting::default();
    let mut kept = 0;
    let inputs = super::read_all(
        &args.input.paths,
        &reader,
        &mut acc,
        || Chunk::new(format, args.csv_raw),
        |chunk: Chunk| {
            kept += chunk.events;
            out.write_all(&chunk.bytes)
        },
    )?;
    out.flush()?;
    if !quiet {
        eprint!("{}", acc.summary("rdsaudit: summary", inputs, kept));
    }
    Ok(super::exit_status(&acc))
}
