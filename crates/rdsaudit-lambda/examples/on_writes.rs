//! Your own code in the audit Lambda: react only to successful writes on chosen tables.
//!
//! `ON_WRITES_TABLES=shop.orders,shop.payments` names the tables. For each successful write
//! (`INSERT`, `REPLACE`, `UPDATE`, `DELETE` statements with return code 0, and Aurora `WRITE`
//! table events with return code 0) on one of them, the handler "reacts": here it prints one
//! JSON line; in real life it would call an API, send a message, update a cache. Everything
//! else (reads, failed statements, other tables) is ignored. Build it like the function:
//! `cargo lambda build --release --arm64 --example on_writes`.
//!
//! `ON_WRITES_REFUSE=<db.table>` pretends the downstream refuses writes on that table, to see
//! what a failure does: the crate reports the Kinesis record holding the first refused event
//! in `batchItemFailures`, hands over nothing after it, and Lambda retries from there.

use rdsaudit_lambda::{Event, EventHandler, Operation};
use rdsaudit_sql::{Table, TablePattern};

/// The handler: which tables to watch, and which one to refuse (for demonstration).
struct OnWrites {
    tables: Vec<TablePattern>,
    refuse: Option<TablePattern>,
}

impl EventHandler for OnWrites {
    async fn handle(&self, events: &[Event<'_>]) -> Vec<usize> {
        for (position, e) in events.iter().enumerate() {
            let Some(table) = successful_write(e) else {
                continue;
            };
            if !self.tables.iter().any(|t| t.matches(&table, "")) {
                continue;
            }
            if self.refuse.as_ref().is_some_and(|r| r.matches(&table, "")) {
                // Stop at the first failure: this event and everything after it come again
                // when Lambda retries its record, so reacting to later ones now would only
                // make more duplicates.
                return vec![position];
            }
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
        Vec::new()
    }
}

/// The (database, table) written by a successful statement or table event, if the event is
/// one. Never split on a `.`: a table event's object is the table's whole name (a table may
/// be named `shop.orders` in the database `evil`), and a statement's name is read with its
/// back quotes.
fn successful_write(e: &Event<'_>) -> Option<Table> {
    let ev = &e.event;
    if ev.retcode != Some(0) {
        return None;
    }
    match ev.operation {
        Operation::Write => Some(Table::new(ev.database.text(), ev.object.text())),
        Operation::Query => {
            let sql = ev.object.text();
            let written = TablePattern::parse(written_table(&sql)?).ok()?;
            let database = written.database.unwrap_or_else(|| ev.database.to_string());
            Some(Table::new(database, written.name))
        }
        _ => None,
    }
}

/// The table a write statement names, as written (`` `db`.`t` ``): `INSERT [IGNORE] INTO t`,
/// `REPLACE INTO t`, `UPDATE [LOW_PRIORITY] [IGNORE] t`, `DELETE FROM t`.
fn written_table(sql: &str) -> Option<&str> {
    let mut words = sql
        .split(|c: char| c.is_whitespace() || c == '(')
        .filter(|w| !w.is_empty());
    let verb = words.next()?.to_ascii_uppercase();
    let skip = [
        "LOW_PRIORITY",
        "DELAYED",
        "HIGH_PRIORITY",
        "IGNORE",
        "QUICK",
        "INTO",
        "FROM",
    ];
    let table = match verb.as_str() {
        "INSERT" | "REPLACE" | "UPDATE" | "DELETE" => {
            words.find(|w| !skip.contains(&w.to_ascii_uppercase().as_str()))?
        }
        _ => return None,
    };
    Some(table)
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
