//! CSV and TSV: a header row of [`COLUMNS`], then one row per event, fields in the same order.
//! A missing value is an empty field; `extra` is written as a JSON array; an object that is not
//! valid UTF-8 is written lossily with its exact bytes in `object_base64`, as in NDJSON, and
//! so is a name (user, host, database, server host) that is not, its bytes in the last four
//! columns, `serverhost_base64` to `database_base64` (after `line`: the columns before them
//! stay where they were; empty for a UTF-8 name). An
//! event whose line reads more than one way (a raw name may have forged it, see
//! docs/HOSTILE.md rule 3) has `true` in `ambiguous`, how many readings the line has in
//! `readings` and, when NDJSON leaves some of them unlisted, how many in
//! `alternatives_omitted`; those cells are empty for every other event. Rows end in `\n`.
//!
//! CSV quoting follows RFC 4180 as the `csv` crate writes it by default (the rows are written
//! by hand, straight into the output): a field is quoted when it holds the delimiter, a `"`, a
//! CR or a LF, and a `"` inside it is doubled.
//!
//! TSV is never quoted: one row per line and one field per tab for any input, so `cut -f`,
//! `awk -F'\t'` and `sort` read it right even when a name holds a tab or a line break. As
//! `mysql --batch` and PostgreSQL's text format write it, a backslash, tab, LF, CR and NUL in
//! a value are written `\\`, `\t`, `\n`, `\r` and `\0` (undo them in that one pass to get
//! the value back; an empty field is a missing value, there is no `\N`).
//!
//! CSV injection: a spreadsheet runs a cell that starts with `=`, `+`, `-` or `@` as a formula
//! (a tab or CR first is read past), and user names, hosts, databases and statements are
//! attacker text (a failed login's user name is whatever the client sent). So, following
//! OWASP's rule, such a cell (in CSV and TSV) is written with a `'` in front
//! (`=HYPERLINK(...)` becomes `'=HYPERLINK(...)`, `-1` becomes `'-1`), and so is a cell that
//! starts with a `'` itself (`'=cmd` becomes `''=cmd`), so the guard is reversible: to get
//! the value back, drop one leading `'` from every cell that starts with one (after CSV
//! unquoting or TSV unescaping). The `*_base64` cells are guarded too: base64 starts with `+`
//! for some bytes (`\xf8\x1d\x76` is `+B12`), which a spreadsheet computes as a formula; the
//! same reader's rule gives their base64 back (session 32's adversary X, F7).
//! [`CsvWriter::raw`] (the CLI's `--csv-raw`) writes values as they are, for programs that
//! read the file.
//!
//! ```
//! use rdsaudit::sink::{EventWriter, Format};
//! let event = rdsaudit::parse_line(br"20240323 13:36:09,ip-172-17-4-137,rdsadmin,localhost,4,149869,QUERY,,'SELECT \'a,b\'',0,,")?;
//! let mut out = Vec::new();
//! EventWriter::new(Format::Csv).write(&event, &mut out);
//! assert_eq!(
//!     String::from_utf8(out).unwrap(),
//!     "2024-03-23T13:36:09.000000Z,1711200969000000,rds_mysql,ip-172-17-4-137,rdsadmin,localhost,4,149869,QUERY,,\"SELECT 'a,b'\",,0,\"[\"\"\"\",\"\"\"\"]\",,,,,,,,,,,,,,\n"
//! );
//! # Ok::<(), rdsaudit::LineError>(())
//! ```

use super::COLUMNS;
use super::json_escape;
use super::lead::Lead;
use super::rfc3339::Rfc3339Cache;
use super::spare::{Buf, Decimal, Spare};
use crate::audit::event::{AuditEvent, Name, Operation};
use crate::audit::unescape::unescaped_byte;
use crate::swar::lanes;

// The target's sixteen-byte vector module, `neon` or `sse2` (each compiled only where its
// feature is on); targets with neither check with the SWAR words (`word_mask`).
#[cfg(neon)]
use neon as vector;
#[cfg(sse2)]
use sse2 as vector;

/// What a row takes beyond its object, but for long names and provenance: reserved once per
/// row ([`Spare`]), as NDJSON does.
const ESTIMATE: usize = 512;

/// Writes CSV (`,`) or TSV (`\t`) rows straight into the output, reusing its scratch buffer
/// and the text of the last second's timestamp: no per-row strings.
#[derive(Debug)]
pub struct CsvWriter {
    delimiter: u8,
    raw: bool,
    scratch: Vec<u8>,
    /// A non-UTF-8 object's lossy text, then its base64, as they are made.
    text: Vec<u8>,
    time: Rfc3339Cache,
    /// The `file` of events that name none ([`CsvWriter::set_file`]), and its cell, made
    /// once instead of checked on every row.
    file: Option<String>,
    file_cell: Vec<u8>,
    /// The `extra` cell of RDS for MySQL's two empty fields after every QUERY (`["",""]`,
    /// quoted for CSV), written as a constant instead of built per row; empty until the
    /// first (a front end makes a writer per piece of its input: no allocation up front).
    empty_pair: Vec<u8>,
    /// Any other `extra` last written (`["SSL"]` on every login over TLS): its raw text,
    /// whether there was one yet, and its cell, copied while the next is the same.
    extra_raw: Vec<u8>,
    extra_known: bool,
    extra_cell: Vec<u8>,
    /// The time, dialect and server host cells, as written for the last whole second.
    lead: Lead,
}

impl CsvWriter {
    /// A writer with this field delimiter: `\t` writes TSV (escaped, never quoted), anything
    /// else CSV (see the module docs).
    #[must_use]
    pub fn new(delimiter: u8) -> Self {
        CsvWriter {
            delimiter,
            raw: false,
            scratch: Vec::new(),
            text: Vec::new(),
            time: Rfc3339Cache::default(),
            file: None,
            file_cell: Vec::new(),
            empty_pair: Vec::new(),
            extra_raw: Vec::new(),
            extra_known: false,
            extra_cell: Vec::new(),
            lead: Lead::default(),
        }
    }

    /// The input file the rows written from now on were read from, for events whose
    /// [`crate::Provenance::file`] is `None` (see [`super::NdjsonWriter::set_file`]).
    pub fn set_file(&mut self, file: Option<&str>) {
        if self.file.as_deref() != file {
            self.file = file.map(str::to_owned);
            self.fill_file_cell();
        }
    }

    /// `file_cell` for the file and the writer's `raw` now.
    fn fill_file_cell(&mut self) {
        self.file_cell.clear();
        if let Some(file) = &self.file {
            cell_into(
                self.delimiter,
                self.raw,
                file.as_bytes(),
                &mut self.file_cell,
            );
        }
    }

    /// Writes cells as they are, without neutralising formulas (see the module docs).
    #[must_use]
    pub fn raw(mut self, raw: bool) -> Self {
        self.raw = raw;
        self.fill_file_cell();
        self
    }

    /// The header row.
    #[must_use]
    pub fn header(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for (i, name) in COLUMNS.iter().enumerate() {
            if i > 0 {
                out.push(self.delimiter);
            }
            self.field(name.as_bytes(), &mut out);
        }
        out.push(b'\n');
        out
    }

    /// Appends one row for `e` to `out`, the fields in [`COLUMNS`] order: into a `Spare`
    /// reserved once, as NDJSON is written (a `Vec` put per field and `itoa` for numbers
    /// made a one-line record's row cost more than its NDJSON object).
    pub fn write(&mut self, e: &AuditEvent<'_>, out: &mut Vec<u8>) {
        let mut w = Spare::new(out, ESTIMATE + e.object.raw().len());
        self.write_row(e, &mut w);
    }

    /// [`CsvWriter::write`]'s row. (Always inlined, like everything given a [`Spare`]: see
    /// [`Buf::with_vec`].)
    #[inline(always)]
    fn write_row<B: Buf>(&mut self, e: &AuditEvent<'_>, out: &mut B) {
        let (d, raw) = (self.delimiter, self.raw);
        let time = &mut self.time;
        self.lead.write(e, out, |out| {
            // Timestamps, numbers and the dialect never hold a delimiter, quote or newline.
            time.write_with_decimal_to(e.timestamp.epoch_us, &[d], out);
            out.push(d);
            out.put(e.timestamp.dialect.as_str().as_bytes());
            out.push(d);
            name_cell(d, raw, &e.serverhost, out);
        });
        for name in [&e.username, &e.host] {
            out.push(d);
            name_cell(d, raw, name, out);
        }
        out.push(d);
        e.connection_id.put_to(out);
        out.push(d);
        e.query_id.put_to(out);
        out.push(d);
        match e.operation {
            Operation::Other(token) => self.cell(token.as_bytes(), out),
            // A known operation is upper-case letters and underscores: never quoted,
            // never a formula (a test holds each to its cell).
            known => out.put(known.as_str().as_bytes()),
        }
        out.push(d);
        name_cell(d, raw, &e.database, out);
        out.push(d);
        self.object(e, out);
        out.push(d);
        if let Some(r) = e.retcode {
            r.put_to(out);
        }
        out.push(d);
        match e.extra.raw() {
            // The common cases as constants, as in NDJSON.
            None => out.put_const(b"[]"),
            Some(b",") => {
                if self.empty_pair.is_empty() {
                    self.fill_empty_pair();
                }
                out.put(&self.empty_pair);
            }
            Some(extra) => {
                if !self.extra_known || self.extra_raw != extra {
                    self.extra(e);
                }
                out.put(&self.extra_cell);
            }
        }
        ambiguity(d, e, out);
        let p = &e.provenance;
        // An absent value is an empty cell: nothing to check (a text input has none of
        // these but the file).
        for text in [p.log_group, p.log_stream, p.event_id] {
            out.push(d);
            if let Some(text) = text {
                self.cell(text.as_bytes(), out);
            }
        }
        out.push(d);
        if let Some(ms) = p.cloudwatch_timestamp_ms {
            ms.put_to(out);
        }
        out.push(d);
        if let Some(text) = p.sequence_number {
            self.cell(text.as_bytes(), out);
        }
        out.push(d);
        match p.file {
            Some(file) => self.cell(file.as_bytes(), out),
            None => {
                if !self.file_cell.is_empty() {
                    out.put(&self.file_cell);
                }
            }
        }
        out.push(d);
        if let Some(line) = p.line_number {
            line.put_to(out);
        }
        names_base64(d, self.raw, e, out);
        out.push(b'\n');
    }

    /// One cell ([`put_cell`]).
    #[inline(always)]
    fn cell<B: Buf>(&self, value: &[u8], out: &mut B) {
        put_cell(self.delimiter, self.raw, value, out);
    }

    /// The `object` and `object_base64` fields. An object of ASCII with no backslash (most
    /// statements and table names) is its own text, valid UTF-8 and unescaped already: one
    /// check, then a copy, between quotes when it holds the delimiter, CR or LF but no `"`
    /// (a second check). Others the plugin quoted are unescaped straight into the cell
    /// ([`object_cell`]); the rest go the whole way ([`CsvWriter::object_in_full`]).
    #[inline(always)]
    fn object<B: Buf>(&mut self, e: &AuditEvent<'_>, out: &mut B) {
        let raw = e.object.raw();
        if self.delimiter != b'\t' {
            let formula = !self.raw && starts_formula(raw);
            if plain::<OBJECT>(self.delimiter, raw) {
                if formula {
                    out.push(b'\'');
                }
                out.put(raw);
                out.push(self.delimiter);
                return;
            }
            // A statement with commas (most), CR or LF but nothing else: between quotes.
            if plain::<IN_QUOTES>(self.delimiter, raw) {
                out.push(b'"');
                if formula {
                    out.push(b'\'');
                }
                out.put(raw);
                out.put_const(&[b'"', self.delimiter]);
                return;
            }
            if one_pass_delimiter(self.delimiter)
                && e.object.is_quoted()
                && out.with_vec(|v| object_cell(self.delimiter, self.raw, raw, v))
            {
                out.push(self.delimiter);
                return;
            }
        }
        out.with_vec(|v| self.object_in_full(e, v));
    }

    /// [`CsvWriter::object`] of any object: the unescaped text, and its exact bytes in
    /// base64 when they are not valid UTF-8 (then the text is the lossy version). The
    /// reference [`object_cell`] is held to, and the way of the objects it leaves (TSV, a
    /// backslash delimiter, not quoted by the plugin, not UTF-8).
    #[cold]
    fn object_in_full(&mut self, e: &AuditEvent<'_>, out: &mut Vec<u8>) {
        let raw = e.object.raw();
        let bytes: &[u8] = if e.object.is_quoted() && memchr::memchr(b'\\', raw).is_some() {
            super::spare::unescape_into(raw, &mut self.scratch);
            &self.scratch
        } else {
            raw
        };
        if simdutf8::basic::from_utf8(bytes).is_ok() {
            self.field(bytes, out);
            out.push(self.delimiter);
            return;
        }
        // The lossy text, then the base64 of the bytes, each made in `text` (kept for the
        // next object) and written as a field: no `String` per object.
        let mut text = std::mem::take(&mut self.text);
        text.clear();
        json_escape::lossy(&mut text, bytes);
        self.field(&text, out);
        out.push(self.delimiter);
        text.clear();
        base64_simd::STANDARD.encode_append(bytes, &mut text);
        // Guarded as every cell: see [`names_base64`].
        cell_into(self.delimiter, self.raw, &text, out);
        self.text = text;
    }

    /// Builds `empty_pair`, on the first row that has one.
    #[cold]
    fn fill_empty_pair(&mut self) {
        // `[` starts no formula, so the cell is the same raw or not.
        cell_into(self.delimiter, false, br#"["",""]"#, &mut self.empty_pair);
    }

    /// `extra` as a JSON array of strings, as in NDJSON, as one field: into `extra_cell`,
    /// remembered with its raw text.
    #[cold]
    fn extra(&mut self, e: &AuditEvent<'_>) {
        self.extra_raw.clear();
        self.extra_raw
            .extend_from_slice(e.extra.raw().unwrap_or_default());
        self.extra_known = true;
        self.extra_cell.clear();
        self.scratch.clear();
        self.scratch.push(b'[');
        for (i, field) in e.extra.fields().enumerate() {
            if i > 0 {
                self.scratch.push(b',');
            }
            self.scratch.push(b'"');
            json_escape::escape_lossy(&mut self.scratch, field);
            self.scratch.push(b'"');
        }
        self.scratch.push(b']');
        // `[` starts no formula, so the cell is the same raw or not.
        cell_into(self.delimiter, false, &self.scratch, &mut self.extra_cell);
    }

    /// Appends one field (see the module docs).
    fn field(&self, value: &[u8], out: &mut Vec<u8>) {
        cell_into(self.delimiter, self.raw, value, out);
    }
}

/// A name's cell: its text, or for a name that is not UTF-8 (nearly never, out of line) its
/// lossy text, as an object's (its bytes are in its `*_base64` cell, [`names_base64`]).
#[inline(always)]
fn name_cell<B: Buf>(d: u8, raw: bool, name: &Name<'_>, out: &mut B) {
    match name.as_str() {
        Some(text) => put_cell(d, raw, text.as_bytes(), out),
        None => out.with_vec(|v| lossy_name_cell(d, raw, name.as_bytes(), v)),
    }
}

/// [`name_cell`] of a name that is not UTF-8.
#[cold]
#[inline(never)]
fn lossy_name_cell(d: u8, raw: bool, bytes: &[u8], out: &mut Vec<u8>) {
    let mut text = Vec::with_capacity(bytes.len() + 8);
    json_escape::lossy(&mut text, bytes);
    cell_into(d, raw, &text, out);
}

/// The last four cells, `serverhost_base64` to `database_base64`: each empty unless its name
/// is not UTF-8, when it holds the exact bytes in base64 (written as `object_base64` is).
/// Guarded (unless `raw`) as every cell is: base64 starting with `+` is a formula to a
/// spreadsheet (`+B12` adds a cell), so it gets the `'` that a reader drops from every cell
/// before decoding (session 32's adversary X, F7; the guard is reversible since session
/// 31's F7).
#[inline(always)]
fn names_base64<B: Buf>(d: u8, raw: bool, e: &AuditEvent<'_>, out: &mut B) {
    if e.serverhost.is_utf8() & e.username.is_utf8() & e.host.is_utf8() & e.database.is_utf8() {
        out.put_const(&[d; 4]);
        return;
    }
    out.with_vec(|v| names_base64_cells(d, raw, e, v));
}

/// [`names_base64`] of an event with a name that is not UTF-8.
#[cold]
#[inline(never)]
fn names_base64_cells(d: u8, raw: bool, e: &AuditEvent<'_>, out: &mut Vec<u8>) {
    let mut text = Vec::new();
    for name in [&e.serverhost, &e.username, &e.host, &e.database] {
        out.push(d);
        if !name.is_utf8() {
            text.clear();
            base64_simd::STANDARD.encode_append(name.as_bytes(), &mut text);
            cell_into(d, raw, &text, out);
        }
    }
}

/// One CSV cell with nothing to quote (nearly all): copied, after a `'` when it starts a
/// formula (unless `raw`); anything else (and every TSV cell) by [`cell_into`].
#[inline(always)]
fn put_cell<B: Buf>(d: u8, raw: bool, value: &[u8], out: &mut B) {
    if d != b'\t' && plain::<CELL>(d, value) {
        if !raw && starts_formula(value) {
            out.push(b'\'');
        }
        out.put(value);
    } else {
        out.with_vec(|v| cell_into(d, raw, value, v));
    }
}

/// Whether [`object_cell`] may write cells of delimiter `d`: not a backslash, and not a
/// byte that a known escape turns into another (`t` of `\t`, `n`, `r`, `b`, `f`): there
/// the raw bytes hold a `d` the text does not, and deciding quotes from them would quote
/// cells the reference leaves bare (review 18: `\t` with delimiter `t`). Only a library
/// caller can choose such a delimiter; the CLI writes `,` and TAB.
fn one_pass_delimiter(d: u8) -> bool {
    d != b'\\' && unescaped_byte(d).is_none_or(|u| u == d)
}

/// The CSV cell (delimiter `d`, [`one_pass_delimiter`]; formulas neutralised unless `raw_cells`)
/// of an object the plugin quoted, when its raw bytes are valid UTF-8 (nearly always), in
/// one pass: the plugin's escapes undone straight into the cell and a `"` doubled, the runs
/// between copied as they are searched, a block of sixteen bytes at a time ([`block_mask`]),
/// the UTF-8 check folded into the search as in [`json_escape::object_to_json`]
/// (unescaping keeps UTF-8 exactly: it removes and makes only ASCII). Returns `false`,
/// having appended nothing, when they are not UTF-8.
///
/// The cell is quoted when the unescaped text holds `d`, `"`, CR or LF. Its raw bytes all
/// reach the text but the backslashes and letters of escapes (an unknown pair is kept
/// whole), and the only other bytes of the text are an escape's, so the raw bytes decide
/// (`d` being neither a backslash nor such a letter), unless an escape makes one of them
/// (`\n`, `\r`, or `d` when it is `'`): then the cell is written again, quoted. Out of line, with its own [`Spare`]: inlined into
/// the row, it made the rest of the row dearer. Unescaping into a scratch buffer, then
/// checking, searching and copying that cost ~1,720 instructions an object on the plain log.
#[inline(never)]
fn object_cell(d: u8, raw_cells: bool, raw: &[u8], out: &mut Vec<u8>) -> bool {
    let first = match raw {
        [b'\\', c, ..] => Some(unescaped_byte(*c).unwrap_or(b'\\')),
        _ => raw.first().copied(),
    };
    let formula = !raw_cells && starts_formula(first.as_slice());
    // The text is never longer than the raw bytes, but for doubled quotes.
    let mut w = Spare::new(out, raw.len() + 3);
    let mark = w.mark();
    let mut quote = !plain::<CELL>(d, raw);
    loop {
        match unescaped_cell(d, quote, formula, raw, &mut w) {
            Cell::Written => return true,
            Cell::NotUtf8 => {
                w.rewind(mark);
                return false;
            }
            Cell::NeedsQuotes => {
                w.rewind(mark);
                quote = true;
            }
        }
    }
}

/// How [`unescaped_cell`] ended.
enum Cell {
    Written,
    /// The raw bytes are not UTF-8.
    NotUtf8,
    /// Unquoted, an escape made a byte that needs quotes.
    NeedsQuotes,
}

/// [`object_cell`]'s cell, quoted or not.
#[inline(always)]
fn unescaped_cell<B: Buf>(d: u8, quote: bool, formula: bool, raw: &[u8], out: &mut B) -> Cell {
    if quote {
        out.push(b'"');
    }
    if formula {
        out.push(b'\'');
    }
    let mut at = 0;
    // Whether `raw` is known to be UTF-8; until then every byte before `at` is ASCII.
    let mut valid = false;
    while let Some(&b) = raw.get(at) {
        // The next byte to handle from `at`: a `"`, a backslash, or (until `valid`) a byte
        // above 0x7f. Searched in the sixteen bytes from `at`, or the last sixteen (their
        // bytes before `at` not counted), or (an object of fewer than sixteen) in `b`.
        let mask_of = |block: &[u8; 16]| {
            if valid {
                block_mask::<ESCAPES>(d, block)
            } else {
                block_mask::<IN_QUOTES>(d, block)
            }
        };
        let (mask, end) = match raw.get(at..).and_then(<[u8]>::first_chunk::<16>) {
            Some(block) => (mask_of(block), at + 16),
            None => match raw.last_chunk::<16>() {
                Some(block) => (lanes::down(mask_of(block), at + 16 - raw.len()), raw.len()),
                None => (
                    lanes::Mask::from(matches!(b, b'"' | b'\\') || (!valid && b >= 0x80)),
                    at + 1,
                ),
            },
        };
        let stop = if mask == 0 {
            end
        } else {
            at + lanes::first(mask)
        };
        out.put_run(raw, at, stop);
        at = stop;
        if mask == 0 {
            continue;
        }
        match raw.get(at).copied().unwrap_or_default() {
            0x80.. => {
                if !crate::swar::utf8_after_ascii(raw, at, raw.len()) {
                    return Cell::NotUtf8;
                }
                valid = true;
            }
            // Only ever in a quoted cell.
            b'"' => {
                out.put_const(b"\"\"");
                at += 1;
            }
            // A backslash.
            _ => match raw.get(at + 1).copied().and_then(unescaped_byte) {
                Some(u) => {
                    if !quote && (u == d || u == b'\r' || u == b'\n') {
                        return Cell::NeedsQuotes;
                    }
                    out.push(u);
                    at += 2;
                }
                // A lone trailing backslash is kept, and so is an unknown pair (its second
                // byte handled as any other).
                None => {
                    out.push(b'\\');
                    at += 1;
                }
            },
        }
    }
    if quote {
        out.push(b'"');
    }
    Cell::Written
}

/// Lane `i` ([`lanes`]) is set when byte `i` of `block` is one `KIND` names (the delimiter
/// being `d`): one SSE2 or NEON vector, or two SWAR words (`word_mask`) where there is
/// neither.
#[inline(always)]
fn block_mask<const KIND: u8>(d: u8, block: &[u8; 16]) -> lanes::Mask {
    // NEON loads the block as one vector (its two words would be two loads and a lane
    // move); SSE2 takes the two words, which the compiler joins into one load.
    #[cfg(neon)]
    let mask = vector::special_mask_of_block::<KIND>(d, block);
    #[cfg(not(neon))]
    let mask = {
        let (lo, hi) = block.split_at(8);
        #[cfg(sse2)]
        let mask = vector::special_mask::<KIND>(d, word(lo), word(hi));
        #[cfg(not(vector16))]
        let mask = word_mask::<KIND>(d, word(lo)) | word_mask::<KIND>(d, word(hi)) << 8;
        mask
    };
    mask
}

/// Bit `i` is set when byte `i` of `word` (little-endian) is one `KIND` names: SWAR, for
/// [`block_mask`] without SSE2 or NEON (compiled for tests everywhere, to hold it to
/// [`plain_reference`]).
#[cfg(any(test, not(vector16)))]
#[inline(always)]
fn word_mask<const KIND: u8>(d: u8, word: u64) -> u32 {
    use crate::swar::equal_bytes;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let mut hits = equal_bytes(word, b'"');
    if KIND == CELL || KIND == OBJECT {
        hits |= equal_bytes(word, d) | equal_bytes(word, b'\r') | equal_bytes(word, b'\n');
    }
    if KIND != CELL {
        hits |= equal_bytes(word, b'\\');
    }
    if KIND == OBJECT || KIND == IN_QUOTES {
        hits |= word & HIGH;
    }
    // At most eight bits.
    crate::swar::top_bits(hits) as u32
}

/// What [`plain`] looks for: the bytes that make a CSV cell quoted (the delimiter, `"`, CR,
/// LF).
const CELL: u8 = 0;
/// [`CELL`]'s, a backslash (an escape to undo) and the bytes above 0x7f (an object without
/// them is UTF-8 and its own text).
const OBJECT: u8 = 1;
/// Only `"`, a backslash and the bytes above 0x7f: an object without them is its own text,
/// quoted (when it holds the delimiter, CR or LF) with nothing doubled.
const IN_QUOTES: u8 = 2;
/// Only `"` and a backslash: [`object_cell`]'s stops once the object is known to be UTF-8.
const ESCAPES: u8 = 3;

/// Whether `value` holds none of the bytes `KIND` names (the delimiter being `d`): SSE2 or
/// NEON sixteen bytes at a time, the last (partial) block as the overlapping final sixteen,
/// shorter values as one vector of their overlapping first and last eight (or four) bytes.
/// The SWAR loop it replaced cost some 20 instructions per eight bytes, the 56-byte event id
/// and sequence number two hundred a row. [`plain_reference`]
/// is the byte-at-a-time twin the property tests hold it to (and the search elsewhere).
#[inline(always)]
fn plain<const KIND: u8>(d: u8, value: &[u8]) -> bool {
    #[cfg(vector16)]
    {
        let n = value.len();
        if let (Some(head), Some(tail)) = (value.first_chunk::<8>(), value.last_chunk::<8>()) {
            if n <= 16 {
                let (head, tail) = (u64::from_le_bytes(*head), u64::from_le_bytes(*tail));
                return vector::special_mask::<KIND>(d, head, tail) == 0;
            }
            let mut blocks = value.chunks_exact(16);
            let clean = blocks.by_ref().all(|block| {
                let (lo, hi) = block.split_at(8);
                vector::special_mask::<KIND>(d, word(lo), word(hi)) == 0
            });
            return clean
                && (blocks.remainder().is_empty()
                    || value.last_chunk::<16>().is_none_or(|last| {
                        let (lo, hi) = last.split_at(8);
                        vector::special_mask::<KIND>(d, word(lo), word(hi)) == 0
                    }));
        }
        if let (Some(head), Some(tail)) = (value.first_chunk::<4>(), value.last_chunk::<4>()) {
            let word =
                u64::from(u32::from_le_bytes(*head)) | u64::from(u32::from_le_bytes(*tail)) << 32;
            return vector::special_mask::<KIND>(d, word, word) == 0;
        }
    }
    plain_reference::<KIND>(d, value)
}

/// The little-endian word of the eight bytes of `bytes` (zero when there are not eight).
#[inline(always)]
fn word(bytes: &[u8]) -> u64 {
    bytes
        .first_chunk::<8>()
        .map_or(0, |w| u64::from_le_bytes(*w))
}

/// [`plain`], a byte at a time.
#[inline]
fn plain_reference<const KIND: u8>(d: u8, value: &[u8]) -> bool {
    !value.iter().any(|&b| {
        let object = b == b'\\' || b >= 0x80;
        match KIND {
            CELL => matches!(b, b'"' | b'\r' | b'\n') || b == d,
            OBJECT => matches!(b, b'"' | b'\r' | b'\n') || b == d || object,
            ESCAPES => matches!(b, b'"' | b'\\'),
            _ => b == b'"' || object,
        }
    })
}

/// SSE2: sixteen bytes compared at once, one bit per byte.
///
/// The module is compiled only where the target has SSE2 (every x86_64 target unless it is
/// turned off by hand), so each intrinsic's feature holds statically (the same convention as
/// `crate::swar`'s module).
#[cfg(sse2)]
mod sse2 {
    use std::arch::x86_64::{
        _mm_cmpeq_epi8, _mm_movemask_epi8, _mm_or_si128, _mm_set_epi64x, _mm_set1_epi8,
    };

    /// Bit `i` is set when byte `i` of `lo` then `hi` (little-endian) is one `KIND` names
    /// ([`super::CELL`], [`super::OBJECT`], [`super::IN_QUOTES`]), the delimiter being `d`.
    #[inline(always)]
    pub(super) fn special_mask<const KIND: u8>(d: u8, lo: u64, hi: u64) -> u32 {
        // SAFETY: the target has SSE2 (the module's cfg); the intrinsics take and return
        // values only. The casts keep the bits.
        unsafe {
            let v = _mm_set_epi64x(hi as i64, lo as i64);
            let is = |b: u8| _mm_cmpeq_epi8(v, _mm_set1_epi8(b as i8));
            let mut flags = if KIND == super::IN_QUOTES || KIND == super::ESCAPES {
                is(b'"')
            } else {
                _mm_or_si128(
                    _mm_or_si128(is(d), is(b'"')),
                    _mm_or_si128(is(b'\r'), is(b'\n')),
                )
            };
            if KIND == super::ESCAPES {
                flags = _mm_or_si128(flags, is(b'\\'));
            } else if KIND != super::CELL {
                // `movemask` takes each byte's top bit: set in `v` exactly above 0x7f.
                flags = _mm_or_si128(flags, _mm_or_si128(is(b'\\'), v));
            }
            // The mask has 16 bits: the sign of the i32 is never set.
            _mm_movemask_epi8(flags) as u32
        }
    }
}

/// NEON: the twin of `sse2`, its masks four bits a lane ([`lanes`]). Compiled only where
/// the target has NEON, so the primitives of [`crate::swar::neon`] are there.
#[cfg(neon)]
mod neon {
    use std::arch::aarch64::uint8x16_t;

    use crate::swar::neon::{eq, from_words, gt, load, nibbles, or, splat};

    /// [`special_mask`] of the sixteen bytes of `block`, as one vector load.
    #[inline(always)]
    pub(super) fn special_mask_of_block<const KIND: u8>(d: u8, block: &[u8; 16]) -> u64 {
        flags::<KIND>(d, load(block))
    }

    /// Lane `i` is set when byte `i` of `lo` then `hi` (little-endian) is one `KIND` names,
    /// the delimiter being `d` (as `sse2::special_mask`).
    #[inline(always)]
    pub(super) fn special_mask<const KIND: u8>(d: u8, lo: u64, hi: u64) -> u64 {
        flags::<KIND>(d, from_words(lo, hi))
    }

    /// [`special_mask`] of the vector `v`.
    #[inline(always)]
    fn flags<const KIND: u8>(d: u8, v: uint8x16_t) -> u64 {
        let is = |b: u8| eq(v, splat(b));
        let mut flags = if KIND == super::IN_QUOTES || KIND == super::ESCAPES {
            is(b'"')
        } else {
            or(or(is(d), is(b'"')), or(is(b'\r'), is(b'\n')))
        };
        if KIND == super::ESCAPES {
            flags = or(flags, is(b'\\'));
        } else if KIND != super::CELL {
            flags = or(flags, or(is(b'\\'), gt(v, splat(0x7f))));
        }
        nibbles(flags)
    }
}

/// The `ambiguous`, `readings` and `alternatives_omitted` fields, each after a delimiter:
/// what NDJSON writes under those keys, empty where NDJSON has no key (an unambiguous event,
/// no reading left unlisted). The other readings themselves are in NDJSON only.
#[inline(always)]
fn ambiguity<B: Buf>(d: u8, e: &AuditEvent<'_>, out: &mut B) {
    let a = &e.ambiguity;
    if !a.is_ambiguous() {
        out.put_const(&[d, d, d]);
        return;
    }
    out.push(d);
    out.put_const(b"true");
    out.push(d);
    a.readings().put_to(out);
    out.push(d);
    let omitted = a.omitted();
    if omitted > 0 {
        omitted.put_to(out);
    }
}

/// One cell: neutralised unless `raw`, then TSV-escaped or CSV-quoted.
fn cell_into(delimiter: u8, raw: bool, value: &[u8], out: &mut Vec<u8>) {
    let neutralise = !raw && starts_formula(value);
    if delimiter == b'\t' {
        if neutralise {
            out.push(b'\'');
        }
        tsv_into(value, out);
    } else {
        csv_into(delimiter, neutralise, value, out);
    }
}

/// Whether a cell gets the guard's `'` in front: when it starts with one of OWASP's first
/// characters that make a spreadsheet cell a formula, or with a `'` itself. Guarding the
/// `'` too keeps the guard reversible: a cell written `'=cmd` is the value `=cmd` and
/// `''=cmd` the value `'=cmd` (session 31's adversary A, F7: both were `'=cmd`, two users
/// made one), so a reader drops one leading `'` from every cell that has one.
fn starts_formula(value: &[u8]) -> bool {
    matches!(
        value.first(),
        Some(b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r' | b'\'')
    )
}

/// A TSV value: backslash, tab, LF, CR and NUL escaped, runs between them copied.
fn tsv_into(value: &[u8], out: &mut Vec<u8>) {
    let mut run = 0;
    for (i, &b) in value.iter().enumerate() {
        let escape = match b {
            b'\\' => b'\\',
            b'\t' => b't',
            b'\n' => b'n',
            b'\r' => b'r',
            0 => b'0',
            _ => continue,
        };
        out.extend_from_slice(value.get(run..i).unwrap_or_default());
        out.extend_from_slice(&[b'\\', escape]);
        run = i + 1;
    }
    out.extend_from_slice(value.get(run..).unwrap_or_default());
}

/// A CSV value, quoted (RFC 4180) when it holds the delimiter, a `"`, CR or LF; with a `'`
/// in front when `neutralise` (inside the quotes: it is part of the value a reader gets).
fn csv_into(delimiter: u8, neutralise: bool, value: &[u8], out: &mut Vec<u8>) {
    if plain::<CELL>(delimiter, value) {
        if neutralise {
            out.push(b'\'');
        }
        out.extend_from_slice(value);
        return;
    }
    out.push(b'"');
    if neutralise {
        out.push(b'\'');
    }
    let mut run = 0;
    for quote in memchr::memchr_iter(b'"', value) {
        // Up to and including the quote, then the quote again.
        out.extend_from_slice(value.get(run..=quote).unwrap_or_default());
        out.push(b'"');
        run = quote + 1;
    }
    out.extend_from_slice(value.get(run..).unwrap_or_default());
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(delimiter: u8, line: &[u8]) -> String {
        let e = crate::parse_line(line).unwrap();
        let mut out = Vec::new();
        CsvWriter::new(delimiter).write(&e, &mut out);
        String::from_utf8(out).unwrap()
    }

    /// A known operation is written as its token, unchecked: each token is its own cell,
    /// CSV and TSV, raw or not (nothing to quote, escape or neutralise).
    #[test]
    fn known_operations_are_their_own_cells() {
        for token in crate::audit::scanner::tests::properties::OPERATIONS {
            let op = Operation::from_token(token);
            assert!(!matches!(op, Operation::Other(_)), "{token}");
            for (d, raw) in [(b',', false), (b',', true), (b'\t', false), (b'\t', true)] {
                let mut cell = Vec::new();
                cell_into(d, raw, op.as_str().as_bytes(), &mut cell);
                assert_eq!(cell, token.as_bytes());
            }
        }
    }

    #[test]
    fn quotes_only_what_needs_quotes() {
        let csv = row(
            b',',
            br#"20240323 13:36:09,h,u,l,4,5,QUERY,db,'a\tb "q" c',0"#,
        );
        assert!(csv.contains(",\"a\tb \"\"q\"\" c\","), "{csv}");
    }

    /// `set_file` fills the `file` cell of events that name no file; an event's own wins.
    #[test]
    fn set_file_fills_the_file_cell() {
        let mut e = crate::parse_line(b"20240323 13:36:09,h,u,l,4,5,QUERY,db,'x',0").unwrap();
        let file_cell = |writer: &mut CsvWriter, e: &AuditEvent<'_>| {
            let mut out = Vec::new();
            writer.write(e, &mut out);
            let row = String::from_utf8(out).unwrap();
            let at = COLUMNS.iter().position(|c| *c == "file").unwrap();
            row.trim_end().split(',').nth(at).unwrap().to_owned()
        };
        let mut writer = CsvWriter::new(b',');
        assert_eq!(file_cell(&mut writer, &e), "");
        writer.set_file(Some("audit.log"));
        assert_eq!(file_cell(&mut writer, &e), "audit.log");
        e.provenance.file = Some("own.log");
        assert_eq!(file_cell(&mut writer, &e), "own.log");
    }

    /// The cell `set_file` makes once is the cell of the name, for CSV and TSV, whether
    /// `raw` is set before or after it: a name that must be quoted, escaped or neutralised
    /// (a file name is anyone's text).
    #[test]
    fn set_file_cell_is_the_names_cell() {
        let e = crate::parse_line(b"20240323 13:36:09,h,u,l,4,5,QUERY,db,'x',0").unwrap();
        let name = "=1+2,\"a\"\tb\\c\nd.log";
        for d in [b',', b'\t'] {
            for raw in [false, true] {
                let mut named = Vec::new();
                let mut own = e.clone();
                own.provenance.file = Some(name);
                CsvWriter::new(d).raw(raw).write(&own, &mut named);
                let mut before = CsvWriter::new(d).raw(raw);
                before.set_file(Some(name));
                let mut after = CsvWriter::new(d);
                after.set_file(Some(name));
                let mut after = after.raw(raw);
                for writer in [&mut before, &mut after] {
                    let mut out = Vec::new();
                    writer.write(&e, &mut out);
                    assert_eq!(out, named, "{d} {raw}");
                }
            }
        }
    }

    /// TSV: a tab, line break or backslash in a name cannot add a field or a row.
    #[test]
    fn tsv_is_one_row_per_line_and_one_field_per_tab() {
        let tsv = row(
            b'\t',
            b"20240323 13:36:09,h,u\tx\ny\\z\rw,l,4,5,QUERY,db,'a\\tb, c',0",
        );
        assert_eq!(tsv.matches('\n').count(), 1, "{tsv}");
        assert_eq!(tsv.split('\t').count(), COLUMNS.len(), "{tsv}");
        assert!(tsv.contains("\tu\\tx\\ny\\\\z\\rw\t"), "{tsv}");
        assert!(tsv.contains("\ta\\tb, c\t"), "{tsv}");
    }

    /// The cells of `row`, read by the `csv` crate, by column name.
    fn cells(row: &str) -> std::collections::HashMap<&'static str, String> {
        let mut reader = ::csv::ReaderBuilder::new()
            .has_headers(false)
            .from_reader(row.as_bytes());
        let record = reader.records().next().unwrap().unwrap();
        assert_eq!(record.len(), COLUMNS.len(), "{row}");
        COLUMNS
            .iter()
            .zip(record.iter())
            .map(|(c, v)| (*c, v.to_owned()))
            .collect()
    }

    /// [`cells`] of a CSV or TSV row (TSV split at tabs, its escapes undone).
    fn cells_of(d: u8, row: &str) -> std::collections::HashMap<&'static str, String> {
        if d != b'\t' {
            return cells(row);
        }
        let fields: Vec<String> = row
            .trim_end_matches('\n')
            .split('\t')
            .map(tsv_unescape)
            .collect();
        assert_eq!(fields.len(), COLUMNS.len(), "{row}");
        COLUMNS.iter().copied().zip(fields).collect()
    }

    fn unbase64(cell: &str) -> Vec<u8> {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD
            .decode(cell)
            .unwrap()
    }

    /// Users `\xff` and `\xfe` (the same lossy text) differ in CSV and TSV: each name that
    /// is not UTF-8 has its exact bytes in its `*_base64` column, the last four; the columns
    /// before stay where they were. Failed before: both rows read `\u{FFFD}`, no column held
    /// the bytes.
    #[test]
    fn names_that_are_not_utf8_keep_their_bytes() {
        let line = |user: &[u8]| {
            [
                &b"20240323 13:36:08,srv\xfd,"[..],
                user,
                b",10.0.0.1,5,7,QUERY,d\xfe,'SELECT 1',0,,",
            ]
            .concat()
        };
        let (ff, fe) = (row(b',', &line(b"\xff")), row(b',', &line(b"\xfe")));
        assert_ne!(ff, fe);
        let (ff, fe) = (cells(&ff), cells(&fe));
        assert_eq!(ff["username"], "\u{FFFD}");
        assert_eq!(unbase64(&ff["username_base64"]), b"\xff");
        assert_eq!(unbase64(&fe["username_base64"]), b"\xfe");
        assert_eq!(unbase64(&ff["serverhost_base64"]), b"srv\xfd");
        assert_eq!(unbase64(&ff["database_base64"]), b"d\xfe");
        assert_eq!((&*ff["host"], &*ff["host_base64"]), ("10.0.0.1", ""));
        assert_eq!(ff["line"], "");
        let tsv = row(b'\t', &line(b"\xff"));
        let tsv: Vec<&str> = tsv.trim_end_matches('\n').split('\t').collect();
        assert_eq!(tsv.len(), COLUMNS.len());
        assert_eq!(unbase64(tsv[COLUMNS.len() - 3]), b"\xff");
        // A row of UTF-8 names ends with four empty cells.
        let plain = row(
            b',',
            b"20240323 13:36:08,srv,app,10.0.0.1,5,7,QUERY,d,'SELECT 1',0",
        );
        assert!(plain.ends_with(",,,,\n"), "{plain}");
        assert!(
            cells(&plain)
                .iter()
                .all(|(c, v)| !c.ends_with("_base64") || v.is_empty())
        );
    }

    /// A user name that is not UTF-8 and holds commas, quotes, a line break and a forged
    /// line stays one CSV row and one TSV line, its bytes exact in `username_base64`.
    #[test]
    fn hostile_names_that_are_not_utf8_keep_their_bytes() {
        let user: &[u8] =
            b"=\xff\",x,h,1,2,QUERY,db,'GRANT ALL ON *.* TO evil',0\n20240323 13:36:09,db1,\xfe";
        let line = [
            &b"20240323 13:36:08,db1,"[..],
            user,
            b",10.0.0.9,5,0,FAILED_CONNECT,,,1045",
        ]
        .concat();
        let csv = row(b',', &line);
        let c = cells(&csv);
        assert_eq!(c["operation"], "FAILED_CONNECT");
        assert!(c["username"].starts_with("'=\u{FFFD}\","), "{csv}");
        assert_eq!(unbase64(&c["username_base64"]), user);
        let tsv = row(b'\t', &line);
        assert_eq!(tsv.matches('\n').count(), 1, "{tsv}");
        assert_eq!(tsv.split('\t').count(), COLUMNS.len(), "{tsv}");
    }

    /// Session 31's adversary A, F7: users `=cmd` and `'=cmd` were both written `'=cmd`.
    /// Session 32's adversary X, F7 (csv_b64formula.log): a name's or an object's base64
    /// starting with `+` (`+B12`) was written as it is, a formula to a spreadsheet; it is
    /// guarded now, and dropping the one leading `'` gives the base64 back.
    #[test]
    fn the_guard_is_reversible_and_base64_cells_are_guarded() {
        for d in [b',', b'\t'] {
            let a = row(
                d,
                b"20241205 10:00:00,srv,=cmd,10.0.0.1,5,7,QUERY,shop,'x',0",
            );
            let b = row(
                d,
                b"20241205 10:00:01,srv,'=cmd,10.0.0.1,6,8,QUERY,shop,'x',0",
            );
            assert_eq!(cells_of(d, &a)["username"], "'=cmd");
            assert_eq!(cells_of(d, &b)["username"], "''=cmd");
            let c = row(
                d,
                br"20241205 10:00:01,srv,u,10.0.0.1,6,8,QUERY,shop,'\'x',0",
            );
            assert_eq!(cells_of(d, &c)["object"], "''x");
            // `\xfb\xef\xbe\xff` is `++++/w==` in base64, `\xf8\x1d\x76` is `+B12`.
            let line = b"20241205 10:00:00,srv,\xfb\xef\xbe\xff,10.0.0.1,5,7,QUERY,\xf8\x1dv,'\xf8\x1dv',0";
            let text = row(d, line);
            let c = cells_of(d, &text);
            let back = |cell: &str| unbase64(cell.strip_prefix('\'').unwrap_or(cell));
            assert_eq!(c["username_base64"], "'++++/w==", "{text}");
            assert_eq!(back(&c["username_base64"]), b"\xfb\xef\xbe\xff");
            for column in ["database_base64", "object_base64"] {
                assert_eq!(c[column], "'+B12", "{column}: {text}");
                assert_eq!(back(&c[column]), b"\xf8\x1dv");
            }
            // `--csv-raw` writes them as they are.
            let mut out = Vec::new();
            CsvWriter::new(d)
                .raw(true)
                .write(&crate::parse_line(line).unwrap(), &mut out);
            let raw = String::from_utf8(out).unwrap();
            let c = cells_of(d, &raw);
            assert_eq!(c["username_base64"], "++++/w==", "{raw}");
            assert_eq!(c["object_base64"], "+B12", "{raw}");
        }
    }

    #[test]
    fn formula_cells_are_neutralised_unless_raw() {
        let line = b"20240323 13:36:09,=1+1,@u,-h,4,5,QUERY,-db,'\tx',0";
        let csv = row(b',', line);
        assert!(csv.contains(",'=1+1,'@u,'-h,4,5,QUERY,'-db,'\tx,"), "{csv}");
        let tsv = row(b'\t', line);
        assert!(
            tsv.contains("\t'=1+1\t'@u\t'-h\t4\t5\tQUERY\t'-db\t'\\tx\t"),
            "{tsv}"
        );
        let e = crate::parse_line(line).unwrap();
        let mut raw = Vec::new();
        CsvWriter::new(b',').raw(true).write(&e, &mut raw);
        let raw = String::from_utf8(raw).unwrap();
        assert!(raw.contains(",=1+1,@u,-h,4,5,QUERY,-db,\tx,"), "{raw}");
    }

    /// Undoes TSV escapes (the reference reader for the property below).
    fn tsv_unescape(cell: &str) -> String {
        rdsaudit_synth::tsv::unescape(cell).expect("a TSV escape is two characters")
    }

    proptest::proptest! {
        /// CSV quoting matches the `csv` crate's default writer (the reference), for text full
        /// of delimiters, quotes, CR and LF.
        #[test]
        fn quoting_matches_the_csv_crate(
            fields in proptest::collection::vec("[ab,\t\"\r\n' é]{0,12}|[a ]{0,70}[ab,\t\"\r\n' é]{0,3}", 1..6),
        ) {
            let mut ours = Vec::new();
            for (i, f) in fields.iter().enumerate() {
                if i > 0 {
                    ours.push(b',');
                }
                csv_into(b',', false, f.as_bytes(), &mut ours);
            }
            ours.push(b'\n');
            let mut reference = ::csv::WriterBuilder::new().from_writer(Vec::new());
            reference.write_record(&fields).unwrap();
            let reference = reference.into_inner().unwrap();
            // The crate quotes an empty single-field record (`""`) so it is not a blank line.
            proptest::prop_assume!(!(fields.len() == 1 && fields[0].is_empty()));
            proptest::prop_assert_eq!(String::from_utf8(ours).unwrap(), String::from_utf8(reference).unwrap());
        }

        /// Every cell reads back: a CSV reader (the `csv` crate) or a TSV split on tabs and
        /// lines gets the value exactly when raw, after dropping the `'` when neutralised.
        #[test]
        fn cells_read_back(
            fields in proptest::collection::vec("[=+@\t\r\n\0\\\\,\"'a-]{0,8}", 1..5),
            raw: bool,
            tab: bool,
        ) {
            let delimiter = if tab { b'\t' } else { b',' };
            let mut out = Vec::new();
            for (i, f) in fields.iter().enumerate() {
                if i > 0 {
                    out.push(delimiter);
                }
                cell_into(delimiter, raw, f.as_bytes(), &mut out);
            }
            // A last field so an empty row is not a blank line.
            out.push(delimiter);
            out.push(b'x');
            out.push(b'\n');
            let cells: Vec<String> = if tab {
                let text = String::from_utf8(out).unwrap();
                proptest::prop_assert_eq!(text.matches('\n').count(), 1);
                text.trim_end_matches('\n').split('\t').map(tsv_unescape).collect()
            } else {
                let mut reader = ::csv::ReaderBuilder::new().has_headers(false).from_reader(&out[..]);
                reader.records().next().unwrap().unwrap().iter().map(str::to_owned).collect()
            };
            proptest::prop_assert_eq!(cells.len(), fields.len() + 1);
            for (cell, value) in cells.iter().zip(&fields) {
                // The documented reader's rule, not the writer's: one leading `'` dropped
                // from every cell that has one.
                let back = if raw {
                    cell.as_str()
                } else {
                    cell.strip_prefix('\'').unwrap_or(cell)
                };
                proptest::prop_assert_eq!(back, value.as_str());
            }
        }
    }

    /// Values of every length around the vector sizes, full of the bytes [`plain`] looks for.
    fn cell_text() -> impl proptest::strategy::Strategy<Value = Vec<u8>> {
        proptest::collection::vec(
            proptest::prop_oneof![
                8 => proptest::sample::select(b"ab =+-@".to_vec()),
                1 => proptest::sample::select(b",\t\"\r\n\\\0\x7f\x80\xe9\xff'".to_vec()),
            ],
            0..80,
        )
    }

    /// A kind's block mask (the vector's where there is SSE2 or NEON), two-word vector mask,
    /// SWAR word mask and byte-at-a-time reference.
    type Kind = (
        fn(u8, &[u8; 16]) -> lanes::Mask,
        fn(u8, &[u8; 16]) -> lanes::Mask,
        fn(u8, u64) -> u32,
        fn(u8, &[u8]) -> bool,
    );

    /// The vector mask of `block` as [`plain`] takes it, from two words: on NEON not the
    /// one-load [`block_mask`], so tested on its own (on SSE2 the same code; without
    /// either, the SWAR block mask).
    fn words_mask<const KIND: u8>(d: u8, block: &[u8; 16]) -> lanes::Mask {
        #[cfg(vector16)]
        let mask = {
            let (lo, hi) = block.split_at(8);
            vector::special_mask::<KIND>(d, word(lo), word(hi))
        };
        #[cfg(not(vector16))]
        let mask = block_mask::<KIND>(d, block);
        mask
    }

    /// The four kinds.
    const KINDS: [Kind; 4] = [
        (
            block_mask::<CELL>,
            words_mask::<CELL>,
            word_mask::<CELL>,
            plain_reference::<CELL>,
        ),
        (
            block_mask::<OBJECT>,
            words_mask::<OBJECT>,
            word_mask::<OBJECT>,
            plain_reference::<OBJECT>,
        ),
        (
            block_mask::<IN_QUOTES>,
            words_mask::<IN_QUOTES>,
            word_mask::<IN_QUOTES>,
            plain_reference::<IN_QUOTES>,
        ),
        (
            block_mask::<ESCAPES>,
            words_mask::<ESCAPES>,
            word_mask::<ESCAPES>,
            plain_reference::<ESCAPES>,
        ),
    ];

    /// The block mask, the two-word vector mask and the SWAR word masks of `block` for
    /// delimiter `d`, and the bits of the bytes the reference flags, for each kind.
    fn kind_masks(d: u8, block: &[u8; 16]) -> [(u32, u32, u32, u32); 4] {
        let (lo, hi) = block.split_at(8);
        KINDS.map(|(block_mask, words_mask, word_mask, reference)| {
            let expected = (0..16).fold(0u32, |mask, i| {
                mask | u32::from(!reference(d, &block[i..=i])) << i
            });
            (
                lanes::bits(block_mask(d, block)),
                lanes::bits(words_mask(d, block)),
                word_mask(d, word(lo)) | word_mask(d, word(hi)) << 8,
                expected,
            )
        })
    }

    /// Each block mask (the vector's where there is SSE2 or NEON, one load and two words)
    /// and each SWAR word mask flag exactly the bytes [`plain_reference`] does, every byte value in every lane
    /// ([`lanes::every_byte_in_every_lane`]), for the delimiters the CLI writes and others.
    #[test]
    fn masks_flag_every_byte_in_every_lane() {
        for d in [b',', b'\t', b';', b'|', 0, 0xff] {
            for block in lanes::every_byte_in_every_lane::<16>(16) {
                for (kind, (vector, words, swar, expected)) in
                    kind_masks(d, &block).into_iter().enumerate()
                {
                    assert_eq!(vector, expected, "kind {kind} {d} {block:?}");
                    assert_eq!(words, expected, "kind {kind} {d} {block:?}");
                    assert_eq!(swar, expected, "kind {kind} {d} {block:?}");
                }
            }
        }
    }

    proptest::proptest! {
        /// The vector check finds what the byte-at-a-time one finds, for each delimiter.
        #[test]
        fn plain_matches_reference(value in cell_text(), tab: bool) {
            let d = if tab { b'\t' } else { b',' };
            proptest::prop_assert_eq!(plain::<CELL>(d, &value), plain_reference::<CELL>(d, &value));
            proptest::prop_assert_eq!(plain::<OBJECT>(d, &value), plain_reference::<OBJECT>(d, &value));
            proptest::prop_assert_eq!(plain::<IN_QUOTES>(d, &value), plain_reference::<IN_QUOTES>(d, &value));
            proptest::prop_assert_eq!(plain::<ESCAPES>(d, &value), plain_reference::<ESCAPES>(d, &value));
        }

        /// The masks of sixteen bytes (vector, and SWAR) have the bits of the bytes the
        /// byte-at-a-time check flags, for each kind and delimiter.
        #[test]
        fn block_masks_match_reference(
            value in proptest::collection::vec(proptest::prelude::any::<u8>(), 16),
            common in cell_text(),
            d in proptest::sample::select(b",\t;'\\\"\x08".to_vec()),
        ) {
            for value in [value, [common, vec![b'a'; 16]].concat()] {
                let block = value.first_chunk::<16>().unwrap();
                for (vector, words, swar, expected) in kind_masks(d, block) {
                    proptest::prop_assert_eq!(vector, expected);
                    proptest::prop_assert_eq!(words, expected);
                    proptest::prop_assert_eq!(swar, expected);
                }
            }
        }

        /// Cells written through a [`Spare`] (any estimate) are [`cell_into`]'s.
        #[test]
        fn fast_cells_are_cell_into(
            values in proptest::collection::vec(cell_text(), 1..6),
            raw: bool,
            tab: bool,
            estimate in 0usize..64,
        ) {
            let d = if tab { b'\t' } else { b',' };
            let writer = CsvWriter::new(d).raw(raw);
            let (mut fast, mut reference) = (Vec::new(), Vec::new());
            {
                let mut w = Spare::new(&mut fast, estimate);
                for v in &values {
                    writer.cell(v, &mut w);
                    w.push(b'|');
                }
            }
            for v in &values {
                cell_into(d, raw, v, &mut reference);
                reference.push(b'|');
            }
            proptest::prop_assert_eq!(fast, reference);
        }

        /// An object written on the fast path is what the whole way writes.
        #[test]
        fn fast_objects_are_written_in_full(
            value in cell_text(),
            raw: bool,
            d in proptest::sample::select(b",\t;'\\".to_vec()),
            quoted: bool,
        ) {
            let mut line = b"20240323 13:36:09,h,u,l,4,5,QUERY,db,".to_vec();
            if quoted {
                line.push(b'\'');
            }
            for &b in &value {
                if b == b'\'' && quoted {
                    line.push(b'\\');
                }
                line.push(b);
            }
            if quoted {
                line.push(b'\'');
            }
            line.extend_from_slice(b",0");
            let Ok(e) = crate::parse_line(&line) else {
                return Ok(());
            };
            let mut writer = CsvWriter::new(d).raw(raw);
            let (mut fast, mut reference) = (Vec::new(), Vec::new());
            writer.object(&e, &mut Spare::new(&mut fast, 0));
            writer.object_in_full(&e, &mut reference);
            proptest::prop_assert_eq!(fast, reference);
        }
    }

    /// Raw objects full of what [`object_cell`] handles: the plugin's escapes and unknown
    /// pairs, `"`, the delimiters tried, CR, LF, control bytes, formula starts, UTF-8 of two
    /// and four bytes, bytes that are not UTF-8 and pieces of sequences, around the vector
    /// sizes.
    fn object_text() -> impl proptest::strategy::Strategy<Value = Vec<u8>> {
        use proptest::strategy::Strategy as _;
        let piece = proptest::prop_oneof![
            8 => proptest::sample::select(b"ab =+-@".to_vec()).prop_map(|b| vec![b]),
            2 => proptest::sample::select(b",;\t\"\r\n\\\0\x08'ntrbfq".to_vec()).prop_map(|b| vec![b]),
            2 => proptest::sample::select(b"ntrbf'\\\",q\xc3".to_vec()).prop_map(|b| vec![b'\\', b]),
            1 => proptest::sample::select(vec![
                "\u{e9}".as_bytes().to_vec(),
                "\u{1f600}".as_bytes().to_vec(),
                b"\x80".to_vec(),
                b"\xff".to_vec(),
                b"\xf0\x9f".to_vec(),
            ]),
        ];
        proptest::collection::vec(piece, 0..40).prop_map(|pieces| pieces.concat())
    }

    proptest::proptest! {
        /// An object's cell written straight from its raw bytes is what unescaping, then
        /// quoting writes, for any object and delimiter (but a backslash), raw or
        /// neutralised; nothing is appended for an object that is not UTF-8.
        #[test]
        fn object_cell_is_object_in_full(
            raw_object in object_text(),
            raw: bool,
            d in proptest::sample::select(b",;'\"\x08tnrbf0Zq".to_vec()),
        ) {
            let mut e = crate::parse_line(b"20240323 13:36:09,h,u,l,4,5,QUERY,db,'x',0").unwrap();
            e.object = crate::audit::event::Object::new(&raw_object, true);
            let mut reference = b"<".to_vec();
            CsvWriter::new(d).raw(raw).object_in_full(&e, &mut reference);
            // The writer's way to the cell, whatever the delimiter (TSV has its own), is
            // the reference's.
            let mut row = b"<".to_vec();
            CsvWriter::new(d).raw(raw).object(&e, &mut row);
            proptest::prop_assert_eq!(&row, &reference);
            if !one_pass_delimiter(d) {
                return Ok(());
            }
            let mut ours = b"<".to_vec();
            let written = object_cell(d, raw, &raw_object, &mut ours);
            let expected = std::str::from_utf8(&raw_object).is_ok();
            proptest::prop_assert_eq!(written, expected);
            if written {
                ours.push(d);
                proptest::prop_assert_eq!(&ours, &reference);
            } else {
                proptest::prop_assert_eq!(&ours, b"<");
            }
        }
    }

    proptest::proptest! {
        /// An object that is not UTF-8 (quoted or not, CSV or TSV, raw or neutralised) is
        /// written as `from_utf8_lossy` of its unescaped bytes and their base64 (the `base64`
        /// crate's standard alphabet, padded), each as a cell: the `String`s the cells were
        /// made of before.
        #[test]
        fn invalid_object_is_lossy_text_and_base64(
            raw_object in object_text(),
            invalid_at: usize,
            quoted: bool,
            raw: bool,
            d in proptest::sample::select(b",;\t".to_vec()),
        ) {
            use base64::Engine as _;
            // Not UTF-8 by construction (a 0xFF anywhere, kept by unescaping): filtered
            // generated text was rejected too often (CI's 2,000 cases hit proptest's limit).
            let mut raw_object = raw_object;
            raw_object.insert(invalid_at % (raw_object.len() + 1), 0xff);
            let mut e = crate::parse_line(b"20240323 13:36:09,h,u,l,4,5,QUERY,db,'x',0").unwrap();
            e.object = crate::audit::event::Object::new(&raw_object, quoted);
            let bytes = if quoted {
                crate::audit::unescape::unescape_reference(&raw_object)
            } else {
                raw_object.clone()
            };
            proptest::prop_assume!(std::str::from_utf8(&bytes).is_err());
            let mut expected = b"<".to_vec();
            cell_into(d, raw, String::from_utf8_lossy(&bytes).as_bytes(), &mut expected);
            expected.push(d);
            let encoded = base64::engine::general_purpose::STANDARD.encode(&bytes);
            cell_into(d, raw, encoded.as_bytes(), &mut expected);
            let mut writer = CsvWriter::new(d).raw(raw);
            // Twice: the second object's text is made in the first one's buffer.
            for _ in 0..2 {
                let mut ours = b"<".to_vec();
                writer.object_in_full(&e, &mut ours);
                proptest::prop_assert_eq!(&ours, &expected);
            }
        }
    }

    proptest::proptest! {
        /// Rows of the same or other times (whole seconds or not), dialects and server hosts
        /// (quoted, formulas, the same length with other text) are written as a fresh writer
        /// writes each.
        #[test]
        fn repeated_lead_is_written_as_fresh(
            events in super::super::lead::lead_runs(),
            tab: bool,
            raw: bool,
        ) {
            let d = if tab { b'\t' } else { b',' };
            let mut e = crate::parse_line(b"20240323 13:36:09,h,u,l,4,5,QUERY,db,'x',0").unwrap();
            let mut writer = CsvWriter::new(d).raw(raw);
            for (epoch_us, dialect, serverhost) in events {
                e.timestamp = crate::audit::event::Timestamp { epoch_us, dialect };
                e.serverhost = serverhost.into();
                let (mut ours, mut fresh) = (Vec::new(), Vec::new());
                writer.write(&e, &mut ours);
                CsvWriter::new(d).raw(raw).write(&e, &mut fresh);
                proptest::prop_assert_eq!(ours, fresh);
            }
        }
    }

    /// A writer that has written rows with other `extra` fields writes each row as a fresh
    /// writer does.
    #[test]
    fn remembered_extra_is_written_as_fresh() {
        let extras: [Option<&[u8]>; 9] = [
            Some(b"SSL"),
            Some(b"SSL"),
            Some(b","),
            Some(b"a\"b,\tc"),
            Some(b"SSL"),
            None,
            Some(b""),
            Some(b"SSL"),
            Some(b""),
        ];
        let mut e = crate::parse_line(b"20240323 13:36:09,h,u,l,4,5,CONNECT,db,,0").unwrap();
        for d in [b',', b'\t'] {
            let mut writer = CsvWriter::new(d);
            for extra in extras {
                e.extra = crate::audit::event::Extra::new(extra);
                let (mut ours, mut fresh) = (Vec::new(), Vec::new());
                writer.write(&e, &mut ours);
                CsvWriter::new(d).write(&e, &mut fresh);
                assert_eq!(ours, fresh);
            }
        }
    }

    /// The `extra` cell is a JSON array of the fields read as `from_utf8_lossy` does.
    #[test]
    fn extra_cell_is_a_json_array_of_lossy_text() {
        let mut e = crate::parse_line(b"20240323 13:36:09,h,u,l,4,5,CONNECT,db,,0").unwrap();
        let raw: &[u8] = b"caf\xe9\"\x01,\\\xf0\x9f\x8e,ok";
        e.extra = crate::audit::event::Extra::new(Some(raw));
        let mut out = Vec::new();
        CsvWriter::new(b',').write(&e, &mut out);
        let mut rows = ::csv::ReaderBuilder::new()
            .has_headers(false)
            .from_reader(out.as_slice());
        let row = rows.records().next().unwrap().unwrap();
        let extra = COLUMNS.iter().position(|c| *c == "extra").unwrap();
        let cell: serde_json::Value = serde_json::from_str(&row[extra]).unwrap();
        let want: Vec<String> = e
            .extra
            .fields()
            .map(|f| String::from_utf8_lossy(f).into_owned())
            .collect();
        assert_eq!(cell, serde_json::json!(want));
    }

    #[test]
    fn header_names_every_column() {
        let header = String::from_utf8(CsvWriter::new(b',').header()).unwrap();
        assert_eq!(header.trim_end().split(',').count(), COLUMNS.len());
    }
}
