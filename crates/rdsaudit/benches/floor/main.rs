//! The floor: only the work no audit-log tool can avoid, as one process, for
//! `benches/compare.sh`.
//!
//! ```text
//! floor <input> <output-bytes>
//! ```
//!
//! A Lambda Kinesis event (the input starts with `{`): every `"data":"<base64>"` string is
//! base64-decoded and gzip-inflated with libdeflate (buffers reused); anything else is taken
//! for a plain log, read a piece at a time into one reused buffer (as `rdsaudit` streams it:
//! reading a 100 MB log whole cost 24,800 page faults, 0.17-0.62 s of system time on the
//! machine of session 35, more than the rest of the floor). Every decompressed byte (every
//! byte of a plain log) is then read once
//! (the newlines are counted, as any line splitter must), and `<output-bytes>` bytes (the size
//! of `rdsaudit parse`'s NDJSON for the same input) are copied from the decompressed text and
//! written to stdout as the input is consumed. No JSON parsing, no line scanning, no
//! formatting: what a real tool adds on top of this is its own cost.

#![allow(clippy::indexing_slicing, clippy::unwrap_used, clippy::expect_used)]

use std::io::{Read as _, Write as _};

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
    let mut file = std::fs::File::open(path).expect("open the input");
    let len = file.metadata().expect("the input's size").len() as usize;
    let out_bytes: usize = out_bytes.parse().expect("output bytes: a number");
    let mut out = Output::new(out_bytes, len);
    let mut piece = vec![0u8; PIECE];
    let first = read_piece(&mut file, &mut piece);
    let newlines = if piece[..first].first() == Some(&b'{') {
        let mut input = piece[..first].to_vec();
        file.read_to_end(&mut input).expect("read the input");
        kinesis(&input, &mut out)
    } else {
        plain(&mut file, &mut piece, first, &mut out)
    };
    out.finish();
    eprintln!("floor: {newlines} newlines, {out_bytes} bytes written");
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

/// A plain log, a piece at a time (the first, `first` bytes long, already in `piece`): one
/// pass; returns the newlines seen.
fn plain(file: &mut std::fs::File, piece: &mut [u8], first: usize, out: &mut Output) -> usize {
    let (mut newlines, mut consumed, mut n) = (0, 0, first);
    while n > 0 {
        newlines += memchr::memchr_iter(b'\n', &piece[..n]).count();
        consumed += n;
        out.progress(consumed, &piece[..n]);
        n = read_piece(file, piece);
    }
    newlines
}

/// Fills `piece` from `file` (short only at the end); returns the bytes read.
fn read_piece(file: &mut std::fs::File, piece: &mut [u8]) -> usize {
    let mut n = 0;
    while n < piece.len() {
        match file.read(&mut piece[n..]).expect("read the input") {
            0 => break,
            k => n += k,
        }
    }
    n
}

/// Writes `total` bytes in all, in step with the share of the input consumed.
struct Output {
    total: usize,
    input_len: usize,
    written: usize,
    block: Vec<u8>,
    stdout: std::io::StdoutLock<'static>,
}

impl Output {
    fn new(total: usize, input_len: usize) -> Self {
        Self {
            total,
            input_len: input_len.max(1),
            written: 0,
            block: Vec::with_capacity(BLOCK),
            stdout: std::io::stdout().lock(),
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

    fn finish(mut self) {
        self.fill(self.total, b"\n");
        self.flush();
        self.stdout.flush().expect("flush");
    }
}
