//! `rdsaudit stats`: what happened, counted: by operation, user, database and host; the most
//! frequent statement shapes; failed connects; and the accounting of the inputs.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::Write as _;

use rdsaudit::{AuditEvent, Decoder, Operation, Sink};

use super::accounting::Accounting;
use super::args::StatsArgs;
use super::input::Reader;

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

    /// The `top` largest counts, ties by key, then the number of keys left out.
    fn top(&self, top: usize) -> (Vec<(&str, u64)>, usize) {
        let mut rows: Vec<(&str, u64)> = self.0.iter().map(|(k, n)| (k.as_str(), *n)).collect();
        rows.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        let hidden = rows.len().saturating_sub(top);
        rows.truncate(top);
        (rows, hidden)
    }
}

/// The counts of one record or text piece; merged in input order.
#[derive(Debug, Default)]
pub struct Tally {
    events: u64,
    operations: Counts,
    users: Counts,
    databases: Counts,
    hosts: Counts,
    shapes: Counts,
    failed_connects: Counts,
}

impl Sink for Tally {
    fn event(&mut self, e: &AuditEvent<'_>) {
        self.events += 1;
        self.operations.add(e.operation.as_str(), 1);
        self.users.add(&e.username, 1);
        self.databases.add(&e.database, 1);
        self.hosts.add(&e.host, 1);
        match e.operation {
            Operation::Query => self
                .shapes
                .add(&rdsaudit::shape::shape(&e.object.unescaped()), 1),
            Operation::FailedConnect => self
                .failed_connects
                .add(&format!("{}@{}", e.username, e.host), 1),
            _ => {}
        }
    }
}

impl Tally {
    fn merge(&mut self, other: Tally) {
        self.events += other.events;
        self.operations.merge(other.operations);
        self.users.merge(other.users);
        self.databases.merge(other.databases);
        self.hosts.merge(other.hosts);
        self.shapes.merge(other.shapes);
        self.failed_connects.merge(other.failed_connects);
    }

    fn render(&self, top: usize) -> String {
        let mut s = format!("events: {}\n", self.events);
        let tables = [
            ("operations", &self.operations),
            ("users", &self.users),
            ("databases", &self.databases),
            ("hosts", &self.hosts),
            ("statement shapes", &self.shapes),
        ];
        for (title, counts) in tables {
            table(&mut s, title, counts, top);
        }
        let failed: u64 = self.failed_connects.0.values().sum();
        let _ = write!(s, "\nfailed connects: {failed}");
        table(&mut s, "", &self.failed_connects, top);
        s
    }
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
        let _ = writeln!(s, "  {n:>10}  {key}");
    }
    if hidden > 0 {
        let _ = writeln!(s, "  ({hidden} more)");
    }
}

pub fn run(args: &StatsArgs) -> anyhow::Result<u8> {
    let filter = super::filter(&args.filter)?;
    let reader = Reader {
        decoder: Decoder::builder().kind(args.input.kind).build(),
        filter: &filter,
        progress: true,
    };
    let mut acc = Accounting::default();
    let mut total = Tally::default();
    let inputs = super::read_all(
        &args.input.paths,
        &reader,
        &mut acc,
        Tally::default,
        |t: Tally| {
            total.merge(t);
            Ok(())
        },
    )?;
    let mut out = super::output(None)?;
    out.write_all(total.render(args.top).as_bytes())?;
    writeln!(out)?;
    out.write_all(acc.summary("accounting:", inputs, total.events).as_bytes())?;
    out.flush()?;
    Ok(super::exit_status(&acc))
}
