//! Reading inputs: loading a file or stdin, deciding what it holds (by content, or as told),
//! and running it through the library's pipeline in chunks, so output flows in input order
//! while later chunks are still being parsed.

use std::io::{self, IsTerminal as _, Read as _};
use std::path::Path;

use bumpalo::Bump;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use rayon::prelude::*;
use rdsaudit::AuditEvent;
use rdsaudit::input::gzip::{DEFAULT_MAX_OUTPUT, Inflater};
use rdsaudit::input::source::{self, InputKind, Payload, SourceParser, SourceRecord};
use rdsaudit::pipeline::{Pipeline, Worker};

use super::accounting::Accounting;
use super::args::InputKindArg;

/// Largest decompressed size of a whole gzip input file: ten times the 100 MB at which
/// Aurora rotates audit files, so a gzip bomb given to the CLI stops at 1 GiB.
const FILE_INFLATE_LIMIT: usize = 1 << 30;
/// Records handed to the pipeline at a time; their output is written before the next chunk.
const RECORDS_PER_CHUNK: usize = 512;
/// Size of the pieces a text file is split into; a group of pieces per thread is parsed in
/// parallel, then written.
const TEXT_PIECE_BYTES: usize = 1 << 20;
/// Inputs smaller than this get no progress bar.
const PROGRESS_MIN_BYTES: usize = 4 << 20;

/// An input's name (as given, `-` for stdin) and its bytes, followed by simd-json padding.
pub struct Loaded {
    pub name: String,
    buf: Vec<u8>,
    len: usize,
}

pub fn load(path: &Path) -> io::Result<Loaded> {
    let mut buf = Vec::new();
    if path == Path::new("-") {
        io::stdin().lock().read_to_end(&mut buf)?;
    } else {
        buf = std::fs::read(path)?;
    }
    let len = buf.len();
    buf.resize(len + simd_json::INPUT_PADDING, 0);
    Ok(Loaded {
        name: path.display().to_string(),
        buf,
        len,
    })
}

/// How inputs are read; shared by `parse` and `stats`.
pub struct Reader<'v, F> {
    pub pipeline: Pipeline,
    pub kind: Option<InputKindArg>,
    pub visit: &'v F,
    pub progress: bool,
}

/// Receives each record's (or text piece's) output, in input order. An error (stdout closed)
/// stops reading.
pub type Emit<'e, W> = dyn FnMut(W) -> io::Result<()> + 'e;

/// Where the results of the input being read go.
struct Destination<'a, 'e, W> {
    name: &'a str,
    acc: &'a mut Accounting,
    emit: &'a mut Emit<'e, W>,
    bar: Option<ProgressBar>,
}

impl<F> Reader<'_, F> {
    /// Reads one input, counting everything in `acc` and handing outputs to `emit`.
    pub fn read<W>(
        &self,
        input: &mut Loaded,
        acc: &mut Accounting,
        emit: &mut Emit<'_, W>,
    ) -> io::Result<()>
    where
        W: Default + Send,
        F: Fn(&AuditEvent<'_>, &Bump, &mut W) + Sync,
    {
        let bar = self.bar(input.len);
        acc.start_input(bar.clone());
        let name = input.name.clone();
        let mut to = Destination {
            name: &name,
            acc,
            emit,
            bar,
        };
        let bytes = input.buf.get(..input.len).unwrap_or_default();
        let gzip = bytes.starts_with(&[0x1f, 0x8b]);
        let result = match self.kind {
            Some(InputKindArg::CloudwatchGzip) => self.records(vec![gzip_record(bytes)], &mut to),
            kind if gzip => self.inflate_then(bytes, kind, &mut to),
            kind => {
                let kind = kind.unwrap_or_else(|| detected(source::detect(bytes)));
                self.dispatch(kind, &mut input.buf, input.len, &mut to)
            }
        };
        to.acc.finish_input(&name);
        result
    }

    /// A gzip input: inflate it, then read what it holds. When it does not inflate and no kind
    /// was given, it is taken for a CloudWatch payload and counted as one failed record.
    fn inflate_then<W>(
        &self,
        bytes: &[u8],
        kind: Option<InputKindArg>,
        to: &mut Destination<'_, '_, W>,
    ) -> io::Result<()>
    where
        W: Default + Send,
        F: Fn(&AuditEvent<'_>, &Bump, &mut W) + Sync,
    {
        let mut inflater = Inflater::with_limit(FILE_INFLATE_LIMIT);
        match inflater.inflate(bytes) {
            Ok(inflated) => {
                let (buf, len) = inflated.into_padded();
                let inner = buf.get(..len).unwrap_or_default();
                let kind = kind.unwrap_or_else(|| detected(source::detect(inner)));
                self.dispatch(kind, buf, len, to)
            }
            Err(_) if kind.is_none() => self.records(vec![gzip_record(bytes)], to),
            Err(e) => {
                to.acc.input_failed(to.name, &format!("gzip: {e}"));
                Ok(())
            }
        }
    }

    /// Reads `buf[..len]` (followed by simd-json padding) as `kind`.
    fn dispatch<W>(
        &self,
        kind: InputKindArg,
        buf: &mut [u8],
        len: usize,
        to: &mut Destination<'_, '_, W>,
    ) -> io::Result<()>
    where
        W: Default + Send,
        F: Fn(&AuditEvent<'_>, &Bump, &mut W) + Sync,
    {
        let mut parser = SourceParser::new();
        let records = match kind {
            InputKindArg::Text => return self.text(buf.get(..len).unwrap_or_default(), to),
            InputKindArg::Kinesis => source::parse_kinesis_event(buf, len, &mut parser)
                .map_err(|e| format!("not a Lambda Kinesis event: {e}")),
            InputKindArg::Awslogs => source::parse_awslogs_event(buf, len, &mut parser)
                .map(|r| vec![r])
                .map_err(|e| format!("not a CloudWatch Logs Lambda event: {e}")),
            InputKindArg::CloudwatchJson => Ok(vec![SourceRecord::new(Payload::Json(
                buf.get(..len).unwrap_or_default(),
            ))]),
            InputKindArg::CloudwatchGzip => {
                Ok(vec![gzip_record(buf.get(..len).unwrap_or_default())])
            }
        };
        match records {
            Ok(records) => self.records(records, to),
            Err(what) => {
                to.acc.input_failed(to.name, &what);
                Ok(())
            }
        }
    }

    /// Runs Kinesis / CloudWatch records through the pipeline, a chunk at a time.
    fn records<W>(
        &self,
        records: Vec<SourceRecord<'_>>,
        to: &mut Destination<'_, '_, W>,
    ) -> io::Result<()>
    where
        W: Default + Send,
        F: Fn(&AuditEvent<'_>, &Bump, &mut W) + Sync,
    {
        let parallel = rayon::current_num_threads() > 1;
        let mut index = 0;
        for chunk in records.chunks(RECORDS_PER_CHUNK) {
            let batch = self.pipeline.process(chunk, parallel, self.visit);
            for (outcome, record) in batch.records.into_iter().zip(chunk) {
                to.acc
                    .record(to.name, index, record.sequence_number, &outcome);
                (to.emit)(outcome.output)?;
                index += 1;
            }
            if let Some(bar) = &to.bar {
                let len = bar.length().unwrap_or(0);
                bar.set_position(len * index as u64 / records.len().max(1) as u64);
            }
        }
        Ok(())
    }

    /// Runs a plain log through the library's workers, a group of pieces at a time.
    fn text<W>(&self, text: &[u8], to: &mut Destination<'_, '_, W>) -> io::Result<()>
    where
        W: Default + Send,
        F: Fn(&AuditEvent<'_>, &Bump, &mut W) + Sync,
    {
        let pieces =
            rdsaudit::input::text::split_for_parallel(text, text.len() / TEXT_PIECE_BYTES + 1);
        let group = rayon::current_num_threads() * 2;
        let mut done = 0;
        for pieces in pieces.chunks(group) {
            let outcomes: Vec<_> = pieces
                .par_iter()
                .with_max_len(1)
                .map_init(
                    || Worker::new(DEFAULT_MAX_OUTPUT),
                    |worker, &(first_line, piece)| {
                        worker.process_text(piece, first_line, self.visit)
                    },
                )
                .collect();
            for outcome in outcomes {
                to.acc.text(to.name, &outcome);
                (to.emit)(outcome.output)?;
            }
            done += pieces.iter().map(|(_, p)| p.len() as u64).sum::<u64>();
            if let Some(bar) = &to.bar {
                bar.set_position(done.min(bar.length().unwrap_or(0)));
            }
        }
        Ok(())
    }

    /// A byte-sized progress bar on stderr, for large inputs when stderr is a terminal.
    fn bar(&self, len: usize) -> Option<ProgressBar> {
        if !self.progress || len < PROGRESS_MIN_BYTES || !io::stderr().is_terminal() {
            return None;
        }
        let bar = ProgressBar::with_draw_target(Some(len as u64), ProgressDrawTarget::stderr());
        if let Ok(style) = ProgressStyle::with_template("{bar:40} {bytes}/{total_bytes} {elapsed}")
        {
            bar.set_style(style);
        }
        Some(bar)
    }
}

fn gzip_record(bytes: &[u8]) -> SourceRecord<'_> {
    SourceRecord::new(Payload::Gzip(bytes))
}

/// The CLI's name for a detected kind. Gzip content has been inflated by the time this is
/// asked, except when it would not inflate.
fn detected(kind: InputKind) -> InputKindArg {
    match kind {
        InputKind::KinesisEvent => InputKindArg::Kinesis,
        InputKind::CloudWatchLogsEvent => InputKindArg::Awslogs,
        InputKind::GzipPayload => InputKindArg::CloudwatchGzip,
        InputKind::EnvelopeJson => InputKindArg::CloudwatchJson,
        InputKind::AuditText | InputKind::GzipAuditText => InputKindArg::Text,
    }
}
