//! What one record's decoding keeps until its slice is delivered: the matching events (as
//! NDJSON with their delivery keys, or stashed for an [`crate::EventHandler`]) and its
//! unparsed lines, whole.
//!
//! Memory is bounded by what is kept, not by the input: every record of a slice adds to one
//! shared [`Budget`]. Past the soft limit no new record is started; past the hard limit a
//! record stops keeping events and remembers where (`cut`): the slice ends there and the next
//! one decodes that record again, skipping the events already kept. Decoding is deterministic,
//! so the event numbering is the same on every pass.

use std::ops::Range;
use std::sync::atomic::{AtomicUsize, Ordering};

use rdsaudit::AuditEvent;
use rdsaudit::sink::{NdjsonWriter, Sink, UnparsedLine};
use rdsaudit_sql::Enricher;
use rdsaudit_sql::filter::EventFilter;

use crate::events::Stashed;

/// How events are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// NDJSON with the delivery keys, for a [`crate::destination::Destination`].
    Ndjson,
    /// Stashed fields, rebuilt as typed events for an [`crate::EventHandler`].
    Stash,
}

/// The bytes kept by the records of one slice.
#[derive(Debug)]
pub(crate) struct Budget {
    held: AtomicUsize,
    soft: usize,
    hard: usize,
}

impl Budget {
    pub(crate) fn new(soft: usize, hard: usize) -> Self {
        Budget {
            held: AtomicUsize::new(0),
            soft,
            hard,
        }
    }

    /// No new record should start.
    pub(crate) fn is_full(&self) -> bool {
        self.held.load(Ordering::Relaxed) >= self.soft
    }

    /// Takes `bytes`; false (and nothing taken) when that would pass the hard limit.
    fn take(&self, bytes: usize) -> bool {
        let before = self.held.fetch_add(bytes, Ordering::Relaxed);
        if before.saturating_add(bytes) > self.hard {
            self.held.fetch_sub(bytes, Ordering::Relaxed);
            return false;
        }
        true
    }

    pub(crate) fn release(&self, bytes: usize) {
        self.held.fetch_sub(bytes, Ordering::Relaxed);
    }
}

/// One kept event: where its bytes are in [`Capture::bytes`] and [`Capture::text`].
#[derive(Debug, Clone)]
pub(crate) struct Item {
    /// The NDJSON object (no newline) in `bytes` (NDJSON mode).
    pub json: Range<usize>,
    /// The de-duplication id in `text`.
    pub dedup_id: Range<usize>,
    /// `serverhost:connection_id` in `text`.
    pub group: Range<usize>,
    /// The operation in `text`.
    pub operation: Range<usize>,
    /// Event time, epoch µs.
    pub timestamp_us: i64,
    /// The stashed event (stash mode).
    pub stashed: Option<Stashed>,
}

/// A log event that is not an audit line, copied whole.
#[derive(Debug, Clone)]
pub(crate) struct Line {
    pub bytes: Vec<u8>,
    pub error_kind: &'static str,
    pub reason: String,
    pub log_group: Option<String>,
    pub log_stream: Option<String>,
    pub event_id: Option<String>,
}

impl Line {
    /// What the copy holds in memory: the struct, each owned string, and the allocator's
    /// bookkeeping of each allocation. A one-byte line costs about 400 bytes, so the copies
    /// are limited by this, not by the lines' bytes alone (500,000 one-byte lines are 500 KB
    /// of input but were 460 MB of copies and quarantine documents).
    fn cost(&self) -> usize {
        const ALLOCATION: usize = 16;
        let owned = [
            self.log_group.as_ref().map_or(0, String::len),
            self.log_stream.as_ref().map_or(0, String::len),
            self.event_id.as_ref().map_or(0, String::len),
        ];
        std::mem::size_of::<Line>()
            + self.bytes.len()
            + self.reason.len()
            + owned.iter().sum::<usize>()
            + 5 * ALLOCATION
    }
}

/// What a record's unparsed lines may cost as copies ([`Line::cost`]) before the record is
/// quarantined whole instead: a record of garbage cannot make us hold a second copy of it,
/// however many (or however short) its lines are.
pub(crate) const LINES_COPY_LIMIT: usize = 1 << 20;

/// The sink of one record.
#[derive(Debug)]
pub(crate) struct Capture<'b> {
    mode: Mode,
    filter: &'b EventFilter,
    budget: &'b Budget,
    /// Events of this record kept by earlier slices.
    skip: u64,
    /// Always keep the first event: a slice makes progress even if one event is larger than
    /// the budget.
    must_keep_one: bool,
    seen: u64,
    /// The number of the first event not kept, when the budget ran out.
    pub cut: Option<u64>,
    writer: NdjsonWriter,
    /// With `RDSAUDIT_ENRICH` (NDJSON mode): the semantic keys, tables from the record's
    /// TABLE events.
    enricher: Option<Enricher>,
    /// The record's TABLE events, for `RDSAUDIT_TABLES` ([`EventFilter::matches_in`]).
    tables: Enricher,
    pub bytes: Vec<u8>,
    pub text: Vec<u8>,
    pub items: Vec<Item>,
    /// Bytes taken from the budget.
    pub held: usize,
    /// What names this record in the de-duplication id of an event whose log event has no
    /// id ([`record_key`]).
    record_key: String,
    /// Index of the current log event's line (for the dedup id).
    last_event_id: Vec<u8>,
    line_in_message: u64,
    pub lines: Vec<Line>,
    /// What `lines` cost ([`Line::cost`]), taken from the budget (part of `held`).
    lines_held: usize,
    /// More unparsed lines than [`LINES_COPY_LIMIT`]: quarantine the record whole.
    pub lines_overflow: bool,
    /// Events that passed the filter (in this pass, after `skip`).
    pub matched: u64,
}

impl<'b> Capture<'b> {
    pub(crate) fn new(
        mode: Mode,
        filter: &'b EventFilter,
        budget: &'b Budget,
        skip: u64,
        must_keep_one: bool,
    ) -> Self {
        Capture {
            mode,
            filter,
            budget,
            skip,
            must_keep_one,
            seen: 0,
            cut: None,
            writer: NdjsonWriter::new(),
            enricher: None,
            tables: Enricher::default(),
            bytes: Vec::new(),
            text: Vec::new(),
            items: Vec::new(),
            held: 0,
            record_key: String::new(),
            last_event_id: Vec::new(),
            line_in_message: 0,
            lines: Vec::new(),
            lines_held: 0,
            lines_overflow: false,
            matched: 0,
        }
    }

    /// Adds `writes`, `statement_class`, `tables`, `fingerprint`, `digest` and `truncated`
    /// to each NDJSON object (`RDSAUDIT_ENRICH`; the stash mode has no NDJSON to add to).
    pub(crate) fn with_enrich(mut self, enrich: bool) -> Self {
        let limit = self.filter.query_log_limit();
        self.enricher =
            (enrich && self.mode == Mode::Ndjson).then(|| Enricher::with_query_log_limit(limit));
        self
    }

    /// Names the record (see [`record_key`]) for the events whose log event has no id.
    pub(crate) fn with_record(mut self, sequence_number: Option<&str>, payload: &[u8]) -> Self {
        self.record_key = record_key(sequence_number, payload);
        self
    }

    /// Numbers the events read from one CloudWatch log event: 0 for its first (lines that
    /// do not parse are not events, and not counted).
    fn line_index(&mut self, event_id: Option<&str>) -> u64 {
        let id = event_id.unwrap_or_default().as_bytes();
        if self.seen > 1 && id == self.last_event_id.as_slice() {
            self.line_in_message += 1;
        } else {
            self.last_event_id.clear();
            self.last_event_id.extend_from_slice(id);
            self.line_in_message = 0;
        }
        self.line_in_message
    }

    fn keep(&mut self, e: &AuditEvent<'_>, line_index: u64) {
        let (bytes_before, text_before) = (self.bytes.len(), self.text.len());
        let json = match self.mode {
            Mode::Ndjson => {
                match &mut self.enricher {
                    None => self.writer.write(e, &mut self.bytes),
                    Some(enricher) => {
                        let s = enricher.enrich(e);
                        let extra = |out: &mut Vec<u8>| s.write_ndjson(out);
                        self.writer.write_with(e, &mut self.bytes, extra);
                    }
                }
                // The writer ends the object with a newline: the item is the object alone.
                let end = if self.bytes.last() == Some(&b'\n') {
                    self.bytes.len() - 1
                } else {
                    self.bytes.len()
                };
                bytes_before..end
            }
            Mode::Stash => 0..0,
        };
        let dedup_start = self.text.len();
        match e.provenance.event_id.filter(|id| !id.is_empty()) {
            Some(id) => {
                push_event_key(&mut self.text, id);
                self.text.push(b'-');
                self.text
                    .extend_from_slice(line_index.to_string().as_bytes());
            }
            // Without an id, `-0` would name the first event of every such log event alike:
            // an SQS FIFO queue dropped all but one, and S3 objects named after them
            // overwrote each other. The record and the event's place in it are unique, and
            // the same on every retry (decoding is deterministic; skipped events count).
            None => {
                self.text.extend_from_slice(self.record_key.as_bytes());
                self.text.extend_from_slice(b"-event-");
                self.text
                    .extend_from_slice((self.seen - 1).to_string().as_bytes());
            }
        }
        let dedup_id = dedup_start..self.text.len();
        let group_start = self.text.len();
        self.text.extend_from_slice(e.serverhost.as_bytes());
        self.text.push(b':');
        self.text
            .extend_from_slice(e.connection_id.to_string().as_bytes());
        let group = group_start..self.text.len();
        let op_start = self.text.len();
        self.text.extend_from_slice(e.operation.as_str().as_bytes());
        let operation = op_start..self.text.len();
        let stashed = match self.mode {
            Mode::Stash => Some(Stashed::new(e, &mut self.text)),
            Mode::Ndjson => None,
        };
        let size = (self.bytes.len() - bytes_before)
            + (self.text.len() - text_before)
            + std::mem::size_of::<Item>();
        let first = self.must_keep_one && self.items.is_empty();
        if !first && !self.budget.take(size) {
            self.bytes.truncate(bytes_before);
            self.text.truncate(text_before);
            self.cut = Some(self.seen - 1);
            return;
        }
        if first {
            self.budget.held.fetch_add(size, Ordering::Relaxed);
        }
        self.held += size;
        self.items.push(Item {
            json,
            dedup_id,
            group,
            operation,
            timestamp_us: e.timestamp.epoch_us,
            stashed,
        });
    }
}

impl Sink for Capture<'_> {
    fn event(&mut self, e: &AuditEvent<'_>) {
        self.seen += 1;
        let line_index = self.line_index(e.provenance.event_id);
        if self.seen <= self.skip || self.cut.is_some() {
            // Kept by another slice; its TABLE events still name the tables of a QUERY after
            // it, which may be this slice's first.
            self.filter.observe(e, &mut self.tables);
            if let Some(enricher) = &mut self.enricher {
                let _ = enricher.observe(e);
            }
            return;
        }
        if !self.filter.matches_in(e, &mut self.tables) {
            if let Some(enricher) = &mut self.enricher {
                let _ = enricher.observe(e);
            }
            return;
        }
        self.matched += 1;
        self.keep(e, line_index);
    }

    fn unparsed(&mut self, line: &UnparsedLine<'_>) {
        if self.lines_overflow {
            return;
        }
        let copy = Line {
            bytes: line.bytes.to_vec(),
            error_kind: line.reason.kind(),
            reason: line.reason.to_string(),
            log_group: line.log_group.map(str::to_owned),
            log_stream: line.log_stream.map(str::to_owned),
            event_id: line.event_id.map(str::to_owned),
        };
        // The vector's own slot counts too (it grows by doubling: up to twice that).
        let cost = copy.cost() + std::mem::size_of::<Line>();
        if self.lines_held + cost > LINES_COPY_LIMIT {
            self.lines_overflow = true;
            self.lines = Vec::new();
            self.budget.release(self.lines_held);
            self.held -= self.lines_held;
            self.lines_held = 0;
            return;
        }
        // Charged whatever the budget holds (lines cannot be cut and resumed like events;
        // a record's are bounded by the limit above): past the soft limit no new record
        // starts, so the slice ends and is quarantined and delivered before the next.
        self.budget.held.fetch_add(cost, Ordering::Relaxed);
        self.held += cost;
        self.lines_held += cost;
        self.lines.push(copy);
    }
}

/// Writes the part of a de-duplication id that names a log event with the id `id`: `id`
/// itself when it is all ASCII digits, as CloudWatch Logs writes every id (a 56-digit
/// decimal); else `id-` and `id` escaped, every byte outside `A-Z a-z 0-9 .` as `_` and its
/// two hex digits (`record-1-event` is `id-record_2d1_2devent`).
///
/// So no id can spell the key of another: a real id's key starts with a digit, the key of a
/// log event without an id with `record-` ([`record_key`]), any other id's with `id-`, and the
/// escape is undone one way only. It also leaves nothing for a destination to change: the
/// escaped text is what S3 keys (`key_part`) and FIFO ids keep as written (a forged `a/b` and
/// `a_b` were one S3 object name).
fn push_event_key(out: &mut Vec<u8>, id: &str) {
    if id.bytes().all(|b| b.is_ascii_digit()) {
        out.extend_from_slice(id.as_bytes());
        return;
    }
    out.extend_from_slice(b"id-");
    for b in id.bytes() {
        if b.is_ascii_alphanumeric() || b == b'.' {
            out.push(b);
        } else {
            // Writing to a `Vec` cannot fail.
            let _ = std::io::Write::write_fmt(out, format_args!("_{b:02x}"));
        }
    }
}

/// What names a record in the de-duplication id of an event whose CloudWatch log event has no
/// id (missing or empty): `record-<sequence number>`, unique in the shard; without one (a
/// direct `awslogs` event), `record-sha256-<hex>` of its data as delivered (128 bits), the same
/// when the same data is delivered again (a retry, or CloudWatch delivering it twice).
fn record_key(sequence_number: Option<&str>, payload: &[u8]) -> String {
    use sha2::Digest as _;
    use std::fmt::Write as _;
    match sequence_number.filter(|s| !s.is_empty()) {
        Some(seq) => format!("record-{seq}"),
        None => {
            let digest = sha2::Sha256::digest(payload);
            let mut key = String::from("record-sha256-");
            for b in digest.iter().take(16) {
                let _ = write!(key, "{b:02x}");
            }
            key
        }
    }
}

/// One kept event as the target sees it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Kept<'a> {
    /// Index of the record in the batch.
    pub record: usize,
    /// The record's `kinesis.sequenceNumber`.
    pub sequence_number: Option<&'a str>,
    pub capture: &'a Capture<'a>,
    pub item: &'a Item,
}

impl<'a> Kept<'a> {
    fn text(&self, r: &Range<usize>) -> &'a str {
        // Every range of `text` was written from a `str`.
        self.capture
            .text
            .get(r.clone())
            .and_then(|b| std::str::from_utf8(b).ok())
            .unwrap_or_default()
    }

    /// The NDJSON object (NDJSON mode).
    pub(crate) fn json(&self) -> &'a [u8] {
        self.capture
            .bytes
            .get(self.item.json.clone())
            .unwrap_or_default()
    }

    pub(crate) fn dedup_id(&self) -> &'a str {
        self.text(&self.item.dedup_id)
    }

    pub(crate) fn group(&self) -> &'a str {
        self.text(&self.item.group)
    }

    pub(crate) fn operation(&self) -> &'a str {
        self.text(&self.item.operation)
    }

    /// The typed event again (stash mode).
    pub(crate) fn event(&self) -> Option<rdsaudit::AuditEvent<'a>> {
        let stashed = self.item.stashed.as_ref()?;
        Some(stashed.event(&self.capture.text, self.sequence_number))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LINE: &[u8] =
        b"1653053459680124,c731-instance-1,admin,52.94.133.136,35,698024,WRITE,testdb,test2,0";

    fn feed(capture: &mut Capture<'_>, n: usize) {
        for i in 0..n {
            let mut e = rdsaudit::parse_line(LINE).unwrap();
            // Two audit lines per CloudWatch log event.
            let id = format!(
                "37583768277390624687268267134240897445918434512310{}",
                i / 2
            );
            e.provenance.event_id = Some(&id);
            capture.event(&e);
        }
    }

    #[test]
    fn dedup_ids_number_the_lines_of_a_log_event() {
        let budget = Budget::new(1 << 20, 1 << 20);
        let filter = EventFilter::new(rdsaudit::filter::Filter::all(), Default::default());
        let mut c = Capture::new(Mode::Ndjson, &filter, &budget, 0, true);
        feed(&mut c, 4);
        let ids: Vec<&[u8]> = c
            .items
            .iter()
            .map(|i| &c.text[i.dedup_id.clone()])
            .collect();
        assert_eq!(
            ids,
            [
                &b"375837682773906246872682671342408974459184345123100-0"[..],
                b"375837682773906246872682671342408974459184345123100-1",
                b"375837682773906246872682671342408974459184345123101-0",
                b"375837682773906246872682671342408974459184345123101-1"
            ]
        );
        let item = &c.items[0];
        assert_eq!(&c.text[item.group.clone()], b"c731-instance-1:35");
        assert_eq!(&c.text[item.operation.clone()], b"WRITE");
        let json: serde_json::Value = serde_json::from_slice(&c.bytes[item.json.clone()]).unwrap();
        assert_eq!(json["object"], "test2");
    }

    /// Session 31 (advC F3): a log event whose id spells the key generated for a log event
    /// without one (`record-<seq>-event`, line 0) shared its de-duplication id: an SQS FIFO
    /// queue kept one of the two events, an S3 object named after one overwrote the other's.
    /// Ids S3 keys would write alike (`a/b`, `a_b`) no longer share one either. Failed before.
    #[test]
    fn no_id_spells_the_key_of_another_log_event() {
        let seq = "49630000000000000000000000000000000000000000000000000001";
        let forged = format!("record-{seq}-event");
        let ids = [
            "",
            forged.as_str(),
            "a/b",
            "a_b",
            "a_2fb",
            "id-a_2fb",
            "1",
            "01",
            "37583768277390624687268267134240897445918434512310",
            "3758376827739062468726826713424089744591843451231\u{0}",
            "-",
            "",
        ];
        let budget = Budget::new(1 << 20, 1 << 20);
        let filter = EventFilter::new(rdsaudit::filter::Filter::all(), Default::default());
        let mut c =
            Capture::new(Mode::Ndjson, &filter, &budget, 0, true).with_record(Some(seq), b"data");
        for id in ids {
            let mut e = rdsaudit::parse_line(LINE).unwrap();
            e.provenance.event_id = Some(id);
            c.event(&e);
        }
        let keys: Vec<&str> = c
            .items
            .iter()
            .map(|i| std::str::from_utf8(&c.text[i.dedup_id.clone()]).unwrap())
            .collect();
        assert_eq!(keys[0], format!("record-{seq}-event-0"));
        assert_eq!(keys[1], format!("id-record_2d{seq}_2devent-0"));
        assert_eq!(&keys[2..4], ["id-a_2fb-0", "id-a_5fb-0"]);
        assert_eq!(
            keys[8],
            "37583768277390624687268267134240897445918434512310-0"
        );
        assert_eq!(keys[11], format!("record-{seq}-event-11"));
        let distinct: std::collections::HashSet<&str> = keys.iter().copied().collect();
        assert_eq!(distinct.len(), ids.len(), "{keys:?}");
        // What an S3 key (`s3::key_part`) and a FIFO id keep as written.
        for k in &keys {
            assert!(
                k.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-')),
                "{k}"
            );
        }
    }

    #[test]
    fn the_hard_limit_cuts_and_a_second_pass_resumes_where_it_stopped() {
        let filter = EventFilter::new(rdsaudit::filter::Filter::all(), Default::default());
        let budget = Budget::new(0, 3000);
        let mut first = Capture::new(Mode::Ndjson, &filter, &budget, 0, true);
        feed(&mut first, 50);
        let cut = first.cut.expect("the budget is smaller than 50 events");
        assert_eq!(first.items.len() as u64, cut);
        assert!(budget.held.load(Ordering::Relaxed) <= 3000);
        budget.release(first.held);
        let mut second = Capture::new(Mode::Ndjson, &filter, &budget, cut, true);
        feed(&mut second, 50);
        // The second pass starts at the first event not kept, with the same dedup ids.
        let last_of_first = &first.text[first.items.last().unwrap().dedup_id.clone()];
        let first_of_second = &second.text[second.items[0].dedup_id.clone()];
        assert_ne!(last_of_first, first_of_second);
        assert_eq!(
            first_of_second,
            format!(
                "37583768277390624687268267134240897445918434512310{}-{}",
                cut / 2,
                cut % 2
            )
            .as_bytes()
        );
    }

    /// Review 8 (F13): `RDSAUDIT_TABLES` reads a QUERY's tables from the server's TABLE
    /// events (as `RDSAUDIT_ENRICH` does), also when a slice resumes the record between them.
    #[test]
    fn the_table_filter_and_enrich_see_table_events_an_earlier_slice_kept() {
        let spec = rdsaudit_sql::filter::SemanticSpec {
            tables: vec![rdsaudit_sql::TablePattern::parse("shop.orders").unwrap()],
            ..Default::default()
        };
        let filter = EventFilter::new(rdsaudit::filter::Filter::all(), spec);
        let budget = Budget::new(1 << 20, 1 << 20);
        let lines: [&[u8]; 2] = [
            b"20240323 13:36:08,vm,app,10.0.0.1,5,7,WRITE,shop,orders,",
            b"20240323 13:36:08,vm,app,10.0.0.1,5,7,QUERY,shop,'CALL p()',0",
        ];
        for skip in [0, 1] {
            let mut c = Capture::new(Mode::Ndjson, &filter, &budget, skip, true).with_enrich(true);
            for line in lines {
                c.event(&rdsaudit::parse_line(line).unwrap());
            }
            assert_eq!(c.items.len() as u64, 2 - skip, "skip {skip}");
            let last = c.items.last().unwrap();
            let json: serde_json::Value =
                serde_json::from_slice(&c.bytes[last.json.clone()]).unwrap();
            assert_eq!(json["object"], "CALL p()");
            assert_eq!(
                json["tables"],
                serde_json::json!(["shop.orders"]),
                "skip {skip}"
            );
        }
    }
}
