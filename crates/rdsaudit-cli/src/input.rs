//! Reading inputs: loading a file or stdin and running it through the library's [`Decoder`],
//! whose sinks come back in input order a chunk at a time, so output flows while later
//! records are still being decoded.

use std::io::{self, IsTerminal as _, Read as _};
use std::path::Path;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use rdsaudit::decoder::{Next, StopError};
use rdsaudit::sink::{FailedRecord, UnparsedLine};
use rdsaudit::{AuditEvent, Decoder, Sink};
use rdsaudit_sql::filter::EventFilter;

use super::accounting::{Accounting, Problems};

/// Inputs smaller than this get no progress bar.
const PROGRESS_MIN_BYTES: usize = 4 << 20;

/// An input's name (as given, `-` for stdin) and its bytes.
pub struct Loaded {
    pub name: String,
    pub bytes: Vec<u8>,
}

pub fn load(path: &Path) -> io::Result<Loaded> {
    let mut bytes = Vec::new();
    if path == Path::new("-") {
        io::stdin().lock().read_to_end(&mut bytes)?;
    } else {
        bytes = std::fs::read(path)?;
    }
    // Room for the padding the decoder appends, so it does not reallocate.
    bytes.reserve_exact(simd_json::INPUT_PADDING);
    Ok(Loaded {
        name: path.display().to_string(),
        bytes,
    })
}

/// What every command's sink shares: the filter in front of the command's own sink `out`, and
/// the problems (unparsed lines, failed records) kept for the accounting behind it.
pub struct Filtered<'f, T> {
    filter: &'f EventFilter,
    pub out: T,
    pub problems: Problems,
}

impl<'f, T> Filtered<'f, T> {
    pub fn new(filter: &'f EventFilter, out: T) -> Self {
        Filtered {
            filter,
            out,
            problems: Problems::default(),
        }
    }
}

/// A command's sink: it gets the events that pass the filter, and may look at the others.
pub trait CommandSink: Sink {
    /// An event the filter dropped (`--enrich` still learns tables from its TABLE events).
    fn dropped(&mut self, event: &AuditEvent<'_>) {
        let _ = event;
    }
}

impl<T: CommandSink> Sink for Filtered<'_, T> {
    fn event(&mut self, event: &AuditEvent<'_>) {
        if self.filter.matches(event) {
            self.out.event(event);
        } else {
            self.out.dropped(event);
        }
    }

    fn unparsed(&mut self, line: &UnparsedLine<'_>) {
        self.problems.unparsed(line);
        self.out.unparsed(line);
    }

    fn failed_record(&mut self, record: &FailedRecord<'_>) {
        self.problems.failed(record);
    }
}

/// How inputs are read; shared by `parse` and `stats`.
pub struct Reader<'f> {
    pub decoder: Decoder,
    pub filter: &'f EventFilter,
    pub progress: bool,
}

impl<'f> Reader<'f> {
    /// Reads one input, counting everything in `acc` and handing each record's (or text
    /// piece's) sink to `emit` in input order. An error means the output side failed.
    pub fn read<T, M, E>(
        &self,
        input: &mut Loaded,
        acc: &mut Accounting,
        make: M,
        mut emit: E,
    ) -> io::Result<()>
    where
        T: CommandSink + Send,
        M: Fn() -> T + Sync,
        E: FnMut(T) -> io::Result<()>,
    {
        let bar = self.bar(input.bytes.len());
        acc.start_input(bar.clone());
        let name = input.name.clone();
        let result = self.decoder.decode_parallel(
            &mut input.bytes,
            || Filtered::new(self.filter, make()),
            |done| {
                acc.record(&name, &done);
                if let Some(bar) = &bar {
                    let len = bar.length().unwrap_or(0) as f64;
                    bar.set_position((len * done.progress) as u64);
                }
                emit(done.sink.out).map(|()| Next::Continue)
            },
        );
        let result = match result {
            Ok(report) => {
                acc.report.merge(&report);
                Ok(())
            }
            Err(StopError::Decode(e)) => {
                acc.input_failed(&name, &e.to_string());
                Ok(())
            }
            Err(StopError::Output(e)) => Err(e),
            Err(e) => Err(io::Error::other(e)),
        };
        acc.finish_input(&name);
        result
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
