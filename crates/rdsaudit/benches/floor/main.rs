//! The floor: only the work no audit-log tool can avoid, as one process, for
//! `benches/compare.sh`.
//!
//! ```text
//! floor <input> <output-bytes>
//! ```
//!
//! A Lambda Kinesis event (the input starts with `{`): every `"data":"<base64>"` string is
//! base64-decoded and gzip-inflated with libdeflate (buffers reused); anything else is taken
//! for a plain log, read a piece at a time into one reused buffer as `rdsaudit` streams it
//! (read whole, a 100 MB log cost 24,788 page faults, 0.09-0.62 s of system time on the
//! machine of session 35: more than the rest of the floor). Every decompressed byte (every
//! byte of a plain log) is then read once (the newlines are counted, as any line splitter
//! must), and `<output-bytes>` bytes (the size of `rdsaudit parse`'s NDJSON for the same
//! input) are copied from the decompressed text and written to stdout's descriptor, 256 KiB
//! at a time, as the input is consumed. No JSON parsing, no line scanning, no formatting: what
//! a real tool adds on top of this is its own cost.

#![allow(clippy::indexing_slicing, clippy::unwrap_used, clippy::expect_used)]

use std::io::{Read, Seek as _, Write as _};
use std::os::fd::AsFd as _;

use base64::Engine as _;

/// Output is written in blocks of this size, as a streaming tool would.
const BLOCK: usize = 256 << 10;
/// A plain log is read in pieces of this size.
const PIECE: usize = 1 << 20;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, path, out_bytes] = args.as_slice() else {
        eprintln!("usage: floor <input> <output-bytes>");
        std::process::exit(2);
    };
    let out_bytes: usize = out_bytes.parse().expect("output bytes: a number");
    let mut file = std::fs::File::open(path).expect("open the input");
    let meta = file.metadata().expect("the input's metadata");
    let mut first = [0u8; 1];
    let sniffed = read_piece(&mut file, &mut first).expect("read the input");
    let (newlines, written) = if meta.is_file() && first[..sniffed] != [b'{'] {
        // A plain log, streamed: its size (for the output's pace) is known up front.
        file.seek(std::io::SeekFrom::Start(0))
            .expect("seek the input");
        let mut out = Output::new(out_bytes, meta.len() as usize);
        (plain(&mut file, &mut out), out.finish())
    } else {
        // A Kinesis event (one JSON document), or an input that is not a regular file: whole.
        let mut input = Vec::with_capacity(meta.len() as usize + 1);
        input.extend_from_slice(&first[..sniffed]);
        file.read_to_end(&mut input).expect("read the input");
        let mut out = Output::new(out_bytes, input.len());
        let newlines = if input.first() == Some(&b'{') {
            kinesis(&input, &mut out)
        } else {
            plain(&mut input.as_slice(), &mut out)
        };
        (newlines, out.finish())
    };
    eprintln!("floor: {newlines} newlines, {written} bytes written");
}

/// Each record: base64, inflate, one pass; returns the newlines seen.
fn kinesis(input: &[u8], out: &mut Output) -> usize {
    let (mut gzip, mut text) = (Vec::new(), Vec::new());
    let mut inflater = libdeflater::Decompressor::new();
    let key = memchr::memmem::Finder::new(b"\"data\":\"");
    let mut at = 0;
    let mut newlines = 0;
    while let Some(found) = key.find(&input[at..]) {
        let start = at + found + key.needle().len();
        let len = memchr::memchr(b'"', &input[start..]).expect("closed string");
        let b64 = &input[start..start + len];
        gzip.resize(b64.len() / 4 * 3 + 3, 0);
        let n = base64::engine::general_purpose::STANDARD
            .decode_slice(b64, &mut gzip)
            .expect("base64");
        let isize_le: [u8; 4] = gzip[n - 4..n].try_into().unwrap();
        text.resize(u32::from_le_bytes(isize_le) as usize, 0);
        let m = inflater
            .gzip_decompress(&gzip[..n], &mut text)
            .expect("gzip");
        newlines += memchr::memchr_iter(b'\n', &text[..m]).count();
        at = start + len;
        out.progress(at, &text[..m]);
    }
    newlines
}

/// A plain log, a piece at a time into one reused buffer: one pass; returns the newlines
/// seen.
fn plain(input: &mut impl Read, out: &mut Output) -> usize {
    let mut piece = vec![0u8; PIECE];
    let (mut newlines, mut consumed) = (0, 0);
    loop {
        let n = read_piece(input, &mut piece).expect("read the input");
        if n == 0 {
            return newlines;
        }
        newlines += memchr::memchr_iter(b'\n', &piece[..n]).count();
        consumed += n;
        out.progress(consumed, &piece[..n]);
    }
}

/// Fills `piece` from `input` (short only at the end); returns the bytes read.
fn read_piece(input: &mut impl Read, piece: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < piece.len() {
        match input.read(&mut piece[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// Writes `total` bytes in all, in step with the share of the input consumed.
struct Output {
    total: usize,
    input_len: usize,
    written: usize,
    block: Vec<u8>,
    /// Standard output's descriptor as a file: `Stdout` is line-buffered, and would search
    /// every block for a newline (a quarter of the event floor's instructions).
    stdout: std::fs::File,
}

impl Output {
    fn new(total: usize, input_len: usize) -> Self {
        Self {
            total,
            input_len: input_len.max(1),
            written: 0,
            block: Vec::with_capacity(BLOCK),
            stdout: std::io::stdout()
                .as_fd()
                .try_clone_to_owned()
                .expect("standard output")
                .into(),
        }
    }

    /// `consumed` input bytes are done: copy output from `text` up to that share of `total`.
    fn progress(&mut self, consumed: usize, text: &[u8]) {
        let due = (self.total as u128 * consumed as u128 / self.input_len as u128) as usize;
        self.fill(due, text);
    }

    fn fill(&mut self, due: usize, text: &[u8]) {
        let text: &[u8] = if text.is_empty() { b" " } else { text };
        while self.written + self.block.len() < due {
            let room = BLOCK - self.block.len();
            let n = room
                .min(due - self.written - self.block.len())
                .min(text.len());
            self.block.extend_from_slice(&text[..n]);
            if self.block.len() == BLOCK {
                self.flush();
            }
        }
    }

    fn flush(&mut self) {
        self.stdout.write_all(&self.block).expect("write");
        self.written += self.block.len();
        self.block.clear();
    }

    /// Writes the rest; returns the bytes written in all.
    fn finish(mut self) -> usize {
        self.fill(self.total, b"\n");
        self.flush();
        self.written
    }
}
