//! Where every input went: the library's [`Report`] summed over all inputs, plus inputs that
//! could not be read at all, and the one-line error for each failure.

use std::fmt::Write as _;

use indicatif::ProgressBar;
use rdsaudit::pipeline::{RecordOutcome, RecordStatus, Report};

/// Error lines shown per input; the rest are counted in the summary.
const SHOWN_PER_INPUT: u64 = 20;

#[derive(Debug, Default)]
pub struct Accounting {
    pub report: Report,
    /// Inputs that were opened but are not a readable event or payload at all.
    pub failed_inputs: u64,
    /// Inputs that could not be opened or read.
    pub unreadable_inputs: u64,
    shown: u64,
    hidden: u64,
    bar: Option<ProgressBar>,
}

impl Accounting {
    /// Starts a new input: resets the per-input error budget, shows errors above `bar`.
    pub fn start_input(&mut self, bar: Option<ProgressBar>) {
        self.shown = 0;
        self.bar = bar;
    }

    /// Ends the current input; says how many of its errors were not shown.
    pub fn finish_input(&mut self, name: &str) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
        if self.hidden > 0 {
            eprintln!("rdsaudit: {name}: {} more errors not shown", self.hidden);
            self.hidden = 0;
        }
    }

    pub fn unreadable(&mut self, name: &str, error: &std::io::Error) {
        self.unreadable_inputs += 1;
        eprintln!("rdsaudit: {name}: {error}");
    }

    pub fn input_failed(&mut self, name: &str, what: &str) {
        self.failed_inputs += 1;
        self.error(format!("rdsaudit: {name}: {what}"));
    }

    /// Counts one Kinesis / CloudWatch record (`index` 0-based) and reports its failures.
    pub fn record<W>(
        &mut self,
        name: &str,
        index: usize,
        sequence: Option<&str>,
        o: &RecordOutcome<W>,
    ) {
        self.report.add(o, true);
        let mut at = format!("rdsaudit: {name}: record {}", index + 1);
        if let Some(seq) = sequence {
            let _ = write!(at, " (sequence {seq})");
        }
        if let RecordStatus::Failed(e) = &o.status {
            self.error(format!("{at}: {e}"));
        }
        for u in &o.unparsed {
            let event = u.event_id.as_deref().unwrap_or("?");
            self.error(format!("{at}, event {event}: {}", u.reason));
        }
    }

    /// Counts one piece of a text file and reports its unparsed lines.
    pub fn text<W>(&mut self, name: &str, o: &RecordOutcome<W>) {
        self.report.add(o, false);
        for u in &o.unparsed {
            let line = u.line_number.unwrap_or(0);
            self.error(format!(
                "rdsaudit: {name}: line {line}: {}: {:?}",
                u.reason, u.excerpt
            ));
        }
    }

    fn error(&mut self, line: String) {
        if self.shown >= SHOWN_PER_INPUT {
            self.hidden += 1;
            return;
        }
        self.shown += 1;
        match &self.bar {
            Some(bar) => bar.suspend(|| eprintln!("{line}")),
            None => eprintln!("{line}"),
        }
    }

    /// Whether anything failed (exit status 1).
    pub fn has_failures(&self) -> bool {
        let r = &self.report;
        self.failed_inputs > 0 || r.failed_records > 0 || r.unparsed_events > 0
    }

    /// The accounting summary under `title`: each total equals the sum of its parts. `kept`
    /// is how many parsed events were selected (filters, and QUERY only for `--format sql`).
    pub fn summary(&self, title: &str, inputs: u64, kept: u64) -> String {
        let r = &self.report;
        let mut s = format!("{title}\n");
        let _ = writeln!(
            s,
            "  inputs:     {inputs} = {} read + {} not an event/payload + {} unreadable",
            inputs - self.failed_inputs - self.unreadable_inputs,
            self.failed_inputs,
            self.unreadable_inputs
        );
        let _ = writeln!(
            s,
            "  records:    {} = {} data + {} control (skipped by rule) + {} failed{}",
            r.records,
            r.data_records,
            r.control_records,
            r.failed_records,
            breakdown(r.failed_by_kind.iter().map(|(k, v)| (*k, *v)))
        );
        let _ = writeln!(
            s,
            "  log events: {} = {} parsed + {} unparsed{}",
            r.log_events,
            r.parsed_events,
            r.unparsed_events,
            breakdown(r.unparsed_by_reason.iter().map(|(k, v)| (*k, *v)))
        );
        let _ = writeln!(
            s,
            "  selected:   {kept} of {} parsed ({} not selected)",
            r.parsed_events,
            r.parsed_events.saturating_sub(kept)
        );
        s
    }
}

/// ` (gzip: 1, base64: 2)`, or nothing when there are no failures.
fn breakdown<'a>(counts: impl Iterator<Item = (&'a str, u64)>) -> String {
    let parts: Vec<String> = counts.map(|(k, v)| format!("{k}: {v}")).collect();
    if parts.is_empty() {
        String::new()
    } else {
        format!(" ({})", parts.join(", "))
    }
}
