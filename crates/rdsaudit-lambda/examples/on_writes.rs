//! Your own code in the audit Lambda: react only to successful writes on chosen tables.
//!
//! `ON_WRITES_TABLES=shop.orders,shop.payments` names the tables. For each successful write
//! on one of them the handler "reacts": here it prints one JSON line; in real life it would
//! call an API, send a message, update a cache. What a write is and which tables it changes
//! is the library's answer (`rdsaudit_sql`, as `--writes` and `written_tables` give it): a
//! statement reacts once, with the tables the server's own TABLE events named for it where
//! Aurora and MariaDB write them, else those its text changes (`/* c */ INSERT`, `WITH ...
//! DELETE`, several statements; `INSERT INTO a SELECT ... FROM b` changes `a` only). An Aurora
//! `WRITE` whose statement is not among the events handed over reacts on its own.
//! Reads, failed statements and other tables are ignored. An event a raw user or database
//! name may have forged (flagged ambiguous) is not reacted to: it is printed for a human.
//! Build it like the function: `cargo lambda build --release --arm64 --example on_writes`.
//!
//! `ON_WRITES_REFUSE=<db.table>` pretends the downstream refuses writes on that table, to see
//! what a failure does: the crate reports the Kinesis record holding the first refused event
//! in `batchItemFailures`, hands over nothing after it, and Lambda retries from there.

use std::collections::HashSet;

use rdsaudit_lambda::{Event, EventHandler, Operation};
use rdsaudit_sql::{Enricher, Semantics, Table, TablePattern};

/// The handler: which tables to watch, and which one to refuse (for demonstration).
struct OnWrites {
    tables: Vec<TablePattern>,
    refuse: Option<TablePattern>,
}

impl EventHandler for OnWrites {
    async fn handle(&self, events: &[Event<'_>]) -> Vec<usize> {
        // The TABLE events of a statement come just before it: one stream, in order.
        let mut server = Enricher::default();
        let statements: HashSet<Key> = events
            .iter()
            .filter(|e| e.event.operation == Operation::Query)
            .map(key)
            .collect();
        for (position, e) in events.iter().enumerate() {
            let written = written_tables(e, &mut server, &statements);
            let watched: Vec<&Table> = written
                .iter()
                .filter(|t| self.tables.iter().any(|w| w.matches(t, "")))
                .collect();
            if watched.is_empty() {
                continue;
            }
            if e.event.ambiguity.is_ambiguous() {
                let review = serde_json::json!({
                    "kind": "review",
                    "why": "a raw name lets this line read more than one way; one reading may be forged",
                    "record": String::from_utf8_lossy(e.event.ambiguity.record()),
                    "dedup_id": e.dedup_id,
                });
                println!("{review}");
                continue;
            }
            if watched
                .iter()
                .any(|t| self.refuse.as_ref().is_some_and(|r| r.matches(t, "")))
            {
                // Stop at the first failure: this event and everything after it come again
                // when Lambda retries its record, so reacting to later ones now would only
                // make more duplicates.
                return vec![position];
            }
            for table in watched {
                // React. The dedup id is the same on Lambda's retries: a real consumer keys on it.
                let reaction = serde_json::json!({
                    "kind": "write",
                    "table": table.to_string(),
                    "statement": e.event.object.text(),
                    "user": e.event.username.text(),
                    "timestamp_us": e.event.timestamp.epoch_us,
                    "dedup_id": e.dedup_id,
                });
                println!("{reaction}");
            }
        }
        Vec::new()
    }
}

/// A statement's server, connection and query id: its TABLE events have the same.
type Key = (Vec<u8>, u64, u64);

fn key(e: &Event<'_>) -> Key {
    let ev = &e.event;
    (
        ev.serverhost.as_bytes().to_vec(),
        ev.connection_id,
        ev.query_id,
    )
}

/// The tables a successful statement changed (the server's TABLE events for it when seen,
/// else its text's); an Aurora TABLE event's own table when its statement is not in
/// `statements` (a MariaDB TABLE event has no return code: its statement says if it ran).
fn written_tables(e: &Event<'_>, server: &mut Enricher, statements: &HashSet<Key>) -> Vec<Table> {
    let ev = &e.event;
    let s: Semantics = server.enrich(ev);
    let reacts = ev.operation == Operation::Query || !statements.contains(&key(e));
    if reacts && s.writes && ev.retcode == Some(0) {
        s.written_tables
    } else {
        Vec::new()
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), rdsaudit_lambda::Error> {
    let list = |name: &str| std::env::var(name).unwrap_or_default();
    let handler = OnWrites {
        tables: list("ON_WRITES_TABLES")
            .split(',')
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(TablePattern::parse)
            .collect::<Result<_, _>>()?,
        refuse: Some(list("ON_WRITES_REFUSE"))
            .filter(|t| !t.is_empty())
            .map(|t| TablePattern::parse(&t))
            .transpose()?,
    };
    rdsaudit_lambda::run_handler(handler).await
}
