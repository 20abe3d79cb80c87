//! `rdsaudit parse`: every event, filtered, in the chosen format, in input order.

use std::io::Write as _;
use std::sync::{Mutex, PoisonError};

use rdsaudit::sink::{EventWriter, Format, NdjsonWriter};
use rdsaudit::{AuditEvent, Decoder, Sink};
use rdsaudit_sql::Enricher;

use super::accounting::Accounting;
use super::args::ParseArgs;
use super::input::{CommandSink, Reader};

/// The formatted output of one record (or one piece of a text file), written in input order.
struct Chunk {
    bytes: Vec<u8>,
    /// Events written (after filtering; SQL writes only QUERY events).
    events: u64,
    writer: Writer,
}

/// The plain writer, untouched by `--enrich`, or NDJSON with the semantic keys.
enum Writer {
    Plain(EventWriter),
    Enriched(NdjsonWriter, Enricher),
}

impl Chunk {
    fn new(format: Format, enrich: bool) -> Self {
        let writer = if enrich {
            Writer::Enriched(NdjsonWriter::new(), Enricher::default())
        } else {
            Writer::Plain(EventWriter::new(format))
        };
        Chunk {
            bytes: Vec::new(),
            events: 0,
            writer,
        }
    }
}

/// Chunks whose bytes have been written, kept for the next records: their buffers keep their
/// capacity (no fresh allocation, page faults and regrowth per record) and their writers their
/// timestamp cache.
struct Spare {
    chunks: Mutex<Vec<Chunk>>,
    format: Format,
    enrich: bool,
}

/// A chunk buffer past this capacity (a huge record's output) is freed, not kept.
const SPARE_MAX_CAPACITY: usize = 16 << 20;

impl Spare {
    fn take(&self) -> Chunk {
        let spare = self.lock().pop();
        spare.unwrap_or_else(|| Chunk::new(self.format, self.enrich))
    }

    /// Only plain chunks are kept: an enriched chunk's `Enricher` holds what it saw of its
    /// own record.
    fn give_back(&self, mut chunk: Chunk) {
        let plain = matches!(chunk.writer, Writer::Plain(_));
        if plain && chunk.bytes.capacity() <= SPARE_MAX_CAPACITY {
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
        let written = match &mut self.writer {
            Writer::Plain(w) => w.write(e, &mut self.bytes),
            Writer::Enriched(w, enricher) => {
                let s = enricher.enrich(e);
                w.write_with(e, &mut self.bytes, |out| s.write_ndjson(out));
                true
            }
        };
        self.events += u64::from(written);
    }
}

impl CommandSink for Chunk {
    /// Events the filter dropped: their TABLE events still name tables for `--enrich`.
    fn dropped(&mut self, e: &AuditEvent<'_>) {
        if let Writer::Enriched(_, enricher) = &mut self.writer {
            enricher.observe(e);
        }
    }
}

pub fn run(args: &ParseArgs, quiet: bool) -> anyhow::Result<u8> {
    let filter = super::filter(&args.filter)?;
    let format = args.format;
    let enrich = args.enrich;
    if enrich && format != Format::Ndjson {
        anyhow::bail!("--enrich adds NDJSON keys: use it with --format ndjson");
    }
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
        enrich,
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
