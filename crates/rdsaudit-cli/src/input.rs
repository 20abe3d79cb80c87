//! Reading inputs in bounded memory: a file or stdin is opened, its first bytes say what it
//! is, and it goes through the library's [`Decoder`], whose sinks come back in input order:
//!
//! - audit text (plain, or gzip inflated as a stream with flate2's `MultiGzDecoder`) is
//!   streamed in pieces cut at record boundaries ([`rdsaudit::input::stream`]): any size in
//!   a few MiB, output before the input ends, `--follow` for a growing file;
//! - a JSON document (a Lambda event, CloudWatch payloads, gzip or not) is read whole, up to
//!   `--max-file-size` (inflated size for gzip), and an input past it is an error naming the
//!   file and the limit; nothing is allocated beyond what was read. A file of a few MiB is
//!   read in two halves at once (the copy and the fresh pages it lands in are the largest
//!   part of what must happen before its first record can be decoded).

use std::io::{self, BufRead, Cursor, IsTerminal as _, Read};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use rdsaudit::decoder::{DecodeError, Done, Next, StopError};
use rdsaudit::input::encoding::Encoding;
use rdsaudit::input::gzip::InflateError;
use rdsaudit::input::stream::{self as text_stream, TextStream};
use rdsaudit::input::{self, InputKind};
use rdsaudit::report::Report;
use rdsaudit::sink::{FailedRecord, UnparsedLine};
use rdsaudit::{AuditEvent, Decoder, Sink};
use rdsaudit_sql::Enricher;
use rdsaudit_sql::filter::EventFilter;

use super::accounting::{Accounting, Problems};
use super::args::InputArgs;
use super::rejects::InputFailure;

/// Inputs smaller than this get no progress bar.
const PROGRESS_MIN_BYTES: u64 = 4 << 20;
/// How much of an input is looked at to tell text from JSON.
const SNIFF_BYTES: usize = 64 << 10;
/// How long `--follow` waits before looking for more.
const FOLLOW_POLL: Duration = Duration::from_millis(200);
/// A document file from this size on is read in two halves at once.
const HALVES_MIN_BYTES: usize = 1 << 20;
/// How long a followed file's run of NULs with more of the file after it is waited on to be
/// written over before it is read as it is (see [`Reopening`], "Holes").
const HOLE_WAIT: Duration = Duration::from_secs(2);
/// A followed file's run of NULs is waited on only when it ends this near the file's end
/// (see [`Reopening`], "Holes").
const HOLE_REACH: u64 = 64 << 10;

/// Set by the first Ctrl-C while a live input is read (see [`end_live_input_on_interrupt`]).
static INTERRUPTED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Makes Ctrl-C end a live input (`--follow`, stdin) instead of killing the process: a
/// followed file ends at the next look for more, a pipe when its writer (which got the same
/// Ctrl-C from the terminal) closes it; what was read is decoded and written and the summary
/// printed, as at the end of any input. A second Ctrl-C stops at once (exit status 130).
fn end_live_input_on_interrupt() {
    // Once per process: a second call's error means the handler is already in place.
    let _ = ctrlc::set_handler(|| {
        if INTERRUPTED.swap(true, std::sync::atomic::Ordering::SeqCst) {
            std::process::exit(130);
        }
        ewriteln!("rdsaudit: interrupted: the input ends here (Ctrl-C again stops at once)");
    });
}

/// What every command's sink shares: the filter in front of the command's own sink `out`,
/// the input's file name (`file`, told to `out` once and put on each unparsed line and failed
/// record), and the problems (unparsed lines, failed records) kept for the accounting behind
/// it.
pub struct Filtered<'f, T> {
    filter: &'f EventFilter,
    /// The server's TABLE events seen in this record or piece, for `--table`
    /// ([`EventFilter::matches_in`]).
    tables: Enricher,
    file: Option<&'f str>,
    pub out: T,
    pub problems: Problems,
}

impl<'f, T> Filtered<'f, T> {
    pub fn new(filter: &'f EventFilter, file: Option<&'f str>, mut out: T) -> Self
    where
        T: CommandSink,
    {
        out.set_file(file);
        Filtered {
            filter,
            tables: Enricher::default(),
            file,
            out,
            problems: Problems::default(),
        }
    }
}

/// A command's own sink: events, the file they come from, and what it may want of the ones
/// the filter dropped.
pub trait CommandSink: Sink {
    /// The input file (as named on the command line; `None` for stdin) of the events that
    /// follow: said once per record or piece instead of on a copy of every event.
    fn set_file(&mut self, file: Option<&str>);

    /// An event the filter dropped (`--enrich` still learns tables from its TABLE events).
    fn dropped(&mut self, event: &AuditEvent<'_>) {
        let _ = event;
    }

    /// An input that failed whole, or a streamed gzip input whose stream failed part way
    /// (`--rejects` keeps a line for it).
    fn failed_input(&mut self, failure: &InputFailure<'_>) {
        let _ = failure;
    }
}

impl<T: CommandSink> Sink for Filtered<'_, T> {
    fn event(&mut self, event: &AuditEvent<'_>) {
        if !self.filter.matches_in(event, &mut self.tables) {
            self.out.dropped(event);
            return;
        }
        self.out.event(event);
    }

    fn unparsed(&mut self, line: &UnparsedLine<'_>) {
        self.problems.unparsed(line);
        self.out.unparsed(&UnparsedLine {
            file: self.file,
            ..*line
        });
    }

    fn failed_record(&mut self, record: &FailedRecord<'_>) {
        self.problems.failed(record);
        self.out.failed_record(&FailedRecord {
            file: self.file,
            ..*record
        });
    }

    fn finish(&mut self) {
        self.out.finish();
    }
}

/// How inputs are read; shared by `parse` and `stats`.
pub struct Reader<'f> {
    decoder: Decoder,
    filter: &'f EventFilter,
    progress: bool,
    kind: Option<InputKind>,
    max_file_size: usize,
    follow: bool,
}

/// One input being read: its name, and the sink maker and output of the command.
struct Run<'a, M, E> {
    name: &'a str,
    /// The name events carry (`None` for stdin).
    file: Option<&'a str>,
    acc: &'a mut Accounting,
    make: &'a M,
    emit: &'a mut E,
    /// The file's size, when it is a file: a document is read into a buffer of that size.
    size: Option<u64>,
    /// The file again, for reads at an offset (a document read in halves).
    file_at: Option<std::fs::File>,
    bar: Option<ProgressBar>,
    /// A streamed gzip input: how far its decoder got.
    gzip: Option<Arc<GzipProgress>>,
}

type Source = Box<dyn Read + Send>;

impl<'f> Reader<'f> {
    pub fn new(args: &InputArgs, filter: &'f EventFilter, progress: bool) -> Self {
        Reader {
            decoder: Decoder::builder()
                .kind(args.kind)
                .max_input_bytes(args.max_file_size)
                .build(),
            filter,
            progress,
            kind: args.kind,
            max_file_size: args.max_file_size,
            follow: args.follow,
        }
    }

    /// Whether `--follow` was given.
    pub fn follows(&self) -> bool {
        self.follow
    }

    /// Reads the input at `path` (`-`: stdin), counting everything in `acc` and handing each
    /// record's (or text piece's) sink to `emit` in input order. An error means the output
    /// side failed, or that `--follow` was given for an input it does not follow
    /// ([`not_followed`]: nothing was read).
    pub fn read<T, M, E>(
        &self,
        path: &Path,
        acc: &mut Accounting,
        make: M,
        mut emit: E,
    ) -> io::Result<()>
    where
        T: CommandSink + Send,
        M: Fn() -> T + Sync,
        E: FnMut(T) -> io::Result<()>,
    {
        let name = path.display().to_string();
        let stdin = path == Path::new("-");
        // A pipe named by a path (a FIFO, `<(ssh host tail -F audit.log)`, `/dev/stdin`) is
        // read as stdin is, followed or not: what comes is handed out as it comes (it waited
        // for a whole piece), and it cannot be read again at an offset, which following a
        // file across rotation does (session 32's adversary X, F6: reading stopped at the
        // second read, `Illegal seek`).
        let mut pipe = stdin;
        let (source, len, file_at): (Source, Option<u64>, _) = if stdin {
            (Box::new(io::stdin()), None, None)
        } else {
            match std::fs::File::open(path) {
                Ok(f) => {
                    let meta = f.metadata().ok();
                    let len = meta.as_ref().map(std::fs::Metadata::len);
                    let regular = meta.as_ref().is_some_and(std::fs::Metadata::is_file);
                    pipe = meta.as_ref().is_some_and(is_pipe);
                    if pipe {
                        (Box::new(f), None, None)
                    } else if self.follow {
                        (Box::new(Reopening::new(f, path)), len, None)
                    } else {
                        let file_at = regular.then(|| f.try_clone().ok()).flatten();
                        (Box::new(f), len, file_at)
                    }
                }
                Err(e) => return unreadable(acc, &name, &e, &make, &mut emit),
            }
        };
        let bar = self.bar(len);
        acc.start_input(bar.clone());
        let source: Source = match &bar {
            Some(bar) => Box::new(bar.wrap_read(source)),
            None => source,
        };
        let mut run = Run {
            name: &name,
            file: (!stdin).then_some(name.as_str()),
            acc,
            make: &make,
            emit: &mut emit,
            size: len,
            file_at,
            bar,
            gzip: None,
        };
        let follow = self.follow && !pipe;
        if pipe || follow {
            end_live_input_on_interrupt();
        }
        let result = self.dispatch(source, pipe || follow, follow, &mut run);
        run.acc.finish_input(&name);
        result
    }

    /// Tells text from a JSON document by the first bytes (inflated when gzip) and reads it.
    fn dispatch<T, M, E>(
        &self,
        mut source: Source,
        eager: bool,
        follow: bool,
        run: &mut Run<'_, M, E>,
    ) -> io::Result<()>
    where
        T: CommandSink + Send,
        M: Fn() -> T + Sync,
        E: FnMut(T) -> io::Result<()>,
    {
        let (head, rotated) = match sniff(&mut source, follow) {
            Ok(sniffed) => sniffed,
            Err(e) => return run.unreadable(&e),
        };
        let gzip = head.starts_with(&input::detect::GZIP_MAGIC)
            && self.kind != Some(InputKind::CloudWatchGzip);
        let inner = if gzip {
            inflate_head(&head)
        } else {
            head.clone()
        };
        // A gzip stream that gives nothing readable goes to the decoder whole, which reports
        // it as a broken CloudWatch payload. UTF-16 (or what may be UTF-16) too: the decoder
        // transcodes it whole.
        let encoding = input::encoding::to_utf8(&inner).map(|t| t.encoding);
        let utf8 = match encoding {
            Ok(Encoding::Utf8) => Some(inner.as_slice()),
            Ok(Encoding::Utf8Bom) => inner.get(3..),
            _ => None,
        };
        // Detected once: it reads every line of the first 64 KiB.
        let kind = self.kind.or_else(|| utf8.map(input::detect));
        let text = match (self.kind, utf8, kind) {
            (_, None, _) | (_, _, None) => false,
            (Some(kind), _, _) => is_streamed(kind),
            (None, Some(utf8), Some(kind)) => is_streamed(kind) && (!gzip || has_content(utf8)),
        };
        let prefixed = kind == Some(InputKind::PrefixedText);
        if follow && (gzip || !text) {
            return Err(not_followed(run.name, gzip, kind, &encoding));
        }
        if !text {
            return self.document(head, source, run);
        }
        let source: Source = match (gzip, follow) {
            (true, _) => {
                let source = Cursor::new(head).chain(source);
                let progress = Arc::new(GzipProgress::default());
                run.gzip = Some(Arc::clone(&progress));
                let inner = io::BufReader::with_capacity(1 << 18, source);
                let taken = Arc::clone(&progress);
                let inflated = flate2::bufread::MultiGzDecoder::new(Counted { inner, taken });
                Box::new(Inflated { inflated, progress })
            }
            (false, true) => Box::new(Follow {
                head: Cursor::new(head),
                rotated: rotated.into(),
                file: source,
                failed: None,
                idle: false,
            }),
            (false, false) => Box::new(Cursor::new(head).chain(source)),
        };
        let stream = TextStream::new(source)
            .eager(eager)
            .live(follow && !gzip)
            .prefixed(prefixed);
        self.text(stream, run)
    }

    /// Streams audit text through the decoder.
    fn text<T, M, E>(&self, stream: TextStream<Source>, run: &mut Run<'_, M, E>) -> io::Result<()>
    where
        T: CommandSink + Send,
        M: Fn() -> T + Sync,
        E: FnMut(T) -> io::Result<()>,
    {
        let (filter, file, make) = (self.filter, run.file, run.make);
        let (name, acc, emit) = (run.name, &mut *run.acc, &mut *run.emit);
        let result = self.decoder.decode_text_stream(
            stream,
            || Filtered::new(filter, file, make()),
            |done| hand_over(name, acc, emit, done),
        );
        finish(result, run)
    }

    /// Reads a JSON document whole (up to the file limit; `head`, its first bytes, were read
    /// from `source` already) and decodes it in parallel.
    fn document<T, M, E>(
        &self,
        head: Vec<u8>,
        source: Source,
        run: &mut Run<'_, M, E>,
    ) -> io::Result<()>
    where
        T: CommandSink + Send,
        M: Fn() -> T + Sync,
        E: FnMut(T) -> io::Result<()>,
    {
        let limit = self.max_file_size;
        // Sized up front (with the decoder's padding) when the file's size is known: grown
        // by doubling, a 6 MB event was copied 8 MB and faulted in 16 MB of fresh pages.
        let size = run
            .size
            .map_or(0, |n| usize::try_from(n).unwrap_or(usize::MAX));
        let halves = match &run.file_at {
            Some(file) if (HALVES_MIN_BYTES..=limit).contains(&size) => {
                read_in_halves(file, &head, size, run.bar.as_ref())
            }
            _ => Ok(None),
        };
        let read = match halves {
            Ok(Some(bytes)) => Ok(bytes),
            // Not as large as its size said (it is being written): read in one go.
            Ok(None) => {
                let mut bytes = Vec::with_capacity(size.min(limit) + 1 + simd_json::INPUT_PADDING);
                let source = Cursor::new(head).chain(source);
                source
                    .take(limit as u64 + 1)
                    .read_to_end(&mut bytes)
                    .map(|_| bytes)
            }
            Err(e) => Err(e),
        };
        let mut bytes = match read {
            Ok(bytes) => bytes,
            Err(e) => return run.unreadable(&e),
        };
        if bytes.len() > limit {
            let what = format!("larger than {}", too_large(limit));
            return run.input_failed("too_large", &what);
        }
        bytes.reserve_exact(simd_json::INPUT_PADDING);
        let (filter, file, make) = (self.filter, run.file, run.make);
        let (name, acc, emit) = (run.name, &mut *run.acc, &mut *run.emit);
        let result = self.decoder.decode_parallel(
            &mut bytes,
            || Filtered::new(filter, file, make()),
            |done| hand_over(name, acc, emit, done),
        );
        if let Err(StopError::Decode(DecodeError::Gzip(InflateError::OutputLimit { limit }))) =
            &result
        {
            let what = format!("inflates to more than {}", too_large(*limit));
            return run.input_failed("too_large", &what);
        }
        finish(result, run)
    }

    /// A byte-sized progress bar on stderr, for large files when stderr is a terminal.
    fn bar(&self, len: Option<u64>) -> Option<ProgressBar> {
        let len = len?;
        if !self.progress || len < PROGRESS_MIN_BYTES || !io::stderr().is_terminal() {
            return None;
        }
        let bar = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr());
        if let Ok(style) = ProgressStyle::with_template("{bar:40} {bytes}/{total_bytes} {elapsed}")
        {
            bar.set_style(style);
        }
        Some(bar)
    }
}

/// Reports a record's or piece's problems and hands its sink to the command.
fn hand_over<T, E>(
    name: &str,
    acc: &mut Accounting,
    emit: &mut E,
    done: Done<'_, Filtered<'_, T>>,
) -> io::Result<Next>
where
    E: FnMut(T) -> io::Result<()>,
{
    acc.record(name, &done);
    emit(done.sink.out).map(|()| Next::Continue)
}

/// Counts what the decoder read; an input it could not read at all is a failed input.
fn finish<T, M, E>(result: Result<Report, StopError>, run: &mut Run<'_, M, E>) -> io::Result<()>
where
    T: CommandSink,
    M: Fn() -> T,
    E: FnMut(T) -> io::Result<()>,
{
    match result {
        Ok(report) => run.acc.report.merge(&report),
        Err(StopError::Decode(e)) => return run.input_failed(decode_reason(&e), &e.to_string()),
        Err(StopError::Read {
            line,
            report,
            source,
        }) => {
            run.acc.report.merge(&report);
            // `line` is the one after the last line break read.
            let whole = line.saturating_sub(1);
            return match run.gzip.as_deref() {
                Some(gzip) if is_gzip_error(&source) => {
                    let partial = gzip.partial_line.load(Ordering::Relaxed);
                    let last = if partial { line } else { whole };
                    run.gzip_failed(last, gzip.taken.load(Ordering::Relaxed), &source)
                }
                _ => {
                    let what = format!("reading stopped after {whole} whole lines: {source}");
                    run.input_failed("read", &what)
                }
            };
        }
        Err(StopError::Output(e)) => return Err(e),
        Err(e) => return Err(io::Error::other(e)),
    }
    Ok(())
}

impl<T, M, E> Run<'_, M, E>
where
    T: CommandSink,
    M: Fn() -> T,
    E: FnMut(T) -> io::Result<()>,
{
    /// An input that failed whole: counted, said, and a line in `--rejects`.
    fn input_failed(&mut self, reason: &'static str, what: &str) -> io::Result<()> {
        self.acc.input_failed(self.name, what);
        self.reject(InputFailure {
            kind: "input",
            file: self.name,
            reason,
            error: what,
            offset: None,
        })
    }

    /// A streamed gzip input whose stream failed its check (CRC-32, length) or ended inside
    /// a member, after line `after`: the lines before were decoded and written, as a stream
    /// is checked only at its end; the rest is one failed record (kind `gzip`) named by the
    /// compressed byte `offset` where the decoder stopped.
    fn gzip_failed(&mut self, after: u64, offset: u64, source: &io::Error) -> io::Result<()> {
        let error =
            format!("gzip stream failed at compressed byte {offset}, after line {after}: {source}");
        let what = format!(
            "{error}; the events before it from this file were written before the check failed"
        );
        self.acc.stream_failed(self.name, "gzip", &what);
        self.reject(InputFailure {
            kind: "record",
            file: self.name,
            reason: "gzip",
            error: &error,
            offset: Some(offset),
        })
    }

    /// Hands the command a sink holding only `failure`, after the input's other sinks.
    fn reject(&mut self, failure: InputFailure<'_>) -> io::Result<()> {
        reject(self.make, self.emit, &failure)
    }

    /// The input could not be read after it was opened (see [`unreadable`]).
    fn unreadable(&mut self, error: &io::Error) -> io::Result<()> {
        unreadable(self.acc, self.name, error, self.make, self.emit)
    }
}

/// An input that could not be opened or read: counted and said in `acc`, and a line of its
/// own in `--rejects` (kind `input`, reason `unreadable`), so that the rejects file names
/// every input nothing came from.
pub fn unreadable<T, M, E>(
    acc: &mut Accounting,
    name: &str,
    error: &io::Error,
    make: &M,
    emit: &mut E,
) -> io::Result<()>
where
    T: CommandSink,
    M: Fn() -> T,
    E: FnMut(T) -> io::Result<()>,
{
    acc.unreadable(name, error);
    let failure = InputFailure {
        kind: "input",
        file: name,
        reason: "unreadable",
        error: &error.to_string(),
        offset: None,
    };
    reject(make, emit, &failure)
}

/// Hands `emit` a sink of its own holding only `failure`.
fn reject<T, M, E>(make: &M, emit: &mut E, failure: &InputFailure<'_>) -> io::Result<()>
where
    T: CommandSink,
    M: Fn() -> T,
    E: FnMut(T) -> io::Result<()>,
{
    let mut sink = make();
    sink.failed_input(failure);
    emit(sink)
}

/// A stable name for why an input could not be decoded at all (`reason` in `--rejects`).
fn decode_reason(e: &DecodeError) -> &'static str {
    match e {
        DecodeError::NotAnEvent { .. } => "not_an_event",
        DecodeError::Gzip(_) => "gzip",
        DecodeError::Encoding(_) => "encoding",
        DecodeError::LogsApi(_) => "logs_api",
        DecodeError::Syslog(_) => "syslog",
        DecodeError::InsightsHeader(_) => "insights_header",
        _ => "decode",
    }
}

/// Whether a read error of a gzip stream is the stream's (flate2: corrupt data, a failed
/// check, an end inside a member), not the file's.
fn is_gzip_error(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::InvalidInput | io::ErrorKind::InvalidData | io::ErrorKind::UnexpectedEof
    )
}

/// How far a streamed gzip input got, for the error when its stream fails: the compressed
/// bytes its decoder took, and whether the text it gave ends inside a line.
#[derive(Default)]
struct GzipProgress {
    taken: AtomicU64,
    partial_line: AtomicBool,
}

/// The text inflated from a streamed gzip input, noting whether it ends inside a line.
struct Inflated<R> {
    inflated: R,
    progress: Arc<GzipProgress>,
}

impl<R: Read> Read for Inflated<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inflated.read(buf)?;
        if let Some(last) = buf.get(..n).and_then(<[u8]>::last) {
            let partial = *last != b'\n';
            self.progress.partial_line.store(partial, Ordering::Relaxed);
        }
        Ok(n)
    }
}

/// A compressed input counting the bytes its gzip decoder took.
struct Counted<R> {
    inner: R,
    taken: Arc<GzipProgress>,
}

impl<R> Counted<R> {
    fn add(&self, n: usize) {
        let n = u64::try_from(n).unwrap_or(u64::MAX);
        self.taken.taken.fetch_add(n, Ordering::Relaxed);
    }
}

impl<R: BufRead> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.add(n);
        Ok(n)
    }
}

impl<R: BufRead> BufRead for Counted<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        self.inner.fill_buf()
    }

    fn consume(&mut self, amt: usize) {
        self.add(amt);
        self.inner.consume(amt);
    }
}

/// The shapes read as a stream (any size, output as they come): audit text, and prefixed text
/// (CloudWatch exports, `aws logs tail`).
fn is_streamed(kind: InputKind) -> bool {
    matches!(kind, InputKind::AuditText | InputKind::PrefixedText)
}

/// The message for an input past `--max-file-size`.
fn too_large(limit: usize) -> String {
    format!(
        "{}, the limit for an input read whole (raise it with --max-file-size)",
        super::args::human_size(limit)
    )
}

/// Reads the first bytes: enough to decide the input's kind, at most [`SNIFF_BYTES`] (or
/// all of a shorter input). The kind of a text input is told by its first line (a syslog
/// header, `aws logs tail`'s prefix, an Insights CSV header, an audit timestamp), so a pipe
/// is read until one whole line with content has come (inflated, for gzip): a slow writer's
/// first read may hold one byte of the gzip magic or half a prefix (review 16's R16-1: such a
/// stream was read as audit text, every line unparsed). A live pipe is waited on no longer
/// than its first line takes. So is a `follow`ed file, at its end, until Ctrl-C: it may be
/// empty when opened (`aws logs tail`'s lines appended to an empty followed file were read
/// as audit text, 8 of 424 lines parsed), unless it starts with `{` or the gzip magic: what
/// is read whole is not followed ([`not_followed`]), and the first bytes say so (a JSON
/// document written in two parts was read half, an invalid document; a `.gz` without a
/// line break was waited on until Ctrl-C).
///
/// Also returns where in those bytes a followed file rotated ([`Reopening`]): the old file's
/// bytes before such a place are its last text, never joined to the next file's first line
/// ([`Follow`] says the rotation there).
fn sniff(source: &mut Source, follow: bool) -> io::Result<(Vec<u8>, Vec<usize>)> {
    let mut head = vec![0; SNIFF_BYTES];
    let mut rotated = Vec::new();
    let mut len = 0;
    while len < SNIFF_BYTES {
        let n = match source.read(head.get_mut(len..).unwrap_or_default()) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            // Rotated before its first line was whole: read on in the next file, the old
            // file's text ended here (session 32's adversary, F1: `20241205 09:59:00,srv,`
            // joined to the new file's first line forged a user name holding its time).
            Err(e) if text_stream::is_next_file(&e) => {
                if len > 0 && rotated.last() != Some(&len) {
                    rotated.push(len);
                }
                continue;
            }
            other => other?,
        };
        len += n;
        let seen = head.get(..len).unwrap_or_default();
        if decided(seen) {
            break;
        }
        if n == 0 {
            let document = content(seen).starts_with(b"{");
            let gzip = seen.starts_with(&input::detect::GZIP_MAGIC);
            if !follow || document || gzip || INTERRUPTED.load(Ordering::SeqCst) {
                break;
            }
            std::thread::sleep(FOLLOW_POLL);
        }
    }
    head.truncate(len);
    Ok((head, rotated))
}

/// Whether an input that is neither a file nor a directory (a FIFO, a socket, a terminal)
/// is read as stdin is ([`Reader::read`]).
fn is_pipe(meta: &std::fs::Metadata) -> bool {
    !meta.is_file() && !meta.is_dir()
}

/// Whether `path` is read as it comes, each piece written out at once: stdin (`-`) or a pipe
/// named by a path ([`Reader::read`]).
pub fn is_live(path: &Path) -> bool {
    path == Path::new("-") || std::fs::metadata(path).is_ok_and(|m| is_pipe(&m))
}

/// The error for a `--follow`ed input that is not a log written a line at a time (audit text
/// and prefixed text, streamed live): gzip (compressed whole), or a shape read whole (`kind`:
/// a JSON document, Insights CSV, syslog; `None` when it is not UTF-8, told by its
/// `encoding`). Read whole, such a file was read to wherever its writer had got (a Kinesis
/// event written in two parts: an invalid document, exit 1; in one: its events, and the run
/// ended by itself): the user is told to read it without `--follow`, and nothing is read.
fn not_followed(
    name: &str,
    gzip: bool,
    kind: Option<InputKind>,
    encoding: &Result<Encoding, input::encoding::EncodingError>,
) -> io::Error {
    let shape = match (gzip, kind, encoding) {
        (true, ..) => "gzip (a compressed file is read to its end)".to_owned(),
        (false, Some(kind), _) => format!("`{}` ({}), read whole", kind.name(), kind.description()),
        (false, None, Ok(encoding)) => format!("{} text, transcoded whole", encoding.name()),
        (false, None, Err(e)) => format!("not UTF-8 text ({e})"),
    };
    io::Error::new(
        io::ErrorKind::Unsupported,
        format!(
            "{name}: --follow reads a log as it grows, a line at a time (audit text, `aws logs \
             tail` text); this input is {shape}: read it without --follow"
        ),
    )
}

/// Whether the first bytes of an input, `seen`, are enough to tell its kind: a first line
/// with content and its end, after the gzip magic inflated when it starts so.
fn decided(seen: &[u8]) -> bool {
    if input::detect::GZIP_MAGIC.starts_with(seen) {
        // Nothing yet, or one byte of the magic: gzip or not is still open.
        return false;
    }
    if seen.starts_with(&input::detect::GZIP_MAGIC) {
        has_whole_line(&inflate_head(seen))
    } else {
        has_whole_line(seen)
    }
}

/// Whether `bytes` hold content and then a line break. (A byte at a time, this was 524,000
/// instructions on a JSON file's first 64 KiB, which hold none: 0.3% of 6,000 one-line
/// Kinesis records' whole run.)
fn has_whole_line(bytes: &[u8]) -> bool {
    memchr::memchr2(b'\n', b'\r', content(bytes)).is_some()
}

/// A file of `size` bytes whose first bytes `head` were read: the rest read at offsets, the
/// two halves at once on rayon's threads (each faults in its own fresh pages: the buffer is
/// `calloc`'d, not written first), with room for the decoder's padding. `None` when the file
/// is not `size` bytes long (shorter, or growing): the caller then reads it in one go.
#[cfg(unix)]
fn read_in_halves(
    file: &std::fs::File,
    head: &[u8],
    size: usize,
    bar: Option<&ProgressBar>,
) -> io::Result<Option<Vec<u8>>> {
    let Some(rest) = size.checked_sub(head.len()) else {
        return Ok(None);
    };
    let mid = head.len() + rest / 2;
    // One byte past `size` tells a file that grew since its size was taken.
    let mut bytes = vec![0; size + 1 + simd_json::INPUT_PADDING];
    huge_pages(&mut bytes);
    let (front, back) = bytes.split_at_mut(mid);
    let (front_head, front) = front.split_at_mut(head.len());
    front_head.copy_from_slice(head);
    let back = back.get_mut(..=size - mid).unwrap_or_default();
    let (wanted_front, wanted_back) = (front.len(), back.len() - 1);
    let (a, b) = rayon::join(
        || fill_at(file, front, head.len() as u64, bar),
        || fill_at(file, back, mid as u64, bar),
    );
    if a? != wanted_front || b? != wanted_back {
        return Ok(None);
    }
    bytes.truncate(size);
    Ok(Some(bytes))
}

#[cfg(not(unix))]
fn read_in_halves(
    _: &std::fs::File,
    _: &[u8],
    _: usize,
    _: Option<&ProgressBar>,
) -> io::Result<Option<Vec<u8>>> {
    Ok(None)
}

/// Asks the kernel to back `buf` (a fresh, untouched file buffer) with transparent huge
/// pages when it faults it in, where it offers them on request
/// (`/sys/kernel/mm/transparent_hugepage/enabled` is `madvise`, as on Debian and Ubuntu):
/// the whole 2 MiB stretches of the buffer are then faulted in as one page each, not 512
/// (a 5.7 MB event: page faults 2,107 -> 1,082, cpu -6%; BENCHMARKS.md, "Session 16").
/// Advice only: where it is refused or the kernel has none, nothing changes.
#[cfg(target_os = "linux")]
fn huge_pages(buf: &mut [u8]) {
    /// A smaller buffer holds no whole huge page (x86_64 and aarch64 with 4 KiB pages).
    const HUGE_PAGE_BYTES: usize = 2 << 20;
    if buf.len() < HUGE_PAGE_BYTES {
        return;
    }
    let page = rustix::param::page_size();
    let start = buf.as_ptr().addr();
    let (Some(first), Some(end)) = (
        start.checked_next_multiple_of(page),
        start.checked_add(buf.len()).map(|end| end - end % page),
    ) else {
        return;
    };
    let Some(len) = end.checked_sub(first) else {
        return;
    };
    // SAFETY: `MADV_HUGEPAGE` changes neither the bytes of the range nor which addresses
    // are mapped: it only asks for huge pages when the range is faulted in, and the range
    // (whole pages from `first` to `end`) lies inside `buf`, which is ours alone (`&mut`).
    let advised = unsafe {
        rustix::mm::madvise(
            buf.as_mut_ptr().with_addr(first).cast(),
            len,
            rustix::mm::Advice::LinuxHugepage,
        )
    };
    // Refused (no transparent huge pages in this kernel): the buffer works as it is.
    let _ = advised;
}

#[cfg(not(target_os = "linux"))]
fn huge_pages(_: &mut [u8]) {}

/// Reads `file` from `offset` into `buf` until it is full or the file ends; the bytes read.
#[cfg(unix)]
fn fill_at(
    file: &std::fs::File,
    buf: &mut [u8],
    offset: u64,
    bar: Option<&ProgressBar>,
) -> io::Result<usize> {
    use std::os::unix::fs::FileExt as _;
    let mut filled = 0;
    while filled < buf.len() {
        let n = match file.read_at(
            buf.get_mut(filled..).unwrap_or_default(),
            offset + filled as u64,
        ) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        filled += n;
        if let Some(bar) = bar {
            bar.inc(n as u64);
        }
    }
    Ok(filled)
}

/// Whether `bytes` hold something besides a byte order mark and whitespace.
fn has_content(bytes: &[u8]) -> bool {
    !content(bytes).is_empty()
}

/// `bytes` from their first byte past a UTF-8 byte order mark and whitespace.
fn content(bytes: &[u8]) -> &[u8] {
    bytes
        .strip_prefix(b"\xef\xbb\xbf")
        .unwrap_or(bytes)
        .trim_ascii_start()
}

/// What the start of a gzip stream inflates to (as much as `compressed` gives; errors end it).
fn inflate_head(compressed: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut decoder = flate2::read::MultiGzDecoder::new(compressed);
    let mut chunk = [0u8; 4096];
    while out.len() < SNIFF_BYTES {
        match decoder.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => out.extend_from_slice(chunk.get(..n).unwrap_or_default()),
        }
    }
    out
}

/// `--follow`: a file that is being written, its first bytes `head` already read off it
/// ([`sniff`]). At its end it says so once ([`io::ErrorKind::WouldBlock`]: the stream hands
/// out what it has read, [`TextStream::live`]), then waits for more instead of ending, until
/// Ctrl-C ([`end_live_input_on_interrupt`]).
struct Follow {
    head: Cursor<Vec<u8>>,
    /// Where in `head` the followed file rotated ([`sniff`]): the head is read to each of
    /// them, then the rotation is said there, as [`Reopening`] says it.
    rotated: std::collections::VecDeque<usize>,
    file: Source,
    /// The error of the read that followed the head's, for the next read.
    failed: Option<io::Error>,
    /// Whether the end has been said since the last bytes read.
    idle: bool,
}

/// A followed file across rotation, as `tail -F` follows one: at the end of the file, when
/// its path now names another file (renamed away and created again: the audit plugin
/// rotates `server_audit.log` to `server_audit.log.1`) or the file is shorter than what was
/// read (truncated in place: logrotate's `copytruncate`), reading goes on from the start of
/// the file the path names now. The old file is read to its end first (what the server wrote
/// before it rotated); then one read says so ([`text_stream::next_file`]): the text stream
/// ends the old file's text there (its last line is not joined to the new file's first) and
/// line numbers start again at 1, as `line` (1-based, per file) says. `file` stays the path
/// followed.
///
/// A file truncated and written again past what was read is no shorter: so before each read
/// the first and the last bytes read are read again where they were
/// ([`Reopening::rewritten`]); when one of them changed, the file was written anew and is
/// read from its start (review 30: 968 records of a `copytruncate` refilled within one look
/// were skipped without a word; a reader behind its writer joined an old line's start to a
/// new line's end). A byte read as NUL is not compared: it may be a hole (a file grown by a
/// hole, read as NULs, and filled in place is read on, not again); every other byte is
/// (session 31's adversary A, F9: a NUL anywhere in the last 256 bytes, which any client can
/// put in the log, turned the check off, and a file rewritten with the same last 256 bytes
/// was not told: its first bytes, a record's time and ids, now tell it). Not told: a file
/// written anew whose first and last bytes read are the same bytes at the same places (or
/// NULs read there before).
///
/// Holes: a writer that extends the file before it writes the text (`ftruncate` then a
/// write or a copy into a mapping, `fallocate`, a write past the end before the one before
/// it) leaves bytes that read as NULs until it fills them (session 32's adversary X, F5:
/// the events written into them were lost, read as one line of NULs). So a run of NULs read
/// is not handed out at once: the bytes before it are, and the run is read again at each
/// look, until it is filled (its text is read then), or, when more of the file follows it,
/// [`HOLE_WAIT`] has passed since that was first seen (a client's NUL in a statement, a
/// hole never filled: `copytruncate` under a writer that does not append): then it is
/// handed out as it is. A run reaching the end of the file waits for what comes after it;
/// one ending more than [`HOLE_REACH`] before the file's end goes out at once (text the
/// writer left behind; a log read from its start is not slowed by its NULs). At Ctrl-C, or
/// when the file ends before the run (truncated), the run is handed out as it was read.
/// Not read: text written into a hole more than [`HOLE_REACH`] before the file's end, or
/// more than [`HOLE_WAIT`] after more of the file was written past it.
struct Reopening {
    file: std::fs::File,
    path: std::path::PathBuf,
    /// Bytes read from `file` (handed out; the file's offset is there).
    read: u64,
    /// The first bytes read (up to [`TAIL`]), to tell a file written anew.
    head: Vec<u8>,
    /// The last bytes read (up to [`TAIL`]), to tell a file written anew.
    tail: Vec<u8>,
    /// A run of NULs at byte `read`, held back: it may be a hole not written yet.
    hole: Option<Hole>,
}

/// A run of NULs held back by [`Reopening`] (see "Holes" there).
struct Hole {
    /// Where it starts (the first byte not handed out).
    at: u64,
    /// How long it was when last read.
    len: usize,
    /// Since when more of the file is seen after it.
    followed_since: Option<std::time::Instant>,
}

/// How many of the first and of the last bytes read tell a file written anew (two preads of
/// them a read).
const TAIL: usize = 256;

impl Reopening {
    fn new(file: std::fs::File, path: &Path) -> Self {
        Reopening {
            file,
            path: path.to_path_buf(),
            read: 0,
            head: Vec::with_capacity(TAIL),
            tail: Vec::with_capacity(TAIL),
            hole: None,
        }
    }

    /// Reads into `buf` from byte `self.read`, at the file's end going on to the file its
    /// path names next ([`Reopening::reopen`]: an error says so); the bytes handed out.
    fn read_outside_holes(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.file.read(buf)?;
        if n > 0 || buf.is_empty() {
            return self.outside_holes(buf, n);
        }
        if let Some(held) = self.release_hole(buf, false)? {
            return Ok(held);
        }
        if self.reopen()? {
            return Err(text_stream::next_file());
        }
        Ok(0)
    }

    /// How many of the `n` bytes just read into `buf` (at byte `self.read`) are handed out:
    /// all of them but from a run of NULs that may be a hole not written yet (see "Holes" in
    /// [`Reopening`]), which is read again at the next look; the file's offset is set back to
    /// the first byte not handed out.
    fn outside_holes(&mut self, buf: &[u8], n: usize) -> io::Result<usize> {
        let read = buf.get(..n).unwrap_or_default();
        let first = memchr::memchr(0, read);
        let keep = match first {
            None => {
                self.hole = None;
                return Ok(n);
            }
            // The text before the run: the run is looked at by the next read.
            Some(first) if first > 0 => {
                self.hole = None;
                first
            }
            Some(_) => self.hole_read(read)?,
        };
        if keep < n {
            io::Seek::seek(&mut self.file, io::SeekFrom::Start(self.read + keep as u64))?;
        }
        Ok(keep)
    }

    /// How much of `read`, which starts with a run of NULs at byte `self.read`, is handed
    /// out: none while the run may still be filled, else the run.
    fn hole_read(&mut self, read: &[u8]) -> io::Result<usize> {
        let run = read.iter().position(|&b| b != 0).unwrap_or(read.len());
        let at = self.read;
        let end = at + run as u64;
        let file_len = self.file.metadata()?.len();
        let hole = match self.hole.take() {
            Some(hole) if hole.at == at => Hole { len: run, ..hole },
            _ => Hole {
                at,
                len: run,
                followed_since: None,
            },
        };
        let interrupted = INTERRUPTED.load(Ordering::SeqCst);
        let left_behind = file_len.saturating_sub(end) > HOLE_REACH;
        // A file renamed away is read to its end, a hole in it too: its writer moved on.
        let moved = match (std::fs::metadata(&self.path), self.file.metadata()) {
            (Ok(named), Ok(open)) => !same_file(&named, &open),
            _ => false,
        };
        let followed_since =
            (end < file_len).then(|| hole.followed_since.unwrap_or_else(std::time::Instant::now));
        let waited = followed_since.is_some_and(|since| since.elapsed() >= HOLE_WAIT);
        if interrupted || left_behind || moved || waited {
            return Ok(run);
        }
        self.hole = Some(Hole {
            followed_since,
            ..hole
        });
        Ok(0)
    }

    /// The run of NULs held back, handed out as it was read (NULs, into `buf`): the file
    /// is no longer the text it was in (`gone`: truncated before it, or written anew), so it
    /// is read as it would have been at once. `None` when none is held, or when the file
    /// now ends where the run started (its writer gave back the room it had made: no text
    /// of the file was there, and none is lost).
    fn release_hole(&mut self, buf: &mut [u8], gone: bool) -> io::Result<Option<usize>> {
        let Some(hole) = self.hole.take() else {
            return Ok(None);
        };
        if !gone && self.file.metadata()?.len() >= hole.at {
            return Ok(None);
        }
        let len = hole.len.min(buf.len());
        let Some(held) = buf.get_mut(..len) else {
            return Ok(None);
        };
        held.fill(0);
        io::Seek::seek(&mut self.file, io::SeekFrom::Start(self.read + len as u64))?;
        Ok(Some(len))
    }

    /// Whether the first or the last bytes read are no longer where they were read (a byte
    /// read as NUL not compared: a hole read before it was written).
    fn rewritten(&self) -> io::Result<bool> {
        let tail_at = self.read - self.tail.len() as u64;
        Ok(self.changed(&self.tail, tail_at)? || self.changed(&self.head, 0)?)
    }

    /// Whether `kept`, read at byte `at`, is there no longer: a byte but NUL differs now, or
    /// the file ends before it.
    #[cfg(unix)]
    fn changed(&self, kept: &[u8], at: u64) -> io::Result<bool> {
        use std::os::unix::fs::FileExt as _;
        if kept.iter().all(|&b| b == 0) {
            return Ok(false);
        }
        let mut now = [0u8; TAIL];
        let now = now.get_mut(..kept.len()).unwrap_or_default();
        let mut got = 0;
        while got < now.len() {
            let rest = now.get_mut(got..).unwrap_or_default();
            match self.file.read_at(rest, at + got as u64)? {
                0 => return Ok(true),
                n => got += n,
            }
        }
        Ok(kept
            .iter()
            .zip(now.iter())
            .any(|(&was, &is)| was != 0 && was != is))
    }

    #[cfg(not(unix))]
    fn changed(&self, _: &[u8], _: u64) -> io::Result<bool> {
        Ok(false)
    }

    /// Keeps the first [`TAIL`] bytes of the file, of `read` read at byte `self.read`.
    fn keep_head(&mut self, read: &[u8]) {
        let room = TAIL.saturating_sub(self.head.len());
        if room > 0 && self.read == self.head.len() as u64 {
            self.head
                .extend_from_slice(read.get(..room.min(read.len())).unwrap_or_default());
        }
    }

    /// Keeps the last [`TAIL`] bytes read.
    fn keep_tail(&mut self, read: &[u8]) {
        let new = read
            .get(read.len().saturating_sub(TAIL)..)
            .unwrap_or_default();
        let keep = self.tail.len().min(TAIL - new.len());
        self.tail.drain(..self.tail.len() - keep);
        self.tail.extend_from_slice(new);
    }

    /// At the end of the file, or when it was written anew ([`Reopening::rewritten`]):
    /// whether reading goes on elsewhere or from the start (see [`Reopening`]); a path that
    /// names nothing for now (between the rename and the new file) is waited for.
    fn reopen(&mut self) -> io::Result<bool> {
        let (Ok(named), Ok(open)) = (std::fs::metadata(&self.path), self.file.metadata()) else {
            return Ok(false);
        };
        let how = if !same_file(&named, &open) {
            match std::fs::File::open(&self.path) {
                Ok(file) => self.file = file,
                Err(_) => return Ok(false),
            }
            "replaced (renamed away and created again): reading the new file"
        } else if open.len() < self.read {
            io::Seek::seek(&mut self.file, io::SeekFrom::Start(0))?;
            "truncated: reading it again"
        } else if self.rewritten()? {
            io::Seek::seek(&mut self.file, io::SeekFrom::Start(0))?;
            "written anew (the first or last bytes read are no longer where they were): reading it again"
        } else {
            return Ok(false);
        };
        // As `tail -F` says so: the events that follow come from another text.
        ewriteln!(
            "rdsaudit: {}: {how} from its start (line numbers start again at 1)",
            self.path.display()
        );
        self.read = 0;
        self.head.clear();
        self.tail.clear();
        Ok(true)
    }
}

impl Read for Reopening {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        // The file may have been written anew since the last read (what was held back of
        // the text before goes out first).
        let n = if !buf.is_empty() && self.rewritten()? {
            match self.release_hole(buf, true)? {
                Some(held) => held,
                None if self.reopen()? => return Err(text_stream::next_file()),
                None => self.read_outside_holes(buf)?,
            }
        } else {
            self.read_outside_holes(buf)?
        };
        let read = buf.get(..n).unwrap_or_default();
        self.keep_head(read);
        self.read += n as u64;
        self.keep_tail(read);
        Ok(n)
    }
}

/// Whether two metadata describe one file (same device and inode).
#[cfg(unix)]
fn same_file(a: &std::fs::Metadata, b: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::MetadataExt as _;
    (a.dev(), a.ino()) == (b.dev(), b.ino())
}

/// Elsewhere a renamed file is not told from its successor: only truncation is followed.
#[cfg(not(unix))]
fn same_file(_: &std::fs::Metadata, _: &std::fs::Metadata) -> bool {
    true
}

impl Read for Follow {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let at = usize::try_from(self.head.position()).unwrap_or(usize::MAX);
        if let Some(&rotated) = self.rotated.front() {
            if rotated <= at {
                self.rotated.pop_front();
                return Err(text_stream::next_file());
            }
            // The old file's text up to its rotation, alone.
            let until = buf.len().min(rotated - at);
            return self.head.read(buf.get_mut(..until).unwrap_or_default());
        }
        let n = self.head.read(buf)?;
        if n > 0 {
            // The file's next bytes in the same read: a read cut short at the head's end
            // would say the stream caught up with the writer. An error here is the next
            // read's (a rotation is said once).
            let rest = buf.get_mut(n..).unwrap_or_default();
            return match self.file.read(rest) {
                Ok(more) => Ok(n + more),
                Err(e) => {
                    self.failed = Some(e);
                    Ok(n)
                }
            };
        }
        if let Some(e) = self.failed.take() {
            return Err(e);
        }
        loop {
            // Before the read: a read after Ctrl-C hands out what the file held back
            // ([`Reopening`], "Holes").
            let interrupted = INTERRUPTED.load(Ordering::SeqCst);
            let n = self.file.read(buf)?;
            if n > 0 || buf.is_empty() || interrupted {
                self.idle = false;
                return Ok(n);
            }
            if !std::mem::replace(&mut self.idle, true) {
                return Err(io::ErrorKind::WouldBlock.into());
            }
            std::thread::sleep(FOLLOW_POLL);
        }
    }
}
