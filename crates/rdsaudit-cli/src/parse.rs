//! `rdsaudit parse`: every event, filtered, in the chosen format, in input order; with
//! `--rejects FILE`, every line and record that is not an event, whole ([`super::rejects`]).

use std::io::Write as _;
use std::sync::{Mutex, PoisonError};

use rdsaudit::sink::{EventWriter, FailedRecord, Format, NdjsonWriter, UnparsedLine, sql};
use rdsaudit::{AuditEvent, Sink};
use rdsaudit_sql::Enricher;

use super::accounting::Accounting;
use super::args::ParseArgs;
use super::input::{CommandSink, Reader};
use super::rejects;

/// The formatted output of one record (or one piece of a text file), written in input order.
struct Chunk {
    bytes: Vec<u8>,
    /// Events written (after filtering; SQL writes only QUERY events).
    events: u64,
    writer: Writer,
    /// Reject lines, when `--rejects` was given.
    rejects: Option<Vec<u8>>,
    rejected: u64,
}

/// The plain writer, untouched by `--enrich`, or NDJSON with the semantic keys.
enum Writer {
    Plain(EventWriter),
    Enriched(NdjsonWriter, Enricher),
}

impl Chunk {
    fn new(args: &ParseArgs) -> Self {
        let writer = if args.enrich {
            Writer::Enriched(NdjsonWriter::new(), Enricher::default())
        } else {
            // SQL chunks are written in parallel: each one's first `USE` is decided when it
            // goes out, after the chunk before it (`Sequence`).
            Writer::Plain(
                EventWriter::new(args.format)
                    .csv_raw(args.csv_raw)
                    .sql_piece(),
            )
        };
        Chunk {
            bytes: Vec::new(),
            events: 0,
            writer,
            rejects: args.rejects.as_ref().map(|_| Vec::new()),
            rejected: 0,
        }
    }
}

/// Chunks whose bytes have been written, kept for the next records: their buffers keep their
/// capacity (no fresh allocation, page faults and regrowth per record) and their writers their
/// timestamp cache.
struct Spare<'a> {
    chunks: Mutex<Vec<Chunk>>,
    args: &'a ParseArgs,
}

/// A chunk buffer past this capacity (a huge record's output) is freed, not kept.
const SPARE_MAX_CAPACITY: usize = 16 << 20;

impl Spare<'_> {
    fn take(&self) -> Chunk {
        let spare = self.lock().pop();
        spare.unwrap_or_else(|| Chunk::new(self.args))
    }

    /// Only plain chunks are kept: an enriched chunk's `Enricher` holds what it saw of its
    /// own record.
    fn give_back(&self, mut chunk: Chunk) {
        let plain = matches!(chunk.writer, Writer::Plain(_));
        if plain && chunk.bytes.capacity() <= SPARE_MAX_CAPACITY {
            chunk.bytes.clear();
            chunk.events = 0;
            if let Writer::Plain(w) = &mut chunk.writer {
                w.sql().reset();
            }
            if let Some(rejects) = &mut chunk.rejects {
                rejects.clear();
            }
            chunk.rejected = 0;
            self.lock().push(chunk);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Chunk>> {
        self.chunks.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// What the chunks written so far leave the next one to start from: the database the last
/// SQL statement ran in.
#[derive(Default)]
struct Sequence {
    database: Option<Vec<u8>>,
}

impl Sequence {
    /// What must go before `chunk` (SQL: the `USE` its first statement needs, which its own
    /// writer could not know).
    fn lead(&mut self, chunk: &mut Chunk) -> Vec<u8> {
        let mut lead = Vec::new();
        if let Writer::Plain(w) = &mut chunk.writer {
            let sql = w.sql();
            if let Some(first) = sql.first_database() {
                sql::switch_database(self.database.as_deref(), first, &mut lead);
                self.database = sql.database().map(<[u8]>::to_vec);
            }
        }
        lead
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

    fn unparsed(&mut self, line: &UnparsedLine<'_>) {
        if let Some(out) = &mut self.rejects {
            rejects::line(line, out);
            self.rejected += 1;
        }
    }

    fn failed_record(&mut self, record: &FailedRecord<'_>) {
        if let Some(out) = &mut self.rejects {
            rejects::record(record, out);
            self.rejected += 1;
        }
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
    if args.enrich && args.format != Format::Ndjson {
        anyhow::bail!("--enrich adds NDJSON keys: use it with --format ndjson");
    }
    let reader = Reader::new(&args.input, &filter, !quiet);
    let mut out = super::output(None)?;
    let mut rejects_out = args
        .rejects
        .as_deref()
        .map(|path| super::output(Some(path)))
        .transpose()?;
    out.write_all(&EventWriter::new(args.format).header())?;
    // A pipe or a followed file: each piece goes out as soon as it is decoded.
    let live = args.input.follow
        || args.input.paths.is_empty()
        || args.input.paths.iter().any(|p| p.as_os_str() == "-");
    let mut acc = Accounting::default();
    let (mut kept, mut rejected) = (0, 0);
    let mut sequence = Sequence::default();
    let spare = Spare {
        chunks: Mutex::new(Vec::new()),
        args,
    };
    let inputs = super::read_all(
        &args.input.paths,
        &reader,
        &mut acc,
        || spare.take(),
        |mut chunk: Chunk| {
            kept += chunk.events;
            rejected += chunk.rejected;
            out.write_all(&sequence.lead(&mut chunk))?;
            out.write_all(&chunk.bytes)?;
            if let (Some(file), Some(lines)) = (&mut rejects_out, &chunk.rejects) {
                file.write_all(lines)?;
            }
            if live {
                out.flush()?;
            }
            spare.give_back(chunk);
            Ok(())
        },
    )?;
    out.flush()?;
    if let Some(file) = &mut rejects_out {
        file.flush()?;
    }
    if !quiet {
        eprint!("{}", acc.summary("rdsaudit: summary", inputs, kept));
        if let Some(path) = &args.rejects {
            eprintln!("  rejects:    {rejected} written to {}", path.display());
        }
    }
    Ok(super::exit_status(&acc))
}
