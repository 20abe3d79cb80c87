//! `rdsaudit parse`: every event, filtered, in the chosen format, in input order.

use std::io::Write as _;
use std::sync::{Mutex, PoisonError};

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
    fn new(format: Format) -> Self {
        Chunk {
            bytes: Vec::new(),
            events: 0,
            writer: EventWriter::new(format),
        }
    }
}

/// Chunks whose bytes have been written, kept for the next records: their buffers keep their
/// capacity (no fresh allocation, page faults and regrowth per record) and their writers their
/// timestamp cache.
struct Spare {
    chunks: Mutex<Vec<Chunk>>,
    format: Format,
}

/// A chunk buffer past this capacity (a huge record's output) is freed, not kept.
const SPARE_MAX_CAPACITY: usize = 16 << 20;

impl Spare {
    fn take(&self) -> Chunk {
        let spare = self.lock().pop();
        spare.unwrap_or_else(|| Chunk::new(self.format))
    }

    fn give_back(&self, mut chunk: Chunk) {
        if chunk.bytes.capacity() <= SPARE_MAX_CAPACITY {
            chunk.bytes.clear();
            chunk.events = 0;
            self.lock().push(chunk);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Chunk>> {
        self.chunks.lock().unwrap_or_else(PoisonError::into_inner)
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
    let spare = Spare {
        chunks: Mutex::new(Vec::new()),
        format,
    };
    let inputs = super::read_all(
        &args.input.paths,
        &reader,
        &mut acc,
        || spare.take(),
        |chunk: Chunk| {
            kept += chunk.events;
            out.write_all(&chunk.bytes)?;
            spare.give_back(chunk);
            Ok(())
        },
    )?;
    out.flush()?;
    if !quiet {
        eprint!("{}", acc.summary("rdsaudit: summary", inputs, kept));
    }
    Ok(super::exit_status(&acc))
}
