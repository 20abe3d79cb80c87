//! `rdsaudit parse`: every event, filtered, in the chosen format, in input order (with
//! `--merge`, in timestamp order across the inputs, [`super::merge`]); with `--rejects FILE`,
//! every line and record that is not an event, whole ([`super::rejects`]).

use std::cell::RefCell;
use std::io::{self, IsTerminal as _, Write as _};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, sync_channel};
use std::sync::{Arc, Mutex, PoisonError};

use rdsaudit::sink::{EventWriter, FailedRecord, Format, NdjsonWriter, UnparsedLine, sql};
use rdsaudit::{AuditEvent, Sink};
use rdsaudit_sql::Enricher;
use rdsaudit_sql::filter::EventFilter;

use super::accounting::Accounting;
use super::args::ParseArgs;
use super::input::{CommandSink, Reader};
use super::merge::{ChangedLate, Merge, Stamped, WINDOW};
use super::{paths, rejects};

/// The formatted output of one record (or one piece of a text file), written in input order.
struct Chunk {
    /// The output not yet spilled.
    bytes: Vec<u8>,
    /// The output past [`EVENTS_IN_MEMORY`], in a temporary file.
    spill: rejects::Spill,
    /// Bytes moved to `spill`.
    spilled: usize,
    /// SQL: the bytes moved to `spill` before the first statement that selects a database
    /// was written: its `USE` goes where the writer saw it start, past them
    /// (`Output::write`).
    first_skipped: usize,
    /// Events written (after filtering; SQL writes only QUERY events).
    events: u64,
    /// Boxed: a chunk is moved from worker to writer several times per record (400 bytes of
    /// writer state each time, a tenth of the writing thread's time on one-line records).
    /// `None` once given back to `writers` ([`Sink::finish`]).
    writer: Option<Box<Writer>>,
    writers: Arc<Writers>,
    /// Reject lines, when `--rejects` was given (past a share, in a temporary file).
    rejects: Option<rejects::Spool>,
    rejected: u64,
    /// `--merge`: each event is written in a frame with what the merge orders it by
    /// ([`frame`]), read back one by one ([`Events`]).
    merging: bool,
}

/// The plain writer, untouched by `--enrich`, or NDJSON with the semantic keys.
// The variants' sizes differ (the CSV writer keeps its cells' scratch inline), but a chunk
// holds its writer boxed already and a writer is never moved while it writes.
#[allow(clippy::large_enum_variant)]
enum Writer {
    Plain(EventWriter),
    Enriched(NdjsonWriter, Enricher),
}

/// The writers of chunks whose record is decoded, for the chunks made next. Records decoded
/// ahead in parallel wait for their turn in their chunks, many at once (every one-line record
/// of a Kinesis event, while the event is walked): each chunk made its own writer, whose
/// timestamp and repeated-value caches started cold and whose buffers were allocated and
/// freed once per record (7 M more instructions on 6,000 one-line records than one thread,
/// whose single chunk goes round). A writer given back keeps them warm.
struct Writers {
    /// Boxed as a chunk holds them: one goes to a chunk and back without a move or an
    /// allocation.
    #[allow(clippy::vec_box)]
    kept: Mutex<Vec<Box<Writer>>>,
    enrich: bool,
    format: Format,
    csv_raw: bool,
    /// `--query-log-limit`, as the filter reads statements with
    /// ([`rdsaudit_sql::filter::EventFilter::query_log_limit`]): a statement reaching it may be cut.
    query_log_limit: usize,
    /// The output bytes of the last record or piece written whole: a fresh chunk's room
    /// ([`Writers::room`]).
    last_len: AtomicUsize,
}

/// Writers kept for the next chunks: more than the threads that write at once, few enough
/// that what they hold stays small.
const WRITERS_KEPT: usize = 64;

/// The most room a fresh chunk starts with ([`Writers::room`]): a piece of a plain log
/// decodes to about 1 MiB, a record of the 16 MB event to 130 KiB; after a huge record the
/// chunks made before the next one is noted do not all reserve its size.
const ROOM_MAX: usize = 4 << 20;

impl Writers {
    fn new(args: &ParseArgs, filter: &EventFilter) -> Arc<Self> {
        Arc::new(Writers {
            kept: Mutex::new(Vec::new()),
            enrich: args.enrich,
            format: args.format,
            csv_raw: args.csv_raw,
            query_log_limit: filter.query_log_limit(),
            last_len: AtomicUsize::new(0),
        })
    }

    /// Notes how many bytes a record's or piece's output came to.
    fn note_len(&self, len: usize) {
        self.last_len.store(len, Ordering::Relaxed);
    }

    /// The room a fresh chunk starts with: the last output noted and an eighth more (none
    /// before the first), at most [`ROOM_MAX`]. Grown from nothing by doubling, each fresh
    /// chunk was copied and faulted in about twice its size; with two threads many chunks are
    /// fresh at once (every record or piece decoded ahead holds one).
    fn room(&self) -> usize {
        let last = self.last_len.load(Ordering::Relaxed);
        last.saturating_add(last / 8).min(ROOM_MAX)
    }

    /// A writer given back, or a new one.
    fn take(&self) -> Box<Writer> {
        let kept = self.lock().pop();
        kept.unwrap_or_else(|| Box::new(self.make()))
    }

    fn make(&self) -> Writer {
        if self.enrich {
            let enricher = Enricher::with_query_log_limit(self.query_log_limit);
            Writer::Enriched(NdjsonWriter::new(), enricher)
        } else {
            // SQL chunks are written in parallel: each one's first `USE` is decided when it
            // goes out, after the chunk before it (`Output::write`).
            let mut writer = EventWriter::new(self.format)
                .csv_raw(self.csv_raw)
                .sql_piece();
            writer.sql().set_query_log_limit(self.query_log_limit);
            Writer::Plain(writer)
        }
    }

    /// Keeps a writer in the state of a new one but for its caches ([`Chunk::finish`]).
    fn give_back(&self, writer: Box<Writer>) {
        let mut kept = self.lock();
        if kept.len() < WRITERS_KEPT {
            kept.push(writer);
        }
    }

    #[allow(clippy::vec_box)] // see `kept`
    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Box<Writer>>> {
        self.kept.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Chunk {
    fn new(args: &ParseArgs, writers: &Arc<Writers>) -> Self {
        Chunk {
            bytes: Vec::with_capacity(writers.room()),
            spill: rejects::Spill::default(),
            spilled: 0,
            first_skipped: 0,
            events: 0,
            writer: Some(writers.take()),
            writers: Arc::clone(writers),
            rejects: args.rejects.as_ref().map(|_| rejects::Spool::default()),
            rejected: 0,
            merging: args.merge,
        }
    }

    /// The chunk's writer (taken again should events come after [`Sink::finish`]).
    fn writer(&mut self) -> &mut Writer {
        let Chunk {
            writer, writers, ..
        } = self;
        writer.get_or_insert_with(|| writers.take())
    }

    /// Moves the output kept so far to the temporary file ([`EVENTS_IN_MEMORY`]).
    #[cold]
    #[inline(never)]
    fn spill_events(&mut self) {
        let kept = self.bytes.len();
        self.spill.take(&mut self.bytes, "a record's events");
        self.spilled += kept - self.bytes.len();
        // SQL: until the first statement that selects a database is written, its place
        // counts from after what was moved.
        if let Some(Writer::Plain(w)) = self.writer.as_deref_mut()
            && w.sql().first_database().is_none()
        {
            self.first_skipped = self.spilled;
        }
    }
}

/// Chunks whose bytes have been written, kept for the next records: their buffers keep their
/// capacity (no fresh allocation, page faults and regrowth per record) and their writers their
/// timestamp cache.
struct Spare<'a> {
    chunks: Mutex<Vec<Chunk>>,
    writers: Arc<Writers>,
    args: &'a ParseArgs,
}

/// Output bytes a chunk keeps in memory: past them, they wait in a temporary file for the
/// chunk's turn (`Chunk::spill`). A record's output is written only in its turn, whole (records
/// are decoded ahead, in parallel, and written in input order): one record of 400,000 audit
/// lines (a 2.7 MB Kinesis event) made 186 MB of NDJSON held at once, 10 messages of 15,000
/// records whose names hold raw breaks (each event listing its readings) a GB (session 31's
/// adversary B, F1). Above what ordinary records and pieces of text make (a piece of a
/// plain log, ~1 MiB of output; a record of the 16 MB event, 130 KiB), so they never spill.
const EVENTS_IN_MEMORY: usize = 8 << 20;

/// A chunk buffer past this capacity (a huge record's output) is freed, not kept.
const SPARE_MAX_CAPACITY: usize = 16 << 20;

impl Spare<'_> {
    fn take(&self) -> Chunk {
        let spare = self.lock().pop();
        spare.unwrap_or_else(|| Chunk::new(self.args, &self.writers))
    }

    /// Only plain chunks are kept: an enriched chunk's `Enricher` holds what it saw of its
    /// own record.
    fn give_back(&self, mut chunk: Chunk) {
        // A text piece's sink is not told `finish`: its output is noted here.
        self.writers.note_len(chunk.bytes.len());
        let plain = matches!(chunk.writer.as_deref(), Some(Writer::Plain(_)) | None);
        if plain && chunk.bytes.capacity() <= SPARE_MAX_CAPACITY {
            chunk.bytes.clear();
            chunk.spill.clear();
            (chunk.spilled, chunk.first_skipped) = (0, 0);
            chunk.events = 0;
            if let Some(Writer::Plain(w)) = chunk.writer.as_deref_mut() {
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

impl Sink for Chunk {
    fn event(&mut self, e: &AuditEvent<'_>) {
        let merging = self.merging;
        let head = merging.then(|| frame::open(&mut self.bytes));
        let writer = self
            .writer
            .get_or_insert_with(|| self.writers.take())
            .as_mut();
        let written = match writer {
            Writer::Plain(w) if merging => {
                // Each statement alone: its `USE` is decided where it lands in the merge.
                w.sql().reset();
                w.write(e, &mut self.bytes)
            }
            Writer::Plain(w) => w.write(e, &mut self.bytes),
            Writer::Enriched(w, enricher) => {
                let s = enricher.enrich(e);
                w.write_with(e, &mut self.bytes, |out| s.write_ndjson(out));
                true
            }
        };
        self.events += u64::from(written);
        if let Some(head) = head {
            let (database, changes_reading) = match writer {
                Writer::Plain(w) => {
                    let sql: &sql::SqlWriter = w.sql();
                    (sql.first_database(), sql.changed_reading())
                }
                Writer::Enriched(..) => (None, false),
            };
            let stamp = frame::Stamp {
                epoch_us: e.timestamp.epoch_us,
                query_id: e.query_id,
                changes_reading,
            };
            match written {
                true => frame::close(&mut self.bytes, head, &stamp, database),
                false => self.bytes.truncate(head),
            }
        }
        if self.bytes.len() >= EVENTS_IN_MEMORY {
            self.spill_events();
        }
    }

    fn unparsed(&mut self, line: &UnparsedLine<'_>) {
        if let Some(spool) = &mut self.rejects {
            rejects::line(line, &mut spool.bytes);
            spool.appended();
            self.rejected += 1;
        }
    }

    fn failed_record(&mut self, record: &FailedRecord<'_>) {
        if let Some(spool) = &mut self.rejects {
            rejects::record(record, &mut spool.bytes);
            spool.appended();
            self.rejected += 1;
        }
    }

    /// The record's output size is noted (a fresh chunk's room, [`Writers::room`]), and the
    /// writer goes back for the next chunk, unless the `USE` before the next chunk is
    /// still to be decided from it (SQL with a statement written: `Output::write`) or it
    /// is enriched (its `Enricher` holds what it saw of this record).
    fn finish(&mut self) {
        self.writers.note_len(self.bytes.len());
        let clean = match self.writer.as_deref_mut() {
            Some(Writer::Plain(w)) => w.sql().first_database().is_none(),
            Some(Writer::Enriched(..)) | None => false,
        };
        if let Some(writer) = self.writer.take_if(|_| clean) {
            self.writers.give_back(writer);
        }
    }
}

impl CommandSink for Chunk {
    /// The writer names the file in each event's `file` key.
    fn set_file(&mut self, file: Option<&str>) {
        match self.writer() {
            Writer::Plain(w) => w.set_file(file),
            Writer::Enriched(w, _) => w.set_file(file),
        }
    }

    /// Events the filter dropped: their TABLE events still name tables for `--enrich`.
    fn dropped(&mut self, e: &AuditEvent<'_>) {
        if let Writer::Enriched(_, enricher) = self.writer() {
            let _ = enricher.observe(e);
        }
    }

    fn failed_input(&mut self, failure: &rejects::InputFailure<'_>) {
        if let Some(spool) = &mut self.rejects {
            rejects::input(failure, &mut spool.bytes);
            spool.appended();
            self.rejected += 1;
        }
    }
}

pub fn run(args: &ParseArgs, quiet: bool) -> anyhow::Result<u8> {
    let mut filter = super::filter(&args.filter)?;
    if args.format == Format::Sql {
        // The SQL writer comments out every line after a statement that may change how the
        // statements after it are read, but only one it is given: a filter lets it through
        // (session 29's review: `--writes` left out the `SET sql_mode='ANSI_QUOTES'` and a
        // replay deleted every row).
        filter = filter.keeping_reading_changes();
    }
    if args.enrich && args.format != Format::Ndjson {
        anyhow::bail!("--enrich adds NDJSON keys: use it with --format ndjson");
    }
    if args.csv_raw && !matches!(args.format, Format::Csv | Format::Tsv) {
        anyhow::bail!(
            "--csv-raw writes CSV/TSV cells as they are: use it with --format csv or tsv"
        );
    }
    if args.merge && args.input.follow {
        anyhow::bail!(
            "--merge writes an event once every input has a later one: not with --follow"
        );
    }
    // Expanded once: what is refused as an output is what is read.
    let inputs = paths::expand(&args.input.paths);
    if let Some(path) = &args.rejects {
        paths::refuse_overwrite("--rejects", path, &inputs)?;
    }
    if args.format == Format::Sql && !args.merge && inputs.len() > 1 {
        // Read one after the other, a later file's statements would replay before an earlier
        // file's SET of their session (review 30: a rotated log's `server_audit.log` before
        // `server_audit.log.1` replayed a DELETE the server had not run).
        anyhow::bail!(
            "--format sql with {} inputs: add --merge, so that statements are written in the order they ran",
            inputs.len()
        );
    }
    let progress = draws_progress(quiet, args.merge, io::stdout().is_terminal());
    let reader = Reader::new(&args.input, &filter, progress);
    let writers = Writers::new(args, &filter);
    let mut output = Output {
        out: super::output(None)?,
        rejects: args
            .rejects
            .as_deref()
            .map(|path| super::output_named(Some(path), "the rejects file"))
            .transpose()?,
        kept: 0,
        rejected: 0,
        sql: (args.format == Format::Sql).then(sql::Joiner::default),
    };
    output
        .out
        .write_all(&EventWriter::new(args.format).header())?;
    let mut acc = Accounting::default();
    let (inputs, late) = if args.merge {
        read_merged(args, &inputs, &reader, &writers, &mut acc, &mut output)?
    } else {
        let n = read_in_order(args, &inputs, &reader, writers, &mut acc, &mut output)?;
        (n, Late::default())
    };
    // The taint starts at the statement's comment line: what was written before it runs
    // (the merge could not hold the events before it: `Merge`). Said by what came before
    // it (session 34's adversary LOW-5: a `SET` far out of order in its file was blamed on
    // "more than 4096 events of that second").
    let changed = late.reading_changed;
    if changed.after_their_time > 0 {
        ewriteln!(
            "rdsaudit: --merge --format sql: {} statements that change how statements are read (sql_mode, character set) were written after statements of their own time (more than {WINDOW} events before each in its input still to be written, as in a second of that many events): statements written before them may run otherwise than the server read them",
            changed.after_their_time
        );
    }
    if changed.after_later > 0 {
        ewriteln!(
            "rdsaudit: --merge --format sql: {} statements that change how statements are read (sql_mode, character set) were written after statements of a later time (each more than {WINDOW} events from its place in time order in its input): statements written before them may run otherwise than the server read them",
            changed.after_later
        );
    }
    output.out.flush()?;
    if let Some(file) = &mut output.rejects {
        file.flush()?;
    }
    if !quiet {
        ewrite!("{}", acc.summary("rdsaudit: summary", inputs, output.kept));
        if let Some(path) = &args.rejects {
            let rejected = output.rejected;
            ewriteln!("  rejects:    {rejected} written to {}", path.display());
        }
        if args.format == Format::Sql {
            ewriteln!(
                "  sql:        not in the log, so not seen: a sql_mode set in the parameter group or stored with a routine, a character set chosen in the client's handshake; replay only logs of sessions you trust"
            );
        }
        if args.merge {
            ewriteln!(
                "  merged:     in timestamp order; {} events out of order (more than {WINDOW} events from their place in their file: written after later ones)",
                late.events
            );
        }
    }
    Ok(super::exit_status(&acc))
}

/// Whether `parse` may draw a progress bar on stderr (it is drawn for a large input when
/// stderr is a terminal). Not with `--merge`: several inputs read at once would draw their
/// bars over each other. Not when stdout is a terminal: events are written while the bar is
/// up, on the same terminal in any usual shell, and the first line written after a redraw
/// would continue the bar's unfinished line (the bar would have to be cleared before each
/// write of the output, which goes through a buffer the bar does not see). The events
/// scrolling by show the progress then.
fn draws_progress(quiet: bool, merge: bool, stdout_is_terminal: bool) -> bool {
    !quiet && !merge && !stdout_is_terminal
}

/// Where chunks go: the output, the rejects file, and the counts.
struct Output {
    out: Box<dyn io::Write>,
    rejects: Option<Box<dyn io::Write>>,
    kept: u64,
    rejected: u64,
    /// SQL: what the chunks (or, with `--merge`, the statements) written so far leave the
    /// next one to start from (`None` for the other formats, written as they are).
    sql: Option<sql::Joiner>,
}

impl Output {
    /// Counts a chunk and writes its rejects.
    fn rejects_of(&mut self, chunk: &mut Chunk) -> io::Result<()> {
        self.kept += chunk.events;
        self.rejected += chunk.rejected;
        if let (Some(file), Some(spool)) = (&mut self.rejects, &mut chunk.rejects) {
            spool.write_to(file)?;
        }
        Ok(())
    }

    /// Flushes the rejects file, for each chunk of a live input (`--follow`, a pipe): such a
    /// run ends by a signal, and what a buffer held would be lost with it (review 30:
    /// `--follow --rejects r` stopped by SIGTERM left `r` empty). Before the chunk's events
    /// are written (a chunk's events may pass the output's buffer): whoever reads them may
    /// look for the rejects before them.
    fn flush_rejects(&mut self) -> io::Result<()> {
        match &mut self.rejects {
            Some(file) => file.flush(),
            None => Ok(()),
        }
    }

    /// Writes a chunk's bytes (those it spilled first); SQL with the `USE` its first
    /// statement needs, which its own writer could not know, right before that statement
    /// (read back from the temporary file in blocks of whole lines when the chunk spilled).
    /// A chunk without its writer gave it back with no statement that selects a database
    /// written (`Chunk::finish`); its lines, comments, still go through the joiner: one may
    /// be a `SET` that makes every line after it a comment (session 34's adversary, HIGH-1:
    /// a `SET` alone in its Kinesis record, decoded on two threads, left the `DELETE`s of the
    /// records after it to run).
    fn write(&mut self, chunk: &mut Chunk) -> io::Result<()> {
        match (chunk.writer.as_deref_mut(), &mut self.sql) {
            (Some(Writer::Plain(w)), Some(joiner)) if chunk.spill.has_taken() => {
                let piece: &sql::SqlWriter = w.sql();
                let mut joining = joiner.joining(piece, chunk.first_skipped);
                let out = &mut self.out;
                chunk
                    .spill
                    .lines_to(&chunk.bytes, |block| joining.lines(block, out))?;
                joining.end(out)
            }
            (Some(Writer::Plain(w)), Some(joiner)) => {
                joiner.join(w.sql(), &chunk.bytes, &mut self.out)
            }
            (_, Some(joiner)) => {
                let out = &mut self.out;
                chunk
                    .spill
                    .lines_to(&chunk.bytes, |block| joiner.statement(None, block, out))
            }
            (_, None) => chunk.spill.write_to(&chunk.bytes, &mut *self.out),
        }
    }

    /// `--merge`: writes one event's bytes; SQL with the `USE` its statement needs after the
    /// statements before it in the merged order (the join of [`Output::write`]'s chunks). An
    /// event without a database (another format, or a statement that selects none) is
    /// written as it is.
    fn write_event(&mut self, event: &Stamped) -> io::Result<()> {
        match &mut self.sql {
            Some(joiner) => {
                joiner.statement(event.database.as_deref(), &event.bytes, &mut self.out)
            }
            None => self.out.write_all(&event.bytes),
        }
    }
}

/// Every input in turn, each chunk written as it comes (in input order).
fn read_in_order(
    args: &ParseArgs,
    inputs: &[paths::Input],
    reader: &Reader<'_>,
    writers: Arc<Writers>,
    acc: &mut Accounting,
    output: &mut Output,
) -> anyhow::Result<u64> {
    // A pipe (stdin, or named by a path) or a followed file: each piece goes out as soon as
    // it is decoded.
    let live = args.input.follow
        || args.input.paths.is_empty()
        || args.input.paths.iter().any(|p| super::input::is_live(p));
    let spare = Spare {
        chunks: Mutex::new(Vec::new()),
        writers,
        args,
    };
    let read = super::read_all(
        inputs,
        reader,
        acc,
        || spare.take(),
        |mut chunk: Chunk| {
            output.rejects_of(&mut chunk)?;
            if live {
                output.flush_rejects()?;
            }
            output.write(&mut chunk)?;
            if live {
                output.out.flush()?;
            }
            spare.give_back(chunk);
            Ok(())
        },
    );
    // Left to the process's exit, which follows (`read_in_order` runs once per process): each
    // chunk buffer kept (~170 KiB, past glibc's mmap threshold) was unmapped alone, a system
    // call and a TLB shootdown each on the writing thread while the workers were done (the
    // 16 MB event, two threads, perf trace: 26 munmaps, 20 of them these, 0.75-1.53 ms; now
    // 6, 0.22-0.35 ms; 5 runs each, load ~4). The exit returns the memory in one go.
    std::mem::forget(spare);
    read
}

/// Chunks an input's reader has decoded and not yet handed to the merge.
const CHUNKS_AHEAD: usize = 2;

/// What `--merge` wrote out of place ([`Merge::late`], [`Merge::reading_changed_late`]).
#[derive(Debug, Clone, Copy, Default)]
struct Late {
    events: u64,
    reading_changed: ChangedLate,
}

/// `--merge`: every input read at once on a thread of its own (each still decoded in
/// parallel), their events merged in timestamp order ([`Merge`]). Rejects are written as each
/// input's chunks reach the merge. Returns the number of inputs and what was written out of place.
fn read_merged(
    args: &ParseArgs,
    inputs: &[paths::Input],
    reader: &Reader<'_>,
    writers: &Arc<Writers>,
    acc: &mut Accounting,
    output: &mut Output,
) -> anyhow::Result<(u64, Late)> {
    let stdin = [PathBuf::from("-")];
    let named: Vec<(usize, &PathBuf)> = if args.input.paths.is_empty() {
        stdin.iter().enumerate().collect()
    } else {
        let paths = inputs.iter().map(|i| i.as_ref().ok());
        paths
            .enumerate()
            .filter_map(|(i, p)| Some((i, p?)))
            .collect()
    };
    // Each input's accounting with its place among the inputs: their error lines are shown
    // in that order once the merge ends (a pattern that matched nothing among the others).
    let mut held = Vec::new();
    for (i, input) in inputs.iter().enumerate() {
        let Err(unreadable) = input else { continue };
        let (error, mut input_acc) = (
            io::Error::other(unreadable.reason.clone()),
            Accounting::holding(),
        );
        let (make, mut emit) = (
            || Chunk::new(args, writers),
            |mut c: Chunk| output.rejects_of(&mut c),
        );
        super::input::unreadable(&mut input_acc, &unreadable.name, &error, &make, &mut emit)?;
        held.push((i, input_acc));
    }
    let late = std::thread::scope(|scope| -> anyhow::Result<Late> {
        let mut threads = Vec::new();
        let mut receivers = Vec::new();
        for (i, path) in named {
            let (tx, rx) = sync_channel::<Chunk>(CHUNKS_AHEAD);
            receivers.push(rx);
            let thread = scope.spawn(move || {
                let mut acc = Accounting::holding();
                let sent = reader.read(
                    path,
                    &mut acc,
                    || Chunk::new(args, writers),
                    |chunk| {
                        tx.send(chunk)
                            .map_err(|_| io::Error::other("the merge stopped"))
                    },
                );
                (acc, sent)
            });
            threads.push((i, thread));
        }
        let side = RefCell::new((&mut *output, None::<io::Error>));
        let sources = receivers.into_iter().map(|rx| source(rx, &side));
        let mut merge = Merge::new(sources.collect::<Vec<_>>());
        let written = write_merged(&mut merge, &side);
        let late = Late {
            events: merge.late(),
            reading_changed: merge.reading_changed_late(),
        };
        drop(merge);
        for (i, thread) in threads {
            let (input_acc, _) = thread
                .join()
                .map_err(|_| anyhow::anyhow!("an input's reader failed"))?;
            held.push((i, input_acc));
        }
        held.sort_by_key(|(i, _)| *i);
        for (_, input_acc) in held {
            acc.absorb(input_acc);
        }
        written?;
        if let Some(e) = side.into_inner().1 {
            return Err(e.into());
        }
        Ok(late)
    })?;
    let count = if args.input.paths.is_empty() {
        1
    } else {
        inputs.len()
    };
    Ok((count as u64, late))
}

/// The events of the chunks arriving on `rx`, one by one; each chunk's counts and rejects go
/// to the output as it arrives (a rejects write error is kept for the end).
fn source<'a>(
    rx: Receiver<Chunk>,
    side: &'a RefCell<(&mut Output, Option<io::Error>)>,
) -> impl Iterator<Item = Stamped> + 'a {
    rx.into_iter().flat_map(move |mut chunk| {
        let written = side.borrow_mut().0.rejects_of(&mut chunk);
        if let Err(e) = written {
            side_error(side, e);
        }
        let events = Events::of(chunk);
        events.map_while(move |event| event.map_err(|e| side_error(side, e)).ok())
    })
}

/// Keeps the first error of the merge's side (written at its end).
fn side_error(side: &RefCell<(&mut Output, Option<io::Error>)>, e: io::Error) {
    side.borrow_mut().1.get_or_insert(e);
}

/// `--merge`: a chunk's events one by one, read back from its temporary file, then from its
/// bytes (a record's events are not all held: session 32's adversary M, F2: 2 GB for a 1 MB
/// event of 150,000 lines whose names hold breaks, each event listing its readings).
struct Events {
    chunk: Chunk,
    file: Option<io::BufReader<std::fs::File>>,
    /// Where the next frame starts in the chunk's bytes.
    at: usize,
    /// The temporary file could not be read back.
    failed: Option<io::Error>,
}

impl Events {
    fn of(mut chunk: Chunk) -> Self {
        let (file, failed) = match chunk.spill.reader() {
            Ok(file) => (file.map(io::BufReader::new), None),
            Err(e) => (None, Some(e)),
        };
        Events {
            chunk,
            file,
            at: 0,
            failed,
        }
    }
}

impl Iterator for Events {
    type Item = io::Result<Stamped>;

    fn next(&mut self) -> Option<io::Result<Stamped>> {
        if let Some(e) = self.failed.take() {
            self.at = usize::MAX;
            return Some(Err(e));
        }
        if let Some(file) = &mut self.file {
            match frame::read(file).map_err(rejects::reading_back) {
                Ok(Some(event)) => return Some(Ok(event)),
                Ok(None) => self.file = None,
                Err(e) => {
                    (self.file, self.at) = (None, usize::MAX);
                    return Some(Err(e));
                }
            }
        }
        let mut rest = self.chunk.bytes.get(self.at..).unwrap_or_default();
        let left = rest.len();
        let event = frame::read(&mut rest);
        self.at += left - rest.len();
        event.transpose()
    }
}

/// `--merge`: an event in a chunk's bytes, framed with what the merge orders it by: a head
/// of its time, query id, bytes' and database's lengths and whether it changes how
/// statements are read, then its bytes, then its database. Written whole (a chunk spills
/// between events), so the temporary file and the bytes in memory hold whole frames.
mod frame {
    use std::io::{self, BufRead};

    use super::Stamped;

    /// The head's length: four 8-byte words and a flag.
    const HEAD: usize = 33;

    /// What the merge orders an event by, but its database.
    pub(super) struct Stamp {
        pub epoch_us: i64,
        pub query_id: u64,
        pub changes_reading: bool,
    }

    /// Starts a frame: room for its head, where returned.
    pub(super) fn open(bytes: &mut Vec<u8>) -> usize {
        let at = bytes.len();
        bytes.resize(at + HEAD, 0);
        at
    }

    /// Ends the frame opened at `head` after its event's bytes.
    pub(super) fn close(bytes: &mut Vec<u8>, head: usize, stamp: &Stamp, database: Option<&[u8]>) {
        let len = bytes.len().saturating_sub(head + HEAD) as u64;
        // 0: no database; else its length and one.
        let database_len = database.map_or(0, |d| d.len() as u64 + 1);
        if let Some(database) = database {
            bytes.extend_from_slice(database);
        }
        let words = [
            stamp.epoch_us.to_le_bytes(),
            stamp.query_id.to_le_bytes(),
            len.to_le_bytes(),
            database_len.to_le_bytes(),
        ];
        let flag = [u8::from(stamp.changes_reading)];
        let head_bytes = words.iter().flatten().chain(&flag);
        if let Some(room) = bytes.get_mut(head..head + HEAD) {
            for (slot, byte) in room.iter_mut().zip(head_bytes) {
                *slot = *byte;
            }
        }
    }

    /// The next frame's event, `None` at the end.
    pub(super) fn read(r: &mut impl BufRead) -> io::Result<Option<Stamped>> {
        if r.fill_buf()?.is_empty() {
            return Ok(None);
        }
        let mut head = [0u8; HEAD];
        r.read_exact(&mut head)?;
        let word = |i: usize| {
            let bytes = head.get(8 * i..8 * i + 8).and_then(|w| w.try_into().ok());
            u64::from_le_bytes(bytes.unwrap_or_default())
        };
        let length = |n: u64| {
            usize::try_from(n).map_err(|_| io::Error::other("a frame's length does not fit"))
        };
        let mut bytes = vec![0; length(word(2))?];
        r.read_exact(&mut bytes)?;
        let database = match word(3) {
            0 => None,
            n => {
                let mut database = vec![0; length(n - 1)?];
                r.read_exact(&mut database)?;
                Some(database)
            }
        };
        Ok(Some(Stamped {
            epoch_us: word(0) as i64,
            bytes,
            database,
            changes_reading: head.get(HEAD - 1).is_some_and(|&f| f == 1),
            query_id: word(1),
        }))
    }
}

/// Writes the merged events, each SQL statement after the `USE` it needs where it lands.
fn write_merged<S: Iterator<Item = Stamped>>(
    merge: &mut Merge<S>,
    side: &RefCell<(&mut Output, Option<io::Error>)>,
) -> io::Result<()> {
    for event in merge.by_ref() {
        side.borrow_mut().0.write_event(&event)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_progress_bar_only_when_the_events_do_not_go_to_a_terminal() {
        assert!(draws_progress(false, false, false));
        // Events on the terminal the bar would be drawn on (cli_terminal.rs runs it on one).
        assert!(!draws_progress(false, false, true));
        assert!(!draws_progress(true, false, false));
        assert!(!draws_progress(false, true, false));
    }

    /// A record's reject lines past [`rejects::SPOOL_IN_MEMORY`] wait in a temporary file,
    /// not in memory, and all reach the rejects file in order (review 30: a 2,890-byte
    /// event of 500,000 one-byte lines took 417 MB with `--rejects`, its 209 MB of reject
    /// lines held in its chunk; here 200,000 lines, ~40 MB of them, all in memory before).
    #[test]
    fn a_chunk_holds_a_bounded_share_of_its_reject_lines() {
        use clap::Parser as _;
        let cli = crate::args::Cli::try_parse_from(["rdsaudit", "parse", "--rejects", "r", "in"])
            .unwrap();
        let crate::args::Command::Parse(args) = &cli.command else {
            panic!("not parse");
        };
        let writers = Writers::new(args, &EventFilter::default());
        let mut chunk = Chunk::new(args, &writers);
        let mut expected = Vec::new();
        let lines: u64 = 200_000;
        for n in 1..=lines {
            let line = UnparsedLine {
                bytes: b"a",
                reason: rdsaudit::LineError::Empty,
                record_index: Some(0),
                sequence_number: Some("4961"),
                log_group: Some("/aws/rds/instance/db1/audit"),
                log_stream: Some("db1"),
                event_id: Some("1"),
                line_number: Some(n),
                file: Some("event.json"),
                place: None,
            };
            rejects::line(&line, &mut expected);
            chunk.unparsed(&line);
            let held = chunk.rejects.as_ref().map_or(0, |s| s.bytes.len());
            assert!(
                held < 2 * rejects::SPOOL_IN_MEMORY,
                "{held} bytes held at line {n}"
            );
        }
        chunk.finish();
        assert_eq!(chunk.rejected, lines);
        let written = SharedBuf::default();
        let mut output = Output {
            out: Box::new(io::sink()),
            rejects: Some(Box::new(written.clone())),
            kept: 0,
            rejected: 0,
            sql: None,
        };
        output.rejects_of(&mut chunk).unwrap();
        assert_eq!(output.rejected, lines);
        let written = written.0.lock().unwrap();
        assert!(expected.len() > 20 * rejects::SPOOL_IN_MEMORY);
        assert!(*written == expected, "every reject line, in order");
    }

    /// A record's output past [`EVENTS_IN_MEMORY`] waits in a temporary file, and all of it
    /// reaches the output in order (session 31's adversary B, F1: one record of 400,000
    /// audit lines held its 186 MB of NDJSON in its chunk until its turn; here 16 MB of
    /// it, all in memory before). NDJSON, CSV and SQL (session 32's adversary M: 117 MB
    /// for a 335 KB event of 18,000 3 KB `INSERT`s, its first `USE` placed when written);
    /// SQL as one writer of the whole output writes it.
    #[test]
    fn a_chunk_holds_a_bounded_share_of_its_output() {
        use clap::Parser as _;
        let line = "20240615 10:31:05,db1,app,10.0.0.9,7,2,QUERY,shop,'SELECT \"x\", 1',0";
        let event = rdsaudit::parse_line(line.as_bytes()).unwrap();
        for format in ["ndjson", "csv", "sql"] {
            let cli =
                crate::args::Cli::try_parse_from(["rdsaudit", "parse", "--format", format, "in"])
                    .unwrap();
            let crate::args::Command::Parse(args) = &cli.command else {
                panic!("not parse");
            };
            let writers = Writers::new(args, &EventFilter::default());
            let mut chunk = Chunk::new(args, &writers);
            let mut expected = Vec::new();
            let mut writer = EventWriter::new(args.format).csv_raw(args.csv_raw);
            // Past twice the share (NDJSON: ~60,000 events).
            let mut events = 0;
            while expected.len() <= 2 * EVENTS_IN_MEMORY {
                writer.write(&event, &mut expected);
                chunk.event(&event);
                events += 1;
                let held = chunk.bytes.len();
                assert!(
                    held < EVENTS_IN_MEMORY + 4096,
                    "{held} bytes held at event {events}"
                );
            }
            chunk.finish();
            assert_eq!(chunk.events, events);
            assert!(chunk.spill.has_file(), "{format}");
            let written = SharedBuf::default();
            let mut output = Output {
                out: Box::new(written.clone()),
                rejects: None,
                kept: 0,
                rejected: 0,
                sql: (args.format == Format::Sql).then(sql::Joiner::default),
            };
            output.write(&mut chunk).unwrap();
            let written = written.0.lock().unwrap();
            assert!(*written == expected, "{format}: every event, in order");
        }
    }

    /// SQL spilled before its first statement that selects a database: more than the share
    /// of comment lines (statements that may be cut, which select none), then statements,
    /// one a `SET sql_mode` whose comment makes every line after it one. Written in two
    /// chunks as one writer of the whole output writes it: the `USE` right before the first
    /// statement, past the bytes in the temporary file, and the second chunk's lines
    /// commented out.
    #[test]
    fn an_sql_chunk_spilled_before_its_first_statement_gets_its_use_in_place() {
        use clap::Parser as _;
        let cli = crate::args::Cli::try_parse_from(["rdsaudit", "parse", "--format", "sql", "in"])
            .unwrap();
        let crate::args::Command::Parse(args) = &cli.command else {
            panic!("not parse");
        };
        let line = |db: &str, sql: &str| {
            format!("20240615 10:31:05,db1,app,10.0.0.9,7,2,QUERY,{db},'{sql}',0").into_bytes()
        };
        let cut = line(
            "shop",
            &format!("INSERT INTO t VALUES (\\'{}\\')", "x".repeat(1100)),
        );
        let cut = rdsaudit::parse_line(&cut).unwrap();
        let (first, set, after) = (
            line("shop", "SELECT 1"),
            line("shop", "SET sql_mode=\\'ANSI_QUOTES\\'"),
            line("other", "DELETE FROM w"),
        );
        let (first, set, after) = (
            rdsaudit::parse_line(&first).unwrap(),
            rdsaudit::parse_line(&set).unwrap(),
            rdsaudit::parse_line(&after).unwrap(),
        );
        let writers = Writers::new(args, &EventFilter::default());
        let mut whole = EventWriter::new(Format::Sql);
        let mut expected = Vec::new();
        let mut chunks = [Chunk::new(args, &writers), Chunk::new(args, &writers)];
        let [one, two] = &mut chunks;
        while expected.len() <= EVENTS_IN_MEMORY + 100_000 {
            whole.write(&cut, &mut expected);
            one.event(&cut);
        }
        for e in [&first, &after, &first, &set, &after] {
            whole.write(e, &mut expected);
            one.event(e);
        }
        let long = line(
            "other",
            &format!("DELETE FROM w WHERE a = 1{}", " OR a = 1".repeat(20)),
        );
        let long = rdsaudit::parse_line(&long).unwrap();
        for _ in 0..50_000 {
            whole.write(&long, &mut expected);
            two.event(&long);
        }
        assert!(one.spill.has_file() && one.first_skipped > 0);
        assert!(two.spill.has_file() && two.first_skipped == 0);
        let written = SharedBuf::default();
        let mut output = Output {
            out: Box::new(written.clone()),
            rejects: None,
            kept: 0,
            rejected: 0,
            sql: Some(sql::Joiner::default()),
        };
        for chunk in &mut chunks {
            chunk.finish();
            output.write(chunk).unwrap();
        }
        let written = written.0.lock().unwrap();
        let text = String::from_utf8_lossy(&written);
        assert!(text.contains("\nUSE `shop`;\nSELECT 1;\nUSE `other`;\n"));
        assert!(*written == expected, "as one writer writes the whole");
    }

    /// `--merge`: a record's events past [`EVENTS_IN_MEMORY`] wait in a temporary file, and
    /// come back one by one, in order, each with its time, query id, database and whether
    /// it changes how statements are read (session 32's adversary M, F2: a record's events
    /// were held whole, then copied out whole: 2 GB for a 1 MB event of 150,000 lines whose
    /// names hold breaks; here 16 MB of them, all in memory before). NDJSON and SQL.
    #[test]
    fn a_merging_chunk_holds_a_bounded_share_of_its_events() {
        use clap::Parser as _;
        let line = |n: u64, db: &str, sql: &str| {
            let line = format!(
                "20240615 10:31:{:02},db1,app,10.0.0.9,7,{n},QUERY,{db},'{sql}',0",
                n % 60
            );
            line.into_bytes()
        };
        for format in ["ndjson", "sql"] {
            let cli = crate::args::Cli::try_parse_from([
                "rdsaudit", "parse", "--merge", "--format", format, "in",
            ])
            .unwrap();
            let crate::args::Command::Parse(args) = &cli.command else {
                panic!("not parse");
            };
            let writers = Writers::new(args, &EventFilter::default());
            let mut chunk = Chunk::new(args, &writers);
            let mut writer = EventWriter::new(args.format).sql_piece();
            let mut expected = Vec::new();
            let mut total = 0;
            let mut n = 0;
            while total <= 2 * EVENTS_IN_MEMORY {
                n += 1;
                let (db, sql) = match n % 3 {
                    0 => ("shop", "SELECT \\'x\\', 1"),
                    1 => ("other", "DELETE FROM w WHERE a = 1 OR b = 2"),
                    _ => ("shop", "SET sql_mode=\\'ANSI_QUOTES\\'"),
                };
                let bytes = line(n, db, sql);
                let event = rdsaudit::parse_line(&bytes).unwrap();
                writer.sql().reset();
                let mut one = Vec::new();
                assert!(writer.write(&event, &mut one));
                total += one.len();
                let sql: &sql::SqlWriter = writer.sql();
                expected.push(Stamped {
                    epoch_us: event.timestamp.epoch_us,
                    bytes: one,
                    database: sql.first_database().map(<[u8]>::to_vec),
                    changes_reading: sql.changed_reading(),
                    query_id: n,
                });
                chunk.event(&event);
                let held = chunk.bytes.len();
                assert!(
                    held < EVENTS_IN_MEMORY + 4096,
                    "{format}: {held} bytes held at event {n}"
                );
            }
            chunk.finish();
            assert_eq!(chunk.events, n);
            assert!(chunk.spill.has_file(), "{format}");
            let got: Vec<Stamped> = Events::of(chunk).map(Result::unwrap).collect();
            assert_eq!(got.len(), expected.len(), "{format}");
            assert!(
                got == expected,
                "{format}: every event, in order, with its stamp"
            );
        }
    }

    /// A writer whose bytes the test reads back.
    #[derive(Clone, Default)]
    struct SharedBuf(Arc<Mutex<Vec<u8>>>);

    impl io::Write for SharedBuf {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    /// A chunk made once a record's output is known starts with room for as much: grown from
    /// nothing, each fresh chunk was reallocated and copied a dozen times (two threads, the
    /// 16 MB event: 176-180 reallocations over 4 KiB, 58-64 with the room).
    #[test]
    fn a_fresh_chunk_starts_with_room_for_the_last_output() {
        use clap::Parser as _;
        let cli = crate::args::Cli::try_parse_from(["rdsaudit", "parse", "in.log"]).unwrap();
        let crate::args::Command::Parse(args) = &cli.command else {
            panic!("not parse");
        };
        let writers = Writers::new(args, &EventFilter::default());
        let mut first = Chunk::new(args, &writers);
        assert_eq!(first.bytes.capacity(), 0, "nothing noted yet");
        first.bytes.extend_from_slice(&[b'x'; 8_000]);
        first.finish();
        assert!(Chunk::new(args, &writers).bytes.capacity() >= 8_000);
        // A piece's chunk is noted when it is given back.
        let spare = Spare {
            chunks: Mutex::new(Vec::new()),
            writers: Arc::clone(&writers),
            args,
        };
        let mut piece = spare.take();
        piece.bytes.extend_from_slice(&[b'y'; 20_000]);
        spare.give_back(piece);
        let reused = spare.take();
        assert!(reused.bytes.is_empty() && reused.bytes.capacity() >= 20_000);
        assert!(Chunk::new(args, &writers).bytes.capacity() >= 20_000);
    }
}
