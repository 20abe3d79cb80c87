//! `rdsaudit parse --rejects FILE`: every line and record that did not become an event, kept
//! whole with where it came from and why, one JSON object per line, so it can be fixed and
//! replayed:
//!
//! ```text
//! {"kind":"line","file":"audit.log","line":2,"reason":"MissingRetcode","error":"no return code after ...","raw":"20240615 10:31:01,db1,app,10.0.0.5,7,2,QUERY,shop,'SELECT 2'"}
//! {"kind":"record","file":"event.json","record":3,"sequence_number":"4961...","reason":"base64","error":"base64: ...","raw":"!!! not base64 !!!"}
//! {"kind":"record","file":"audit.log.gz","reason":"gzip","error":"gzip stream failed at compressed byte 5208, after line 174: ...","offset":5208}
//! {"kind":"input","file":"cut.json","reason":"not_an_event","error":"not a Lambda Kinesis event: invalid JSON at byte 31: ..."}
//! ```
//!
//! | key | value |
//! | --- | --- |
//! | `kind` | `line`: a log event or text line that is not an audit line; `record`: a Kinesis record or CloudWatch payload that could not be read, or the rest of a streamed gzip input whose stream failed (its check is at its end: the events before it were written); `input`: an input that failed whole (nothing of it became an event) or could not be opened or read (reason `unreadable`) |
//! | `file` | the input as named (not for stdin; `-` for stdin in `input` lines) |
//! | `offset` | a streamed gzip input's failure: the compressed byte it was found at |
//! | `line` | 1-based line in the file (text inputs); in a log event that held several lines (CloudWatch, the logs API), the line within its message |
//! | `page`, `event` | a log event of `aws logs filter-log-events` / `get-log-events` output: its page (1-based, only when the file holds several back to back) and its 1-based index in the page's `events` |
//! | `record` | 1-based record in the input (Lambda events, payload files) |
//! | `sequence_number`, `log_group`, `log_stream`, `event_id` | where known |
//! | `reason` | a stable name (`Timestamp`, `MissingRetcode`, `TooLong`, `base64`, `gzip`, `not_an_event`, `too_large`, `unreadable`, ...) |
//! | `error` | the whole message |
//! | `raw` | the bytes as they are in the input: the line (without its newline), a log event's message, the record's payload as delivered (base64 text of a Lambda event's record); a record whose shape is wrong (reason `shape`: no `data`, a key twice, both shapes): its JSON as in the input, empty only where a string it keeps (its sequence number) held an escape, as text; a Logs Insights row that does not read (reason `InsightsRow`): the row as in the file, quotes and all; a logs API event that does not read (`LogsApiEvent`): its JSON as in the file; a syslog line: the line with its header (never the rebuilt audit line); an export's or `aws logs tail` line: the line with its prefix (CloudWatch time, log stream) — the `error`'s byte offsets count from the start of that line as read, header or prefix included; none in `input` lines and a streamed gzip's failure (the input is the file) |
//! | `raw_base64` | only when `raw` is not valid UTF-8: the exact bytes (`raw` then holds them lossily) |
//! | `length`, `truncated` | a line longer than the longest record read: its length; `raw` is its start |
//!
//! Replay fixed text lines with `jq -r .raw rejects.ndjson | rdsaudit parse -`.

use std::fs::File;
use std::io::{self, Read as _, Seek as _, Write as _};

use base64::Engine as _;
use rdsaudit::LineError;
use rdsaudit::sink::{FailedRecord, UnparsedLine, json_str};

/// Appends the reject line for an unparsed log event or text line.
pub fn line(u: &UnparsedLine<'_>, out: &mut Vec<u8>) {
    out.extend_from_slice(br#"{"kind":"line""#);
    where_from(
        u.file,
        u.line_number,
        u.record_index,
        u.sequence_number,
        out,
    );
    if let Some(place) = u.place {
        if let Some(page) = place.page {
            let _ = write!(out, r#","page":{page}"#);
        }
        let _ = write!(out, r#","event":{}"#, place.index);
    }
    for (key, value) in [
        ("log_group", u.log_group),
        ("log_stream", u.log_stream),
        ("event_id", u.event_id),
    ] {
        if let Some(v) = value {
            key_str(out, key, v);
        }
    }
    why(u.reason.kind(), &u.reason.to_string(), out);
    raw(u.bytes, out);
    if let LineError::TooLong { len } = u.reason {
        let _ = write!(out, r#","length":{len},"truncated":true"#);
    }
    out.extend_from_slice(b"}\n");
}

/// Appends the reject line for a record that could not be read.
pub fn record(r: &FailedRecord<'_>, out: &mut Vec<u8>) {
    out.extend_from_slice(br#"{"kind":"record""#);
    where_from(r.file, None, Some(r.index), r.sequence_number, out);
    why(r.error.kind(), &r.error.to_string(), out);
    raw(r.payload, out);
    out.extend_from_slice(b"}\n");
}

/// An input that failed whole, or a streamed gzip input whose stream failed part way.
pub struct InputFailure<'a> {
    /// `input` or `record` (a streamed gzip's failure).
    pub kind: &'static str,
    /// The input as named; `-` for stdin.
    pub file: &'a str,
    pub reason: &'static str,
    pub error: &'a str,
    /// Where a streamed gzip input failed, in compressed bytes.
    pub offset: Option<u64>,
}

/// Appends the reject line for an input that failed whole or part way ([`InputFailure`]).
pub fn input(f: &InputFailure<'_>, out: &mut Vec<u8>) {
    out.extend_from_slice(br#"{"kind":"#);
    json_str(out, f.kind);
    key_str(out, "file", f.file);
    why(f.reason, f.error, out);
    if let Some(offset) = f.offset {
        let _ = write!(out, r#","offset":{offset}"#);
    }
    out.extend_from_slice(b"}\n");
}

fn where_from(
    file: Option<&str>,
    line: Option<u64>,
    record: Option<usize>,
    sequence_number: Option<&str>,
    out: &mut Vec<u8>,
) {
    if let Some(file) = file {
        key_str(out, "file", file);
    }
    if let Some(line) = line {
        let _ = write!(out, r#","line":{line}"#);
    }
    if let Some(index) = record {
        let _ = write!(out, r#","record":{}"#, index + 1);
    }
    if let Some(seq) = sequence_number {
        key_str(out, "sequence_number", seq);
    }
}

fn why(reason: &str, error: &str, out: &mut Vec<u8>) {
    key_str(out, "reason", reason);
    key_str(out, "error", error);
}

/// `raw`, and `raw_base64` when the bytes are not UTF-8.
fn raw(bytes: &[u8], out: &mut Vec<u8>) {
    match std::str::from_utf8(bytes) {
        Ok(text) => key_str(out, "raw", text),
        Err(_) => {
            key_str(out, "raw", &String::from_utf8_lossy(bytes));
            let exact = base64::engine::general_purpose::STANDARD.encode(bytes);
            key_str(out, "raw_base64", &exact);
        }
    }
}

fn key_str(out: &mut Vec<u8>, key: &str, value: &str) {
    out.push(b',');
    json_str(out, key);
    out.push(b':');
    json_str(out, value);
}

/// Reject bytes a chunk keeps in memory; past them its reject lines wait in a temporary file.
pub const SPOOL_IN_MEMORY: usize = 1 << 20;

/// The reject lines of one chunk (a record, a piece of text), waiting for the chunk's turn
/// to be written (chunks go out in input order). A line does not read in two bytes and its
/// reject line takes ~200 (its place, reason and error), so a 16 MiB record of one-byte
/// lines has ~1.6 GB of them (session 30's review: 417 MB for a 2,890-byte event with
/// `--rejects`): past [`SPOOL_IN_MEMORY`] they go to a temporary file ([`Spill`]), copied
/// to the rejects file in the chunk's turn. Every line is kept: a write that fails is
/// reported when the chunk is written, and fails the run.
#[derive(Debug, Default)]
pub struct Spool {
    /// The lines not yet spilled: appended to by [`line`], [`record`] and [`input`].
    pub bytes: Vec<u8>,
    spill: Spill,
}

impl Spool {
    /// Called after lines were appended to [`Spool::bytes`]: spills them past
    /// [`SPOOL_IN_MEMORY`].
    pub fn appended(&mut self) {
        if self.bytes.len() >= SPOOL_IN_MEMORY {
            self.spill.take(&mut self.bytes, "reject lines");
        }
    }

    /// Writes every line, in order, to `out`.
    pub fn write_to(&mut self, out: &mut dyn io::Write) -> io::Result<()> {
        self.spill.write_to(&self.bytes, out)
    }

    /// Holds no line; the memory's room is kept, the temporary file let go.
    pub fn clear(&mut self) {
        self.bytes.clear();
        self.spill.clear();
    }

    /// Whether lines wait in a temporary file.
    #[cfg(test)]
    pub fn has_spilled(&self) -> bool {
        self.spill.has_file()
    }
}

/// Where the bytes of a chunk waiting for its turn go past what it keeps in memory (its
/// reject lines: [`Spool`]; its events: `parse`'s chunks): an unnamed temporary file (in
/// `TMPDIR`, the `tempfile` crate, removed once open), copied to the output in the chunk's
/// turn. Nothing is lost: when no temporary file can be made or first written (a read-only
/// or full `TMPDIR`) the bytes stay in memory, as they did before there was a spill; when a
/// later write fails (the disk filled meanwhile) the file is cut back to what was whole in
/// it and every byte after stays in memory (session 32's adversary M: the run failed and
/// lost the record's events and every input after it). Either is said once on stderr for
/// each kind of bytes.
#[derive(Debug, Default)]
pub struct Spill {
    /// Boxed: a chunk is moved several times a record, and rarely spills.
    to: Option<Box<Spilled>>,
}

/// Where a [`Spill`]'s bytes past its memory went.
#[derive(Debug)]
enum Spilled {
    /// The bytes taken so far; `full`: a write to it failed (cut back to what was whole), so
    /// the bytes after them stay in memory.
    File { file: File, full: bool },
    /// No temporary file could be made or first written: the bytes stay in memory.
    InMemory,
    /// Writing to the file failed and it could not be cut back to what was whole: the run
    /// fails when the chunk is written.
    Failed(io::Error, &'static str),
}

/// The kinds of bytes (a [`Spill`]'s `what`) it was said stay in memory.
static SAID_IN_MEMORY: std::sync::Mutex<Vec<&'static str>> = std::sync::Mutex::new(Vec::new());

/// Says once for each kind of bytes (`what`) that they stay in memory, and why.
fn say_in_memory(what: &'static str, why: &str) {
    let first = SAID_IN_MEMORY.lock().is_ok_and(|mut said| {
        let first = !said.contains(&what);
        if first {
            said.push(what);
        }
        first
    });
    if first {
        ewriteln!(
            "rdsaudit: {why} for {what} in {}: they are kept in memory",
            std::env::temp_dir().display()
        );
    }
}

impl Spill {
    /// Moves `bytes` (the chunk's `what`, for the message should no file be made) to the
    /// end of the temporary file, made on the first call; `bytes` keeps its room. Left in
    /// memory when the file cannot be made or written (see [`Spill`]).
    pub fn take(&mut self, bytes: &mut Vec<u8>, what: &'static str) {
        let written = match self.to.as_deref_mut() {
            Some(Spilled::File { file, full: false }) => append(file, bytes),
            Some(Spilled::File { full: true, .. } | Spilled::InMemory | Spilled::Failed(..)) => {
                return;
            }
            // Unnamed: gone once closed, whatever ends the run. Until its first write is
            // whole every byte is still in memory: a file that cannot be made or filled
            // (a read-only or full `TMPDIR`) leaves them there.
            None => match tempfile::tempfile().and_then(|mut file| {
                file.write_all(bytes)?;
                Ok(file)
            }) {
                Ok(file) => {
                    self.to = Some(Box::new(Spilled::File { file, full: false }));
                    Ok(())
                }
                Err(e) => {
                    say_in_memory(what, &format!("no temporary file ({e})"));
                    self.to = Some(Box::new(Spilled::InMemory));
                    return;
                }
            },
        };
        match (written, self.to.as_deref_mut()) {
            (Ok(()), _) => bytes.clear(),
            (Err(Ok(e)), Some(Spilled::File { full, .. })) => {
                say_in_memory(what, &format!("the temporary file is full ({e})"));
                *full = true;
            }
            // Kept in memory, and the run fails when the chunk is written.
            (Err(Ok(e) | Err(e)), _) => self.to = Some(Box::new(Spilled::Failed(e, what))),
        }
    }

    /// Writes the bytes taken, then `rest` (those still in memory), to `out`.
    pub fn write_to(&mut self, rest: &[u8], out: &mut dyn io::Write) -> io::Result<()> {
        match self.to.as_deref_mut() {
            Some(Spilled::Failed(e, what)) => return Err(not_kept(e, what)),
            Some(Spilled::File { file, .. }) => {
                file.rewind().map_err(reading_back)?;
                io::copy(&mut Named(file), out)?;
            }
            Some(Spilled::InMemory) | None => {}
        }
        out.write_all(rest)
    }

    /// Hands `lines` the bytes taken, then `rest`, in blocks of whole lines (bytes are taken
    /// a whole line at a time): what the SQL joiner reads (`parse`'s chunks). A block holds
    /// at most [`BLOCK`] bytes and the longest line.
    pub fn lines_to(
        &mut self,
        rest: &[u8],
        mut lines: impl FnMut(&[u8]) -> io::Result<()>,
    ) -> io::Result<()> {
        match self.to.as_deref_mut() {
            Some(Spilled::Failed(e, what)) => return Err(not_kept(e, what)),
            Some(Spilled::File { file, .. }) => {
                file.rewind().map_err(reading_back)?;
                let mut block = Vec::with_capacity(BLOCK);
                loop {
                    let read = (&mut *file).take(BLOCK as u64).read_to_end(&mut block);
                    let read = read.map_err(reading_back)?;
                    let whole = memchr::memrchr(b'\n', &block).map_or(0, |i| i + 1);
                    if read == 0 {
                        // Whole lines were taken: nothing is left over but what has no end.
                        lines(&block)?;
                        break;
                    }
                    if whole > 0 {
                        lines(block.get(..whole).unwrap_or_default())?;
                        block.drain(..whole);
                    }
                }
            }
            Some(Spilled::InMemory) | None => {}
        }
        lines(rest)
    }

    /// The temporary file the bytes taken are in, from its start (it is let go: the spill
    /// holds nothing after).
    pub fn reader(&mut self) -> io::Result<Option<File>> {
        match self.to.take().map(|to| *to) {
            Some(Spilled::Failed(e, what)) => Err(not_kept(&e, what)),
            Some(Spilled::File { mut file, .. }) => {
                file.rewind().map_err(reading_back)?;
                Ok(Some(file))
            }
            Some(Spilled::InMemory) | None => Ok(None),
        }
    }

    /// Whether bytes were taken from memory (to a temporary file).
    pub fn has_taken(&self) -> bool {
        matches!(
            self.to.as_deref(),
            Some(Spilled::File { .. } | Spilled::Failed(..))
        )
    }

    /// Holds nothing: the temporary file let go.
    pub fn clear(&mut self) {
        self.to = None;
    }

    /// Whether bytes wait in a temporary file.
    #[cfg(test)]
    pub fn has_file(&self) -> bool {
        matches!(self.to.as_deref(), Some(Spilled::File { .. }))
    }
}

/// The most a [`Spill`] reads back at once ([`Spill::lines_to`]).
const BLOCK: usize = 1 << 20;

/// A temporary file read back, its errors named (a write error names the output it went to).
struct Named<'a>(&'a mut File);

impl io::Read for Named<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.read(buf).map_err(reading_back)
    }
}

/// An error reading back a temporary file.
pub fn reading_back(e: io::Error) -> io::Error {
    io::Error::new(
        e.kind(),
        format!(
            "reading back a temporary file in {}: {e}",
            std::env::temp_dir().display()
        ),
    )
}

/// Appends `bytes` to `file`. On failure the file is cut back to its length before
/// (`Err(Ok(e))`: what it holds is whole), or could not be (`Err(Err(e))`).
fn append(file: &mut File, bytes: &[u8]) -> Result<(), io::Result<io::Error>> {
    let before = file.stream_position().map_err(Err)?;
    file.write_all(bytes).map_err(|e| {
        file.set_len(before)
            .and_then(|()| file.seek(io::SeekFrom::Start(before)))
            .map(|_| e)
    })
}

/// The error of bytes that could not be kept in a temporary file ([`Spilled::Failed`]).
fn not_kept(e: &io::Error, what: &str) -> io::Error {
    io::Error::new(e.kind(), format!("keeping {what} in a temporary file: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Lines past the memory's share wait in a temporary file and come out whole, in order,
    /// after the ones still in memory went out before them; clearing lets the file go.
    #[test]
    fn a_spool_keeps_every_line_in_order_past_its_memory() {
        let mut spool = Spool::default();
        let mut expected = Vec::new();
        for i in 0..(3 * SPOOL_IN_MEMORY / 40) {
            let line = format!("{{\"kind\":\"line\",\"line\":{i}}}\n");
            spool.bytes.extend_from_slice(line.as_bytes());
            expected.extend_from_slice(line.as_bytes());
            spool.appended();
            assert!(spool.bytes.len() < SPOOL_IN_MEMORY + 64);
        }
        assert!(spool.has_spilled());
        let mut out = Vec::new();
        spool.write_to(&mut out).unwrap();
        assert_eq!(out, expected);
        spool.clear();
        assert!(!spool.has_spilled());
        let mut out = Vec::new();
        spool.write_to(&mut out).unwrap();
        assert!(out.is_empty());
    }
}
