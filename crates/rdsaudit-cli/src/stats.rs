//! `rdsaudit stats`: what a DBA asks of an audit log. The time range covered and events over
//! time (a small text histogram); counts by operation, user, database and host; writes per
//! table; the top statement fingerprints (pt-query-digest's, with first and last seen);
//! failed logins by user and host; failures by return code; every DDL and DCL statement;
//! how many statements may be cut at the plugin's limit. `--format json` for machines.
//!
//! Counts are named for what they count: records (Kinesis records, CloudWatch Logs payloads),
//! CloudWatch log events (one may hold several audit lines), audit lines (parsed + unparsed)
//! and events (the audit lines selected by the filters). An ambiguous event (a raw name lets
//! its line read more than one way, and one reading may be forged) is counted once, as its
//! chosen reading, except where a reading could invent or hide a write: its tables are not
//! in "writes per table" but in a list of their own, from every reading that writes.
//!
//! Each record (or text piece) is tallied on its own thread, in time linear in its size
//! (the fingerprint is a fixed number of linear passes), and the tallies are merged in
//! input order.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt::Write as _;
use std::io::Write as _;

use rdsaudit::audit::event::DEFAULT_QUERY_LOG_LIMIT;
use rdsaudit::audit::timestamp::Rfc3339;
use rdsaudit::filter::is_failed_login;
use rdsaudit::report::Report;
use rdsaudit::sink::UnparsedLine;
use rdsaudit::{AuditEvent, Name, Operation, Sink};
use rdsaudit_sql::event::analysis_at;
use rdsaudit_sql::{Enricher, Semantics, StatementClass, Table};
use serde_json::{Value, json};

use super::accounting::Accounting;
use super::args::{StatsArgs, StatsFormat};
use super::input::{CommandSink, Reader};

/// Counts by key.
#[derive(Debug, Default)]
struct Counts(HashMap<String, u64>);

impl Counts {
    fn add(&mut self, key: &str, n: u64) {
        match self.0.get_mut(key) {
            Some(count) => *count += n,
            None => {
                self.0.insert(key.to_owned(), n);
            }
        }
    }

    fn merge(&mut self, other: Counts) {
        for (k, n) in other.0 {
            *self.0.entry(k).or_default() += n;
        }
    }

    fn total(&self) -> u64 {
        self.0.values().sum()
    }

    /// The `top` largest counts, ties by key, then the number of keys left out.
    fn top(&self, top: usize) -> (Vec<(&str, u64)>, usize) {
        let mut rows: Vec<(&str, u64)> = self.0.iter().map(|(k, n)| (k.as_str(), *n)).collect();
        rows.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        let hidden = rows.len().saturating_sub(top);
        rows.truncate(top);
        (rows, hidden)
    }

    fn json(&self, top: usize) -> Value {
        let (rows, _) = self.top(top);
        Value::Array(
            rows.into_iter()
                .map(|(k, n)| json!({"key": k, "count": n}))
                .collect(),
        )
    }
}

/// One fingerprint's group.
#[derive(Debug, Clone)]
struct Group {
    digest: String,
    count: u64,
    first_us: i64,
    last_us: i64,
}

impl Group {
    fn merge(&mut self, other: &Group) {
        self.count += other.count;
        self.first_us = self.first_us.min(other.first_us);
        self.last_us = self.last_us.max(other.last_us);
    }
}

/// The class a statement is listed by: that of the DDL or DCL an `EXECUTE IMMEDIATE` runs
/// (`EXECUTE IMMEDIATE 'DROP USER evil'` is DCL here; its `statement_class` in `parse
/// --enrich` stays `call`: session 35's adversary HIGH-1), else its own.
fn listed_class(class: StatementClass, immediate: Option<StatementClass>) -> StatementClass {
    match immediate {
        Some(run @ (StatementClass::Ddl | StatementClass::Dcl)) => run,
        _ => class,
    }
}

/// A DDL or DCL statement, listed whole (up to [`LISTED_BYTES`]).
#[derive(Debug, Clone)]
struct Listed {
    at_us: i64,
    user: String,
    host: String,
    database: String,
    class: StatementClass,
    retcode: Option<i64>,
    /// The statement's text (lossy when it is not UTF-8).
    text: String,
    /// Its bytes, when they are not UTF-8 (`object_base64` in JSON).
    bytes: Option<Vec<u8>>,
    /// The line reads more than one way: this reading may be forged.
    ambiguous: bool,
    /// The statement's length in bytes, when it is longer than what is listed.
    cut_from: Option<usize>,
}

/// Bytes of a DDL/DCL statement kept for the list (the plugin's default limit is 1 KiB).
const LISTED_BYTES: usize = 4096;

/// The first [`LISTED_BYTES`] of `raw` (fewer, to end at a character of UTF-8 text: cut
/// inside one, a UTF-8 statement was listed as one that is not, with `object_base64`), and
/// whether that is all of it.
fn listed_part(raw: &[u8]) -> (&[u8], bool) {
    let head = match raw.get(..LISTED_BYTES) {
        Some(head) if raw.len() > LISTED_BYTES => head,
        _ => return (raw, true),
    };
    let end = match std::str::from_utf8(head) {
        // Invalid only in its last character, which the cut split.
        Err(e) if e.error_len().is_none() => e.valid_up_to(),
        _ => head.len(),
    };
    (raw.get(..end).unwrap_or(head), false)
}

/// The counts of one record or text piece; merged in input order.
#[derive(Debug)]
pub struct Tally {
    events: u64,
    /// Events whose line reads more than one way (flagged, counted in `events` once).
    ambiguous: u64,
    first_us: Option<i64>,
    last_us: Option<i64>,
    /// Events per minute (epoch minute -> count).
    minutes: BTreeMap<i64, u64>,
    operations: Counts,
    users: Counts,
    databases: Counts,
    hosts: Counts,
    write_tables: Counts,
    /// Tables written by any reading of ambiguous events (one event counts once per table).
    ambiguous_write_tables: Counts,
    /// Ambiguous events with readings left unlisted (their tables are unknown).
    ambiguous_unlisted: u64,
    /// Statements whose `writes` depends on the server's version (counted as writes).
    version_dependent: u64,
    /// Statements whose tables depend on the session's quoting `sql_mode` (`--enrich`'s
    /// `mode_dependent`: another quoting mode's reading names more tables).
    mode_dependent: u64,
    /// CloudWatch log events of this record (their ids); merged as a count.
    cloudwatch_ids: HashSet<String>,
    cloudwatch_events: u64,
    fingerprints: HashMap<String, Group>,
    failed_logins: Counts,
    failures: Counts,
    ddl_dcl: Vec<Listed>,
    truncated: u64,
    /// Tables from the server's TABLE events of this record, for its QUERY events.
    enricher: Enricher,
    /// `--query-log-limit`: a statement reaching it may be cut.
    query_log_limit: usize,
}

impl Sink for Tally {
    fn event(&mut self, e: &AuditEvent<'_>) {
        let t = e.timestamp.epoch_us;
        self.events += 1;
        self.ambiguous += u64::from(e.ambiguity.is_ambiguous());
        self.first_us = Some(self.first_us.map_or(t, |f| f.min(t)));
        self.last_us = Some(self.last_us.map_or(t, |l| l.max(t)));
        *self.minutes.entry(t.div_euclid(60_000_000)).or_default() += 1;
        self.operations.add(e.operation.as_str(), 1);
        self.users.add(&shown_name(e.username), 1);
        self.databases.add(&shown_name(e.database), 1);
        self.hosts.add(&shown_name(e.host), 1);
        if is_failed_login(e) {
            self.failed_logins.add(
                &format!("{}@{}", shown_name(e.username), shown_name(e.host)),
                1,
            );
        }
        if let Some(code) = e.retcode.filter(|c| *c != 0) {
            self.failures.add(&code.to_string(), 1);
        }
        self.cloudwatch_event(e.provenance.event_id);
        let semantics = self.enricher.enrich(e);
        if e.ambiguity.is_ambiguous() {
            self.add_ambiguous(e);
        }
        if e.operation == Operation::Query {
            self.add_statement(e, semantics);
        }
    }

    fn unparsed(&mut self, line: &UnparsedLine<'_>) {
        self.cloudwatch_event(line.event_id);
    }
}

impl CommandSink for Tally {
    /// Statistics do not name files.
    fn set_file(&mut self, _file: Option<&str>) {}

    /// Events the filter dropped: their TABLE events still name a statement's tables.
    fn dropped(&mut self, e: &AuditEvent<'_>) {
        self.cloudwatch_event(e.provenance.event_id);
        let _ = self.enricher.observe(e);
    }
}

impl Default for Tally {
    fn default() -> Self {
        Tally::with_query_log_limit(DEFAULT_QUERY_LOG_LIMIT)
    }
}

impl Tally {
    /// A tally of events logged by a server whose `server_audit_query_log_limit` is `limit`.
    fn with_query_log_limit(limit: usize) -> Self {
        Tally {
            events: 0,
            ambiguous: 0,
            first_us: None,
            last_us: None,
            minutes: BTreeMap::new(),
            operations: Counts::default(),
            users: Counts::default(),
            databases: Counts::default(),
            hosts: Counts::default(),
            write_tables: Counts::default(),
            ambiguous_write_tables: Counts::default(),
            ambiguous_unlisted: 0,
            version_dependent: 0,
            mode_dependent: 0,
            cloudwatch_ids: HashSet::new(),
            cloudwatch_events: 0,
            fingerprints: HashMap::new(),
            failed_logins: Counts::default(),
            failures: Counts::default(),
            ddl_dcl: Vec::new(),
            truncated: 0,
            enricher: Enricher::with_query_log_limit(limit),
            query_log_limit: limit,
        }
    }

    fn cloudwatch_event(&mut self, id: Option<&str>) {
        if let Some(id) = id.filter(|id| !self.cloudwatch_ids.contains(*id)) {
            self.cloudwatch_ids.insert(id.to_owned());
        }
    }

    /// The tables every successful reading of an ambiguous event writes, each once; the DDL
    /// and DCL of its other readings (the chosen one is listed with the statements).
    fn add_ambiguous(&mut self, e: &AuditEvent<'_>) {
        self.ambiguous_unlisted += u64::from(e.ambiguity.omitted() > 0);
        let mut tables = Vec::new();
        let alternatives = e.ambiguity.alternatives();
        for (i, reading) in std::iter::once(e).chain(&alternatives).enumerate() {
            let a = analysis_at(reading, self.query_log_limit);
            if a.writes && reading.retcode == Some(0) {
                tables.extend(a.written);
            }
            if i > 0 && reading.operation == Operation::Query {
                self.list_ddl_dcl(reading, listed_class(a.class, a.immediate_class), true);
            }
        }
        tables.sort_unstable();
        tables.dedup();
        for table in &tables {
            self.ambiguous_write_tables.add(&shown_table(table), 1);
        }
    }

    fn add_statement(&mut self, e: &AuditEvent<'_>, s: Semantics) {
        let t = e.timestamp.epoch_us;
        self.truncated += u64::from(s.truncated);
        self.version_dependent += u64::from(s.version_dependent);
        self.mode_dependent += u64::from(s.mode_dependent);
        if s.writes && e.retcode == Some(0) && !e.ambiguity.is_ambiguous() {
            for table in &s.written_tables {
                self.write_tables.add(&shown_table(table), 1);
            }
        }
        if let (Some(fingerprint), Some(digest)) = (s.fingerprint, s.digest) {
            let group = Group {
                digest,
                count: 1,
                first_us: t,
                last_us: t,
            };
            match self.fingerprints.get_mut(&fingerprint) {
                Some(g) => g.merge(&group),
                None => {
                    self.fingerprints.insert(fingerprint, group);
                }
            }
        }
        if let Some(class) = s.class {
            let class = listed_class(class, s.immediate_class);
            self.list_ddl_dcl(e, class, e.ambiguity.is_ambiguous());
        }
    }

    /// Lists the statement of (a reading of) `e` when it is DDL or DCL; `ambiguous` when the
    /// line reads more than one way.
    fn list_ddl_dcl(&mut self, e: &AuditEvent<'_>, class: StatementClass, ambiguous: bool) {
        if !matches!(class, StatementClass::Ddl | StatementClass::Dcl) {
            return;
        }
        let raw = e.object.unescaped();
        let (listed, whole) = listed_part(&raw);
        let text = String::from_utf8_lossy(listed);
        let bytes = matches!(text, std::borrow::Cow::Owned(_)).then(|| listed.to_vec());
        self.ddl_dcl.push(Listed {
            at_us: e.timestamp.epoch_us,
            user: shown_name(e.username).into_owned(),
            host: shown_name(e.host).into_owned(),
            database: shown_name(e.database).into_owned(),
            class,
            retcode: e.retcode,
            text: text.into_owned(),
            bytes,
            ambiguous,
            cut_from: (!whole).then_some(raw.len()),
        });
    }

    fn merge(&mut self, other: Tally) {
        self.events += other.events;
        self.ambiguous += other.ambiguous;
        self.first_us = min_some(self.first_us, other.first_us, i64::min);
        self.last_us = min_some(self.last_us, other.last_us, i64::max);
        for (m, n) in other.minutes {
            *self.minutes.entry(m).or_default() += n;
        }
        self.operations.merge(other.operations);
        self.users.merge(other.users);
        self.databases.merge(other.databases);
        self.hosts.merge(other.hosts);
        self.write_tables.merge(other.write_tables);
        self.ambiguous_write_tables
            .merge(other.ambiguous_write_tables);
        self.ambiguous_unlisted += other.ambiguous_unlisted;
        self.version_dependent += other.version_dependent;
        self.mode_dependent += other.mode_dependent;
        self.cloudwatch_events += other.cloudwatch_events + other.cloudwatch_ids.len() as u64;
        for (fp, g) in other.fingerprints {
            match self.fingerprints.get_mut(&fp) {
                Some(mine) => mine.merge(&g),
                None => {
                    self.fingerprints.insert(fp, g);
                }
            }
        }
        self.failed_logins.merge(other.failed_logins);
        self.failures.merge(other.failures);
        self.ddl_dcl.extend(other.ddl_dcl);
        self.truncated += other.truncated;
    }

    /// Fingerprints by count (then first seen, then text), the top `top`.
    fn top_fingerprints(&self, top: usize) -> Vec<(&str, &Group)> {
        let mut rows: Vec<(&str, &Group)> = self
            .fingerprints
            .iter()
            .map(|(f, g)| (f.as_str(), g))
            .collect();
        rows.sort_by(|a, b| (b.1.count, a.1.first_us, a.0).cmp(&(a.1.count, b.1.first_us, b.0)));
        rows.truncate(top);
        rows
    }

    fn render(&self, top: usize, report: &Report) -> String {
        let mut s = format!(
            "records: {} (Kinesis records, CloudWatch Logs payloads)\n\
             CloudWatch log events: {}\n\
             audit lines: {} = {} parsed + {} unparsed\n\
             events: {} (parsed audit lines the filters selected)\n",
            report.records,
            self.cloudwatch_events,
            report.log_events,
            report.parsed_events,
            report.unparsed_events,
            self.events
        );
        if report.blank_lines > 0 {
            let _ = writeln!(s, "blank lines: {} (no text, skipped)", report.blank_lines);
        }
        if self.ambiguous > 0 {
            // On its own line: these events' names let the line read more than one way.
            let _ = writeln!(
                s,
                "ambiguous events: {} (a raw name lets the line read more than one way, and a \
                 reading may be forged; counted once, as the event's own reading (docs/HOSTILE.md), \
                 but not in writes per table)",
                self.ambiguous
            );
        }
        if let (Some(first), Some(last)) = (self.first_us, self.last_us) {
            let _ = writeln!(
                s,
                "time range: {} .. {} ({})",
                Rfc3339(first),
                Rfc3339(last),
                span(last - first)
            );
        }
        render_histogram(&mut s, &histogram(&self.minutes));
        let tables = [
            ("operations", &self.operations),
            ("users", &self.users),
            ("databases", &self.databases),
            ("hosts", &self.hosts),
            (
                "writes per table (successful statements; the tables they change, not those they read)",
                &self.write_tables,
            ),
        ];
        for (title, counts) in tables {
            table(&mut s, title, counts, top);
        }
        if self.version_dependent > 0 {
            let _ = writeln!(
                s,
                "  (of them, {} statements whose writing depends on the server's version: \
                 a versioned comment that may not have run)",
                self.version_dependent
            );
        }
        if self.mode_dependent > 0 {
            let _ = writeln!(
                s,
                "  ({} statements whose tables depend on the session's quoting sql_mode, which \
                 the log does not hold: read under ANSI_QUOTES or NO_BACKSLASH_ESCAPES they \
                 name tables that a default session reads as a string's text; listed, their \
                 writes counted)",
                self.mode_dependent
            );
        }
        if self.ambiguous > 0 {
            table(
                &mut s,
                "writes per table in ambiguous events (any reading that writes; \
                 one may be forged)",
                &self.ambiguous_write_tables,
                top,
            );
            if self.ambiguous_unlisted > 0 {
                let _ = writeln!(
                    s,
                    "  ({} ambiguous events have readings left unlisted: their tables are unknown)",
                    self.ambiguous_unlisted
                );
            }
        }
        let _ = writeln!(s, "\ntop fingerprints:");
        for (fp, g) in self.top_fingerprints(top) {
            let _ = writeln!(
                s,
                "  {:>10}  {} .. {}  0x{}  {}",
                g.count,
                Rfc3339(g.first_us),
                Rfc3339(g.last_us),
                g.digest,
                shown_text(fp)
            );
        }
        let hidden = self.fingerprints.len().saturating_sub(top);
        if hidden > 0 {
            let _ = writeln!(s, "  ({hidden} more)");
        }
        let _ = write!(s, "\nfailed logins: {}", self.failed_logins.total());
        table(&mut s, "", &self.failed_logins, top);
        table(&mut s, "failures by return code", &self.failures, top);
        let _ = writeln!(s, "\nDDL and DCL statements: {}", self.ddl_dcl.len());
        for l in &self.ddl_dcl {
            let code = l.retcode.map_or_else(|| "-".to_owned(), |c| c.to_string());
            let _ = writeln!(
                s,
                "  {}  {}@{}  {}  {}  retcode {code}  {}{}{}",
                Rfc3339(l.at_us),
                shown(&l.user),
                shown(&l.host),
                shown(if l.database.is_empty() {
                    "(none)"
                } else {
                    &l.database
                }),
                l.class.as_str(),
                if l.ambiguous {
                    "(ambiguous: may be forged)  "
                } else {
                    ""
                },
                shown_statement(&l.text, l.bytes.is_none()),
                l.cut_from.map_or_else(String::new, |n| format!(
                    "  (cut: its first {} of {n} bytes)",
                    l.text_bytes()
                ))
            );
        }
        let _ = writeln!(
            s,
            "\ntruncated statements (reaching the {}-byte query log limit): {}",
            self.query_log_limit, self.truncated
        );
        s
    }

    fn json(&self, top: usize, report: &Report) -> Value {
        let (unit, buckets) = histogram(&self.minutes);
        json!({
            "records": report.records,
            "cloudwatch_log_events": self.cloudwatch_events,
            "audit_lines": {
                "total": report.log_events,
                "parsed": report.parsed_events,
                "unparsed": report.unparsed_events,
            },
            "blank_lines": report.blank_lines,
            "events": self.events,
            "ambiguous_events": self.ambiguous,
            "time_range": {
                "first": self.first_us.map(|t| Rfc3339(t).to_string()),
                "last": self.last_us.map(|t| Rfc3339(t).to_string()),
            },
            "histogram": {
                "bucket": unit.name(),
                "counts": buckets.iter().map(|(start, n)| json!({
                    "start": Rfc3339(*start).to_string(), "events": n
                })).collect::<Vec<_>>(),
            },
            "operations": self.operations.json(usize::MAX),
            "users": self.users.json(top),
            "databases": self.databases.json(top),
            "hosts": self.hosts.json(top),
            "writes_per_table": self.write_tables.json(top),
            "version_dependent_statements": self.version_dependent,
            "mode_dependent_statements": self.mode_dependent,
            "ambiguous_writes_per_table": self.ambiguous_write_tables.json(top),
            "ambiguous_events_with_unlisted_readings": self.ambiguous_unlisted,
            "top_fingerprints": self.top_fingerprints(top).into_iter().map(|(fp, g)| json!({
                "fingerprint": fp,
                "digest": g.digest,
                "count": g.count,
                "first_seen": Rfc3339(g.first_us).to_string(),
                "last_seen": Rfc3339(g.last_us).to_string(),
            })).collect::<Vec<_>>(),
            "failed_logins": self.failed_logins.json(usize::MAX),
            "failures_by_retcode": self.failures.json(usize::MAX),
            "ddl_dcl": self.ddl_dcl.iter().map(Listed::json).collect::<Vec<_>>(),
            "truncated": self.truncated,
        })
    }
}

impl Listed {
    /// Bytes of the statement listed.
    fn text_bytes(&self) -> usize {
        self.bytes.as_ref().map_or(self.text.len(), Vec::len)
    }

    /// The statement for `--format json`: its text as it is (JSON escapes what it must),
    /// and, when it is not UTF-8, `object_base64` with its bytes (the text is lossy then,
    /// and its U+FFFD would not tell a byte that is not UTF-8 from U+FFFD itself), as
    /// `parse` writes an event's `object`. Names are shown as in the text.
    fn json(&self) -> Value {
        use base64::Engine as _;
        let mut listed = json!({
            "timestamp": Rfc3339(self.at_us).to_string(),
            "username": self.user,
            "host": self.host,
            "database": self.database,
            "statement_class": self.class.as_str(),
            "retcode": self.retcode,
            "object": self.text,
            "ambiguous": self.ambiguous,
            "object_cut_from": self.cut_from,
        });
        if let (Some(bytes), Some(listed)) = (&self.bytes, listed.as_object_mut()) {
            let b64 = base64::engine::general_purpose::STANDARD.encode(bytes);
            listed.insert("object_base64".to_owned(), b64.into());
        }
        listed
    }
}

fn min_some(a: Option<i64>, b: Option<i64>, pick: fn(i64, i64) -> i64) -> Option<i64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(pick(a, b)),
        (a, b) => a.or(b),
    }
}

/// `2h 5m`, `3d 4h`, `42s`.
fn span(us: i64) -> String {
    let s = us / 1_000_000;
    match s {
        s if s < 60 => format!("{s}s"),
        s if s < 3600 => format!("{}m {}s", s / 60, s % 60),
        s if s < 86_400 => format!("{}h {}m", s / 3600, s / 60 % 60),
        s => format!("{}d {}h", s / 86_400, s / 3600 % 24),
    }
}

/// Histogram bucket width.
#[derive(Debug, Clone, Copy)]
enum Unit {
    Minute,
    Hour,
    Day,
}

impl Unit {
    fn minutes(self) -> i64 {
        match self {
            Unit::Minute => 1,
            Unit::Hour => 60,
            Unit::Day => 1440,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Unit::Minute => "minute",
            Unit::Hour => "hour",
            Unit::Day => "day",
        }
    }
}

/// At most this many rows before a wider bucket is chosen.
const MAX_ROWS: i64 = 48;
/// Past this many days between the first and the last event, only days with events are shown:
/// one line from year 1 among a log of year 9999 must not print 3.6 million empty days.
const MAX_DENSE_DAYS: i64 = 1000;

/// Per minute, hour or day, whichever keeps the rows few; every bucket between the first and
/// the last is shown (an empty one is news too) unless the days are too many
/// ([`MAX_DENSE_DAYS`]). Starts in epoch microseconds.
fn histogram(minutes: &BTreeMap<i64, u64>) -> (Unit, Vec<(i64, u64)>) {
    let (Some((&first, _)), Some((&last, _))) =
        (minutes.first_key_value(), minutes.last_key_value())
    else {
        return (Unit::Minute, Vec::new());
    };
    let unit = [Unit::Minute, Unit::Hour]
        .into_iter()
        .find(|u| (last - first) / u.minutes() < MAX_ROWS)
        .unwrap_or(Unit::Day);
    let width = unit.minutes();
    let start = first.div_euclid(width);
    if last.div_euclid(width) - start >= MAX_DENSE_DAYS {
        let mut days: BTreeMap<i64, u64> = BTreeMap::new();
        for (&m, &n) in minutes {
            *days.entry(m.div_euclid(width)).or_default() += n;
        }
        let sparse = days.into_iter().map(|(d, n)| (d * width * 60_000_000, n));
        return (unit, sparse.collect());
    }
    let rows = usize::try_from(last.div_euclid(width) - start + 1).unwrap_or(0);
    let mut buckets: Vec<(i64, u64)> = (0..rows)
        .map(|i| ((start + i as i64) * width * 60_000_000, 0))
        .collect();
    for (&m, &n) in minutes {
        let i = usize::try_from(m.div_euclid(width) - start).unwrap_or(0);
        if let Some(b) = buckets.get_mut(i) {
            b.1 += n;
        }
    }
    (unit, buckets)
}

fn render_histogram(s: &mut String, (unit, buckets): &(Unit, Vec<(i64, u64)>)) {
    let max = buckets.iter().map(|b| b.1).max().unwrap_or(0).max(1);
    let _ = writeln!(s, "\nevents per {}:", unit.name());
    for (start, n) in buckets {
        let stamp = Rfc3339(*start).to_string();
        let label = match unit {
            Unit::Minute | Unit::Hour => stamp.get(..16).unwrap_or(&stamp).to_owned() + "Z",
            Unit::Day => stamp.get(..10).unwrap_or(&stamp).to_owned(),
        };
        let bar = "#".repeat(usize::try_from(n * 40 / max).unwrap_or(0));
        let _ = writeln!(s, "  {label}  {n:>10}  {bar}");
    }
}

/// Table names, statements and fingerprints as shown (in text and in JSON keys): `\`
/// escaped as `\\`, and every character that is not [`readable`] escaped ([`escape`]:
/// `\n`, `\u{1b}`, `\u{202e}`), but for U+FFFD (a fingerprint of a statement that is not
/// UTF-8 is its lossy text). They are attacker text: a raw newline or U+2028 would forge
/// rows of this report, an escape sequence would drive the reader's terminal, a
/// bidirectional override (`shop.o<U+202E>sredro`) or an invisible character
/// (`shop.<U+200B>orders`) would pass for another table, and a raw `\` would let a table
/// literally named `o\u{202e}x` pass for one holding U+202E (session 33), a statement's `\n`
/// for a line break.
fn shown_text(text: &str) -> std::borrow::Cow<'_, str> {
    shown_text_as(text, true)
}

/// A listed statement as shown: as [`shown_text`], its U+FFFD escaped too when it is UTF-8
/// (`utf8`), so that a raw U+FFFD stands for bytes that are not UTF-8 (its JSON
/// `object_base64` holds them), as in table names ([`shown_table`]).
fn shown_statement(text: &str, utf8: bool) -> std::borrow::Cow<'_, str> {
    shown_text_as(text, !utf8)
}

/// [`shown_text`], U+FFFD left as it is only when `fffd` is true (lossy text).
fn shown_text_as(text: &str, fffd: bool) -> std::borrow::Cow<'_, str> {
    if !text.contains('\\') {
        return shown_as(text, fffd);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for part in text.split_inclusive('\\') {
        match part.strip_suffix('\\') {
            Some(before) => {
                out.push_str(&shown_as(before, fffd));
                out.push_str("\\\\");
            }
            None => out.push_str(&shown_as(part, fffd)),
        }
    }
    std::borrow::Cow::Owned(out)
}

/// A table as counted and shown (the key of its count, in text and JSON), one text per
/// table's bytes (session 34's adversary LOW-4: tables `\xff` and U+FFFD were counted as
/// one, and `t` of a database named `(none)` read as a table of no database):
/// - written as `--table` reads it, `db.table` (`table` alone when its database is not
///   known), a part back-quoted (`` ` `` doubled) when it holds `.` or `` ` ``, or starts
///   with `(`: `` `(none)`.t ``, while `(none)` alone is the empty name's;
/// - a UTF-8 table then as [`shown_text`] shows it, U+FFFD escaped too (`shop.\u{fffd}`);
/// - a table that is not UTF-8 as its lossy text, U+FFFD left as it is, then its bytes as
///   written: `shop.� (not UTF-8, base64 c2hvcC7/)`. A raw U+FFFD is in no UTF-8 table's.
fn shown_table(table: &Table) -> String {
    use base64::Engine as _;
    let (database, name) = table.bytes();
    let mut written = Vec::with_capacity(database.len() + name.len() + 5);
    if !database.is_empty() {
        written_part(database, &mut written);
        written.push(b'.');
    }
    written_part(name, &mut written);
    match std::str::from_utf8(&written) {
        Ok(text) => shown_text_as(text, false).into_owned(),
        Err(_) => format!(
            "{} (not UTF-8, base64 {})",
            shown_text_as(&String::from_utf8_lossy(&written), true),
            base64::engine::general_purpose::STANDARD.encode(&written)
        ),
    }
}

/// A part of a table's name as [`shown_table`] writes it.
fn written_part(part: &[u8], out: &mut Vec<u8>) {
    if !part.contains(&b'.') && !part.contains(&b'`') && part.first() != Some(&b'(') {
        out.extend_from_slice(part);
        return;
    }
    out.push(b'`');
    for &b in part {
        if b == b'`' {
            out.push(b'`');
        }
        out.push(b);
    }
    out.push(b'`');
}

/// `text` with every character that is not [`readable`] escaped ([`escape`]), but for
/// U+FFFD: a display made already (a name's, [`shown_name`], whose `\` are escaped, or
/// [`shown_text`]'s) left as it is, and a count's key (a return code).
fn shown(text: &str) -> std::borrow::Cow<'_, str> {
    shown_as(text, true)
}

/// [`shown`], U+FFFD left as it is only when `fffd` is true.
fn shown_as(text: &str, fffd: bool) -> std::borrow::Cow<'_, str> {
    let raw = |c: char| readable(c) || (fffd && c == '\u{FFFD}');
    if text.chars().all(raw) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if raw(c) {
            out.push(c);
        } else {
            escape(c, &mut out);
        }
    }
    std::borrow::Cow::Owned(out)
}

/// A titled table of the `top` counts; empty keys shown as `(none)`.
fn table(s: &mut String, title: &str, counts: &Counts, top: usize) {
    if !title.is_empty() {
        let _ = write!(s, "\n{title}:");
    }
    s.push('\n');
    let (rows, hidden) = counts.top(top);
    for (key, n) in rows {
        let key = if key.is_empty() { "(none)" } else { key };
        let _ = writeln!(s, "  {n:>10}  {}", shown(key));
    }
    if hidden > 0 {
        let _ = writeln!(s, "  ({hidden} more)");
    }
}

/// `quiet` (the global `-q`): no accounting summary and no progress bar.
pub fn run(args: &StatsArgs, quiet: bool) -> anyhow::Result<u8> {
    let filter = super::filter(&args.filter)?;
    let reader = Reader::new(&args.input, &filter, !quiet);
    let mut acc = Accounting::default();
    let limit = args.filter.query_log_limit as usize;
    let mut total = Tally::with_query_log_limit(limit);
    let inputs = super::read_all(
        &super::paths::expand(&args.input.paths),
        &reader,
        &mut acc,
        || Tally::with_query_log_limit(limit),
        |t: Tally| {
            total.merge(t);
            Ok(())
        },
    )?;
    let mut out = super::output(None)?;
    let accounting = acc.summary("accounting:", inputs, total.events);
    match args.format {
        StatsFormat::Text => {
            out.write_all(total.render(args.top, &acc.report).as_bytes())?;
            if !quiet {
                writeln!(out)?;
                out.write_all(accounting.as_bytes())?;
            }
        }
        StatsFormat::Json => {
            serde_json::to_writer_pretty(&mut out, &total.json(args.top, &acc.report))?;
            writeln!(out)?;
            if !quiet {
                ewrite!("{accounting}");
            }
        }
    }
    out.flush()?;
    Ok(super::exit_status(&acc))
}

/// A name as counted and shown, one text per name's bytes (no two names share one, so
/// their counts stay apart and no name can pass for another on screen):
/// - a UTF-8 name of only *plain* characters ([`plain_in_name`]) not starting with `(`, as
///   it is (`admin`, `shop`, `10.0.0.1`); the empty name as the empty text (tables show it
///   `(none)`, which, starting with `(`, no other name is shown as);
/// - any other UTF-8 name between double quotes, escaped ([`quoted`]): `"app user"`,
///   `"x\n20240101 ..."`, `"\u{fffd} (not UTF-8, base64 /w==)"`;
/// - a name that is not UTF-8 as its lossy text, quoted and escaped the same way but for
///   U+FFFD kept as it is, then its bytes: `"\u{FFFD}" (not UTF-8, base64 /w==)` (`\xff` and
///   `\xfe` users are two users, both `\u{FFFD}` as text).
///
/// A plain name holds no `"`, so it is not a quoted one; a quoted UTF-8 name ends at the
/// quote that closes it, a name that is not UTF-8 goes on after it. And a plain name holds
/// no `@`, a quoted one only between its quotes: a failed login's `user@host` is read one
/// way too. (Session 31's adversary D, F5: a UTF-8 user named `\u{FFFD} (not UTF-8, base64
/// /w==)` was shown, and counted, as the user `\xff`.)
fn shown_name(name: Name<'_>) -> std::borrow::Cow<'_, str> {
    use base64::Engine as _;
    match name.as_str() {
        Some(text) => {
            let plain = text.chars().all(plain_in_name) && !text.starts_with('(');
            if plain {
                text.into()
            } else {
                quoted(text, true).into()
            }
        }
        None => format!(
            "{} (not UTF-8, base64 {})",
            quoted(&name.text(), false),
            base64::engine::general_purpose::STANDARD.encode(name.as_bytes())
        )
        .into(),
    }
}

/// Whether `c` is shown as it is in a name left unquoted: ASCII graphic (no space, no control,
/// nothing beyond ASCII, so a plain name is what it looks like) but for a quote, backslash or
/// `@` (the quoting's and a failed login's `user@host` syntax).
fn plain_in_name(c: char) -> bool {
    c.is_ascii_graphic() && !matches!(c, '"' | '\\' | '@')
}

/// Whether `c` is shown as it is between quotes and in statements: ASCII graphic, the space,
/// or a letter or digit of any script ([`char::is_alphanumeric`]) that is not a default
/// ignorable code point ([`default_ignorable`]: U+3164 HANGUL FILLER is a letter drawn as
/// nothing). Everything else (other spaces, line and paragraph separators, combining marks,
/// format and bidirectional characters, variation selectors, symbols) is escaped, so what
/// is left on screen is visible, and a name of other characters is always quoted: a
/// Cyrillic `о` in `rоot` stays as it is, but the name is `"rоot"`, never `root`.
fn readable(c: char) -> bool {
    c.is_ascii_graphic() || c == ' ' || (c.is_alphanumeric() && !default_ignorable(c))
}

/// Unicode's Default_Ignorable_Code_Point property: code points a renderer draws as nothing
/// when it does not support them. The table of DerivedCoreProperties.txt (Unicode 15.1/16.0,
/// <https://www.unicode.org/Public/UCD/latest/ucd/DerivedCoreProperties.txt>); no small
/// crate in our tree gives it. Only its letters (U+115F, U+1160, U+3164, U+FFA0) need it,
/// the others are no letters and escaped anyway; the whole list keeps the rule plain.
fn default_ignorable(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'
            | '\u{034F}'
            | '\u{061C}'
            | '\u{115F}'..='\u{1160}'
            | '\u{17B4}'..='\u{17B5}'
            | '\u{180B}'..='\u{180F}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{206F}'
            | '\u{3164}'
            | '\u{FE00}'..='\u{FE0F}'
            | '\u{FEFF}'
            | '\u{FFA0}'
            | '\u{FFF0}'..='\u{FFF8}'
            | '\u{1BCA0}'..='\u{1BCA3}'
            | '\u{1D173}'..='\u{1D17A}'
            | '\u{E0000}'..='\u{E0FFF}'
    )
}

/// `c` escaped: a control character as Rust writes it (`\n`, `\r`, `\t`, `\u{1b}`), any
/// other as `\u{...}`.
fn escape(c: char, out: &mut String) {
    if c.is_control() {
        out.extend(c.escape_default());
    } else {
        out.extend(c.escape_unicode());
    }
}

/// `text` between double quotes: `"` and `\` escaped with a backslash, every character that
/// is not [`readable`] escaped ([`escape`]), U+FFFD too unless `fffd` is false (the lossy
/// text of a name that is not UTF-8); the others as they are.
fn quoted(text: &str, fffd: bool) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            '\u{FFFD}' if !fffd => out.push(c),
            _ if readable(c) => out.push(c),
            _ => escape(c, &mut out),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(bytes: &[u8]) -> String {
        shown_name(Name::new(bytes)).into_owned()
    }

    /// Session 31's adversary D, F5: a UTF-8 name spelling another's display text.
    #[test]
    fn no_utf8_name_spells_a_name_that_is_not_utf8() {
        assert_eq!(name(b"\xff"), "\"\u{FFFD}\" (not UTF-8, base64 /w==)");
        for forged in [
            "\u{FFFD} (not UTF-8, base64 /w==)",
            "\"\u{FFFD}\" (not UTF-8, base64 /w==)",
        ] {
            assert_ne!(name(forged.as_bytes()), name(b"\xff"), "{forged}");
        }
        assert_eq!(name(b"admin"), "admin");
        assert_eq!(name(b"10.0.0.1"), "10.0.0.1");
        assert_eq!(name(b""), "");
        assert_eq!(name(b"(none)"), "\"(none)\"");
        assert_eq!(name(b"app user"), "\"app user\"");
        assert_eq!(name(b"a\"b\\c\nd"), r#""a\"b\\c\nd""#);
        assert_eq!(name("\u{202E}nimda".as_bytes()), r#""\u{202e}nimda""#);
        // `user@host` of a failed login reads one way.
        let login = |u: &[u8], h: &[u8]| format!("{}@{}", name(u), name(h));
        assert_ne!(login(b"a@b", b"c"), login(b"a", b"b@c"));
    }

    /// Session 32's adversary X, F2 (stats_confuse.log): names that look alike on screen.
    /// Each is shown apart from every other and from the plain name, with nothing invisible
    /// or blank but the ASCII space left raw.
    #[test]
    fn names_that_look_alike_are_shown_apart() {
        let cases = [
            ("root", "root"),
            ("ro\u{034F}ot", r#""ro\u{34f}ot""#),
            ("root\u{FE0F}", r#""root\u{fe0f}""#),
            ("\u{3164}root", r#""\u{3164}root""#),
            ("\u{E0001}root", r#""\u{e0001}root""#),
            ("root\u{E007F}", r#""root\u{e007f}""#),
            ("\u{1D173}root", r#""\u{1d173}root""#),
            ("x ", r#""x ""#),
            ("x\u{00A0}", r#""x\u{a0}""#),
            ("\u{3000}y", r#""\u{3000}y""#),
            ("a\u{2002}b", r#""a\u{2002}b""#),
            ("p\u{2028}q", r#""p\u{2028}q""#),
            ("e\u{0301}", r#""e\u{301}""#),
            ("\u{2800}", r#""\u{2800}""#),
            ("\u{FFA0}", r#""\u{ffa0}""#),
            // Letters of other scripts stay readable, but quoted: never an ASCII name.
            ("r\u{043E}ot", "\"r\u{043E}ot\""),
            ("caf\u{00E9}", "\"caf\u{00E9}\""),
            ("\u{6771}\u{4EAC}", "\"\u{6771}\u{4EAC}\""),
        ];
        let mut seen = HashSet::new();
        for (raw, want) in cases {
            let got = name(raw.as_bytes());
            assert_eq!(got, want, "{raw:?}");
            assert!(seen.insert(got), "{raw:?}");
        }
    }

    /// Bytes that spell the display forms: quotes, backslashes, `@`, `(`, spaces, U+FFFD's
    /// UTF-8 and a byte that is never UTF-8, a line break, letters of `not UTF-8, base64`.
    const NAME_BYTES: &[u8] = b"\"\\@( )nU8,b6/=w\n\xef\xbf\xbd\xff";

    fn name_bytes(max: usize) -> impl proptest::strategy::Strategy<Value = Vec<u8>> {
        proptest::collection::vec(proptest::sample::select(NAME_BYTES.to_vec()), 0..max)
    }

    proptest::proptest! {
        /// Two names are shown alike only when they are the same bytes, a failed login's
        /// `user@host` too; no name is shown with a control character.
        #[test]
        fn names_are_shown_one_way(a in name_bytes(8), b in name_bytes(8), c in name_bytes(4), d in name_bytes(4)) {
            let (sa, sb) = (name(&a), name(&b));
            proptest::prop_assert_eq!(sa == sb, a == b, "{} {}", sa, sb);
            proptest::prop_assert!(!sa.chars().any(char::is_control), "{}", sa);
            let same = format!("{sa}@{}", name(&c)) == format!("{sb}@{}", name(&d));
            proptest::prop_assert_eq!(same, a == b && c == d);
        }
    }

    /// Characters that look like others or like nothing, a letter of another script, the
    /// quoting's own characters and U+FFFD.
    const NAME_CHARS: &[char] = &[
        'r', 'o', ' ', '"', '\\', '@', '(', 'u', '{', '}', '\n', '\u{A0}', '\u{34F}', '\u{3164}',
        '\u{FE0F}', '\u{2028}', '\u{3000}', '\u{43E}', '\u{FFFD}',
    ];

    fn name_chars() -> impl proptest::strategy::Strategy<Value = String> {
        proptest::collection::vec(proptest::sample::select(NAME_CHARS.to_vec()), 0..6)
            .prop_map(|v| v.into_iter().collect())
    }

    use proptest::strategy::Strategy as _;

    proptest::proptest! {
        /// Two UTF-8 names are shown alike only when they are the same; nothing is left raw
        /// but what [`readable`] takes (and the quoting's `"` and `\\`), and the report's
        /// second escaping ([`shown`]) leaves a name's display as it is.
        #[test]
        fn names_look_alike_only_when_they_are_alike(a in name_chars(), b in name_chars()) {
            let (sa, sb) = (name(a.as_bytes()), name(b.as_bytes()));
            proptest::prop_assert_eq!(sa == sb, a == b, "{} {}", sa, sb);
            proptest::prop_assert!(sa.chars().all(readable), "{}", sa);
            proptest::prop_assert_eq!(shown(&sa), sa.as_str());
        }
    }

    #[test]
    fn control_characters_in_names_cannot_forge_rows() {
        assert_eq!(shown("admin\n      9999  root"), "admin\\n      9999  root");
        assert_eq!(shown("\u{1b}[2J"), "\\u{1b}[2J");
        assert_eq!(shown("plain"), "plain");
    }

    /// Session 32's adversary X, F3 (stats_tables.log, stats_ddl.log): table names,
    /// statements and fingerprints with bidirectional overrides, zero-width characters and
    /// U+2028 went out raw; each is escaped now, and the report holds nothing else raw but
    /// what [`readable`] takes.
    #[test]
    fn tables_statements_and_fingerprints_show_no_invisible_character() {
        let lines: [&[u8]; 7] = [
            b"20241205 10:00:01,srv,u,10.0.0.1,5,11,QUERY,shop,'INSERT INTO `orders` VALUES (1)',0",
            "20241205 10:00:02,srv,u,10.0.0.1,5,12,QUERY,shop,'INSERT INTO `\u{200B}orders` VALUES (1)',0".as_bytes(),
            "20241205 10:00:03,srv,u,10.0.0.1,5,13,QUERY,shop,'INSERT INTO `orders\u{E0001}` VALUES (1)',0".as_bytes(),
            "20241205 10:00:04,srv,u,10.0.0.1,5,14,QUERY,shop,'INSERT INTO `o\u{202E}sredro` VALUES (1)',0".as_bytes(),
            "20241205 10:00:05,srv,root,localhost,5,1,QUERY,shop,'DROP TABLE audit_trail /*\u{2028}  2024-12-05T10:00:00.000000Z  root@localhost  shop  DDL  retcode 0  CREATE TABLE x*/',0".as_bytes(),
            "20241205 10:00:06,srv,root,localhost,5,2,QUERY,shop,'GRANT ALL ON *.* TO \\'evil\\'@\\'%\\' /*\u{202E}*/',0".as_bytes(),
            "20241205 10:00:07,srv,u,10.0.0.1,5,15,QUERY,shop,'SELECT \\'caf\u{E9}\u{3000}\u{85}\\' FROM t',0".as_bytes(),
        ];
        let mut t = Tally::default();
        for line in lines {
            t.event(&rdsaudit::parse_line(line).unwrap());
        }
        let text = t.render(20, &Report::default());
        for want in [
            "  shop.orders\n",
            "  shop.\\u{200b}orders\n",
            "  shop.orders\\u{e0001}\n",
            "  shop.o\\u{202e}sredro\n",
            "insert into `\\u{200b}orders` values(?+)\n",
            "DROP TABLE audit_trail /*\\u{2028}  2024-12-05T10:00:00.000000Z",
            "/*\\u{202e}*/\n",
            "select ?",
        ] {
            assert!(text.contains(want), "{want:?} in {text}");
        }
        assert_eq!(
            text.lines()
                .filter(|l| l.contains("CREATE TABLE x"))
                .count(),
            1
        );
        let raw = |c: char| c == '\n' || readable(c) || c == '\u{FFFD}';
        assert!(text.chars().all(raw), "{text}");
        // Statements keep letters of any script readable.
        assert_eq!(
            shown("SELECT 'caf\u{E9}\u{3000}'"),
            "SELECT 'caf\u{E9}\\u{3000}'"
        );
    }

    /// Session 33: a table literally named `o\u{202e}x` was shown as the table holding
    /// U+202E, a statement's `\n` as its line break (and a line break as a space: two
    /// statements shown as one); `--format json` wrote table keys raw (not as the text shows
    /// them, unlike names) and a statement that is not UTF-8 as its lossy text alone;
    /// statements whose tables depend on the quoting `sql_mode` were not counted.
    #[test]
    fn backslashes_line_breaks_and_quoting_modes_are_shown_one_way() {
        let lines: [&[u8]; 7] = [
            br"20241205 10:00:01,srv,u,10.0.0.1,5,11,QUERY,shop,'INSERT INTO `o\\u{202e}x` VALUES (1)',0",
            "20241205 10:00:02,srv,u,10.0.0.1,5,12,QUERY,shop,'INSERT INTO `o\u{202E}x` VALUES (1)',0".as_bytes(),
            br"20241205 10:00:03,srv,u,10.0.0.1,5,13,QUERY,shop,'CREATE TABLE a (x int) /* 1\nDROP TABLE b */',0",
            br"20241205 10:00:04,srv,u,10.0.0.1,5,14,QUERY,shop,'CREATE TABLE a (x int) /* 1 DROP TABLE b */',0",
            br"20241205 10:00:05,srv,u,10.0.0.1,5,15,QUERY,shop,'CREATE TABLE a (x int) /* 1\\nDROP TABLE b */',0",
            b"20241205 10:00:06,srv,u,10.0.0.1,5,16,QUERY,shop,'CREATE TABLE c (x int) /* \xff */',0",
            br"20241205 10:00:07,srv,u,10.0.0.1,5,17,QUERY,shop,'SELECT \'x\\\'; DELETE FROM w; -- \'',0",
        ];
        let mut t = Tally::default();
        for line in lines {
            t.event(&rdsaudit::parse_line(line).unwrap());
        }
        let text = t.render(20, &Report::default());
        for want in [
            "  shop.o\\\\u{202e}x\n",
            "  shop.o\\u{202e}x\n",
            "retcode 0  CREATE TABLE a (x int) /* 1\\nDROP TABLE b */\n",
            "retcode 0  CREATE TABLE a (x int) /* 1 DROP TABLE b */\n",
            "retcode 0  CREATE TABLE a (x int) /* 1\\\\nDROP TABLE b */\n",
            "insert into `o\\\\u{?}x` values(?+)",
            "  (1 statements whose tables depend on the session's quoting sql_mode",
        ] {
            assert!(text.contains(want), "{want:?} in {text}");
        }
        let json = t.json(20, &Report::default());
        let keys: Vec<&str> = json["writes_per_table"]
            .as_array()
            .unwrap()
            .iter()
            .map(|row| row["key"].as_str().unwrap())
            .collect();
        for key in ["shop.o\\\\u{202e}x", "shop.o\\u{202e}x", "shop.a", "shop.w"] {
            assert!(keys.contains(&key), "{key:?} in {keys:?}");
            assert!(text.contains(&format!("  {key}\n")), "{key:?} in {text}");
        }
        assert_eq!(json["mode_dependent_statements"], 1);
        let ddl = json["ddl_dcl"].as_array().unwrap();
        assert_eq!(
            ddl[0]["object"],
            "CREATE TABLE a (x int) /* 1\nDROP TABLE b */"
        );
        assert!(ddl[0].get("object_base64").is_none());
        assert_eq!(ddl[3]["object"], "CREATE TABLE c (x int) /* \u{FFFD} */");
        assert_eq!(
            ddl[3]["object_base64"],
            "Q1JFQVRFIFRBQkxFIGMgKHggaW50KSAvKiD/ICov"
        );
        let written = serde_json::to_string(&json).unwrap();
        assert_eq!(serde_json::from_str::<Value>(&written).unwrap(), json);
    }

    /// Session 34's adversary LOW-4 (enr/s.log): tables `\xff` and U+FFFD were counted as
    /// one (`2  shop.�`, one JSON key), and `t` of a database named `(none)` was shown
    /// `(none).t`, which reads as a table of no database. Each table is counted by its bytes
    /// and shown one way: a UTF-8 table's U+FFFD escaped, one that is not UTF-8 as its lossy
    /// text and its bytes; a part starting with `(` back-quoted. Failed before.
    #[test]
    fn tables_are_counted_by_their_bytes_and_shown_apart() {
        let line = |database: &[u8], statement: &[u8]| {
            let mut l = b"20241205 10:00:01,srv,u,10.0.0.1,5,11,QUERY,".to_vec();
            l.extend_from_slice(database);
            l.extend_from_slice(b",'");
            l.extend_from_slice(statement);
            l.extend_from_slice(b"',0");
            l
        };
        let forged = "INSERT INTO `\u{FFFD} (not UTF-8, base64 c2hvcC7/)` VALUES (1)";
        let cases: [(&[u8], &[u8], &str); 9] = [
            (
                b"shop",
                b"CREATE TABLE `\xff` (a int)",
                "shop.\u{FFFD} (not UTF-8, base64 c2hvcC7/)",
            ),
            (
                b"shop",
                "CREATE TABLE `\u{FFFD}` (a int)".as_bytes(),
                "shop.\\u{fffd}",
            ),
            (
                b"shop",
                b"CREATE TABLE `\xfe` (a int)",
                "shop.\u{FFFD} (not UTF-8, base64 c2hvcC7+)",
            ),
            (
                b"shop",
                forged.as_bytes(),
                "shop.\\u{fffd} (not UTF-8, base64 c2hvcC7/)",
            ),
            (b"(none)", b"INSERT INTO t VALUES (1)", "`(none)`.t"),
            (b"", b"INSERT INTO t VALUES (1)", "t"),
            (b"", b"INSERT INTO `(none)` VALUES (1)", "`(none)`"),
            (
                b"\xff",
                b"INSERT INTO t VALUES (1)",
                "\u{FFFD}.t (not UTF-8, base64 /y50)",
            ),
            (
                b"x",
                b"USE `\xff`; DELETE FROM t",
                "\u{FFFD}.t (not UTF-8, base64 /y50)",
            ),
        ];
        let mut t = Tally::default();
        for (database, statement, _) in &cases {
            let l = line(database, statement);
            t.event(&rdsaudit::parse_line(&l).unwrap());
        }
        let text = t.render(20, &Report::default());
        let json = t.json(20, &Report::default());
        let rows: Vec<(&str, u64)> = json["writes_per_table"]
            .as_array()
            .unwrap()
            .iter()
            .map(|row| (row["key"].as_str().unwrap(), row["count"].as_u64().unwrap()))
            .collect();
        // Eight tables: the database `\xff`'s `t` twice (by the event's database and by `USE`).
        assert_eq!(rows.len(), 8, "{rows:?}");
        for (_, _, shown) in &cases {
            let count = if shown.starts_with('\u{FFFD}') { 2 } else { 1 };
            assert!(rows.contains(&(*shown, count)), "{shown:?} in {rows:?}");
            assert!(
                text.contains(&format!("  {shown}\n")),
                "{shown:?} in {text}"
            );
        }
        assert!(!text.contains("(none).t"), "{text}");
        // The DDL list: a UTF-8 statement's U+FFFD escaped, the lossy one's left as it is.
        assert!(
            text.contains("ddl  retcode 0  CREATE TABLE `\u{FFFD}` (a int)\n"),
            "{text}"
        );
        assert!(
            text.contains("ddl  retcode 0  CREATE TABLE `\\u{fffd}` (a int)\n"),
            "{text}"
        );
    }

    /// Bytes that spell the display forms of tables: `.`, back quotes, `(`, backslashes,
    /// U+FFFD's UTF-8 and a byte that is never UTF-8, letters of `not UTF-8, base64`.
    const TABLE_BYTES: &[u8] = b".`(\\ )nU8,b6/=w\xef\xbf\xbd\xff";

    proptest::proptest! {
        /// Two tables are shown alike only when they are the same bytes.
        #[test]
        fn tables_are_shown_one_way(
            a in proptest::collection::vec(proptest::sample::select(TABLE_BYTES.to_vec()), 0..6),
            b in proptest::collection::vec(proptest::sample::select(TABLE_BYTES.to_vec()), 1..6),
            c in proptest::collection::vec(proptest::sample::select(TABLE_BYTES.to_vec()), 0..6),
            d in proptest::collection::vec(proptest::sample::select(TABLE_BYTES.to_vec()), 1..6),
        ) {
            let (x, y) = (Table::from_bytes(&a, &b), Table::from_bytes(&c, &d));
            let (sx, sy) = (shown_table(&x), shown_table(&y));
            proptest::prop_assert_eq!(sx == sy, a == c && b == d, "{} {}", sx, sy);
            proptest::prop_assert!(!sx.starts_with('('), "{}", sx);
            proptest::prop_assert!(!sx.chars().any(char::is_control), "{}", sx);
        }
    }

    /// A DDL statement longer than the list keeps says so, with its length; cut inside a
    /// character of UTF-8 text, it is cut before it (it was listed with `object_base64`, as a
    /// statement that is not UTF-8, and its length was not shown).
    #[test]
    fn a_long_statement_listed_in_part_says_so() {
        // `é` (2 bytes) straddles byte 4096 of the statement.
        let body = format!(
            "CREATE TABLE t (x int) COMMENT '{}é{}'",
            "a".repeat(4063),
            "b".repeat(900)
        );
        let escaped = body.replace('\'', "\\\'");
        let line = format!("20241205 10:00:01,srv,u,10.0.0.1,5,11,QUERY,shop,'{escaped}',0");
        let short = "20241205 10:00:02,srv,u,10.0.0.1,5,12,QUERY,shop,'DROP TABLE t',0";
        let mut t = Tally::default();
        for line in [line.as_str(), short] {
            t.event(&rdsaudit::parse_line(line.as_bytes()).unwrap());
        }
        let json = t.json(20, &Report::default());
        let ddl = json["ddl_dcl"].as_array().unwrap();
        let listed = ddl[0]["object"].as_str().unwrap();
        assert_eq!(listed.len(), 4095, "{}", &listed[4000..]);
        assert!(body.starts_with(listed));
        assert!(ddl[0].get("object_base64").is_none(), "{:?}", ddl[0]);
        assert_eq!(ddl[0]["object_cut_from"], body.len());
        assert_eq!(ddl[1]["object"], "DROP TABLE t");
        assert!(ddl[1]["object_cut_from"].is_null());
        let text = t.render(20, &Report::default());
        let cut = format!("a'  (cut: its first 4095 of {} bytes)\n", body.len());
        assert!(!text.contains(&cut), "the quote is not listed");
        assert!(
            text.contains(&format!(
                "aaa  (cut: its first 4095 of {} bytes)\n",
                body.len()
            )),
            "{text}"
        );
        assert!(text.contains("DROP TABLE t\n"), "{text}");
    }

    /// A statement of exactly the listed length is listed whole: nothing of it was cut, so
    /// nothing says it was (session 34 adv2 LOW-1: `(cut: its first 4096 of 4096 bytes)`,
    /// `object_cut_from` 4096).
    #[test]
    fn a_statement_of_exactly_the_listed_length_is_not_said_cut() {
        let head = "CREATE TABLE t (x int) COMMENT '";
        for len in [LISTED_BYTES - 1, LISTED_BYTES, LISTED_BYTES + 1] {
            let body = format!("{head}{}'", "a".repeat(len - head.len() - 1));
            assert_eq!(body.len(), len);
            let escaped = body.replace('\'', "\\\'");
            let line = format!("20241205 10:00:01,srv,u,10.0.0.1,5,11,QUERY,shop,'{escaped}',0");
            let mut t = Tally::default();
            t.event(&rdsaudit::parse_line(line.as_bytes()).unwrap());
            let json = t.json(20, &Report::default());
            let listed = &json["ddl_dcl"][0];
            let whole = len <= LISTED_BYTES;
            assert_eq!(
                listed["object_cut_from"].is_null(),
                whole,
                "{len} bytes: object_cut_from {}",
                listed["object_cut_from"]
            );
            let text = t.render(20, &Report::default());
            assert_eq!(!text.contains("(cut: its first"), whole, "{len}");
        }
    }

    #[test]
    fn histograms_over_centuries_show_only_days_with_events() {
        let day = 1440;
        let minutes = BTreeMap::from([(0, 2), (5_000 * day, 1), (3_000_000 * day + 7, 4)]);
        let (unit, rows) = histogram(&minutes);
        assert_eq!(unit.name(), "day");
        assert_eq!(rows.iter().map(|r| r.1).collect::<Vec<_>>(), [2, 1, 4]);
    }

    #[test]
    fn histograms_widen_and_show_empty_buckets() {
        let minutes: BTreeMap<i64, u64> = [(10, 3), (13, 1)].into_iter().collect();
        let (unit, rows) = histogram(&minutes);
        assert_eq!(unit.name(), "minute");
        assert_eq!(rows.iter().map(|r| r.1).collect::<Vec<_>>(), [3, 0, 0, 1]);
        let wide: BTreeMap<i64, u64> = [(0, 1), (60 * 24 * 5, 2)].into_iter().collect();
        assert_eq!(histogram(&wide).0.name(), "day");
        assert_eq!(histogram(&wide).1.iter().map(|r| r.1).sum::<u64>(), 3);
    }

    #[test]
    fn a_write_from_an_ambiguous_line_is_listed_apart_from_writes_per_table() {
        // The statement's text forges a TABLE header: the line reads as a DROP or a READ.
        let line = br"1711198800000000,srv,mallory,10.0.0.1,1,2,QUERY,shop,'DROP TABLE users /* \',h,1,2,READ,d,t */',0";
        let e = rdsaudit::parse_line(line).unwrap();
        assert!(e.ambiguity.is_ambiguous());
        let mut t = Tally::default();
        t.event(&e);
        let plain = rdsaudit::parse_line(
            b"1711198800000000,srv,app,10.0.0.1,3,4,QUERY,shop,'DELETE FROM orders',0",
        )
        .unwrap();
        t.event(&plain);
        assert_eq!(t.write_tables.0.keys().collect::<Vec<_>>(), ["shop.orders"]);
        assert_eq!(t.ambiguous_write_tables.0["shop.users"], 1);
        let text = t.render(10, &Report::default());
        assert!(
            text.contains("\nwrites per table in ambiguous events"),
            "{text}"
        );
        assert!(text.contains("(ambiguous: may be forged)"), "{text}");
        let json = t.json(10, &Report::default());
        assert_eq!(json["ambiguous_writes_per_table"][0]["key"], "shop.users");
        assert_eq!(json["ambiguous_events"], 1);
    }

    #[test]
    fn cloudwatch_log_events_are_counted_by_id_not_by_audit_line() {
        let mut record = Tally::default();
        let mut e =
            rdsaudit::parse_line(b"20240323 13:36:09,h,app,l,4,5,QUERY,shop,'SELECT 1',0").unwrap();
        // One CloudWatch log event holding two audit lines, and one that is not an audit line.
        e.provenance.event_id = Some("3838");
        record.event(&e);
        record.dropped(&e);
        let junk = UnparsedLine {
            bytes: b"not audit",
            reason: rdsaudit::LineError::Timestamp,
            record_index: Some(0),
            sequence_number: None,
            log_group: None,
            log_stream: None,
            event_id: Some("3839"),
            line_number: None,
            file: None,
            place: None,
        };
        record.unparsed(&junk);
        let mut total = Tally::default();
        total.merge(record);
        assert_eq!(total.cloudwatch_events, 2);
    }

    #[test]
    fn a_huge_multi_row_insert_is_tallied_in_linear_time() {
        // 3 MB of rows behind a comment (pt-fingerprint's own shortcut does not apply),
        // escaped as the plugin writes it.
        let mut sql = b"/* bulk */ INSERT INTO t (a, b) VALUES ".to_vec();
        while sql.len() < 3 << 20 {
            sql.extend_from_slice(br"(123456, \'some text, with a comma\'), ");
        }
        sql.extend_from_slice(br"(0, \'end\')");
        let mut line = b"20240323 13:36:09,h,app,l,4,5,QUERY,shop,'".to_vec();
        line.extend_from_slice(&sql);
        line.extend_from_slice(b"',0");
        let e = rdsaudit::parse_line(&line).unwrap();
        let mut t = Tally::default();
        t.event(&e);
        assert_eq!(t.write_tables.0["shop.t"], 1);
        let (fp, g) = t.top_fingerprints(1)[0];
        assert_eq!((fp, g.count), ("insert into t (a, b) values(?+)", 1));
    }
}
