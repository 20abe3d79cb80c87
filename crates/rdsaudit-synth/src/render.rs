//! Turning what a client did ([`Draft`]) into the line each dialect's plugin writes, and
//! recording what that line means ([`Expected`]).

use std::io::Write as _;

use super::statements::{self, Action, Draft};
use super::{Expected, SynthLine, rng::Rng};
use rdsaudit::audit::event::{DEFAULT_QUERY_LOG_LIMIT, Dialect};
use rdsaudit::audit::unescape::escape_like_plugin;

/// 2024-03-23 13:36:08 UTC, when the corpus clock starts.
const START_US: i64 = 1_711_200_968_000_000;

/// A database instance writing to one log stream.
#[derive(Debug, Clone)]
pub struct Instance {
    pub serverhost: String,
    pub log_group: String,
    pub log_stream: String,
}

/// Generator state shared by all lines: the clock, the query id counter, open sessions.
#[derive(Debug)]
pub struct Renderer {
    dialect: Dialect,
    now_us: i64,
    next_query_id: u64,
    next_connection_id: u64,
    /// Open connection per client host.
    sessions: Vec<(&'static str, u64)>,
    events: u64,
}

impl Renderer {
    pub fn new(dialect: Dialect) -> Self {
        Renderer {
            dialect,
            now_us: START_US,
            next_query_id: 149_868,
            next_connection_id: 4,
            sessions: Vec::new(),
            events: 0,
        }
    }

    /// Instance `n` (0 or 1) of the dialect's cluster or instance pair.
    pub fn instance(&self, n: u64) -> Instance {
        let (kind, cluster, host) = match self.dialect {
            Dialect::Aurora => (
                "cluster",
                "aurora-prod",
                format!("aurora-prod-instance-{}", n + 1),
            ),
            Dialect::MariaDb => ("instance", "mariadb-prod", format!("ip-10-0-0-{}", 11 + n)),
            Dialect::RdsMySql => ("instance", "mysql-prod", format!("ip-172-17-4-{}", 137 + n)),
        };
        Instance {
            log_group: format!("/aws/rds/{kind}/{cluster}/audit"),
            log_stream: host.clone(),
            serverhost: host,
        }
    }

    pub fn next_line(&mut self, rng: &mut Rng, instance: &Instance, hard_percent: u8) -> SynthLine {
        self.now_us += rng.between(50, 400_000) as i64;
        let now_ms = self.now_us / 1000;
        let draft = if rng.chance(hard_percent) {
            statements::hard(rng)
        } else if rng.chance(20) {
            statements::heartbeat(rng, now_ms)
        } else {
            statements::ordinary(rng)
        };
        let expected = self.expected(draft, &instance.serverhost);
        self.events += 1;
        SynthLine {
            line: self.render(&expected),
            event_id: crate::delivery::event_id(now_ms, self.events),
            cloudwatch_timestamp_ms: now_ms,
            expected,
        }
    }

    /// Assigns ids, time and dialect-specific fields: everything the line will say.
    fn expected(&mut self, draft: Draft, serverhost: &str) -> Expected {
        let rds = self.dialect == Dialect::RdsMySql;
        let connection_id = self.connection(&draft);
        let (operation, object, database, retcode, extra, query_id) = match draft.action {
            Action::Query(sql) => {
                self.next_query_id += 1;
                let kept = cut_like_plugin(&sql).to_vec();
                let extra = if rds { vec!["", ""] } else { vec![] };
                (
                    "QUERY",
                    kept,
                    draft.database,
                    Some(draft.retcode),
                    extra,
                    self.next_query_id,
                )
            }
            Action::Table(_, table) if rds => {
                // RDS for MySQL logs no TABLE events: the client's read becomes a query.
                return self.expected(
                    Draft {
                        action: Action::Query(format!("SELECT COUNT(*) FROM {table}").into_bytes()),
                        ..draft
                    },
                    serverhost,
                );
            }
            Action::Table(op, table) => {
                // Upstream MariaDB ends TABLE lines with an empty return code; Aurora writes 0.
                let retcode = (self.dialect == Dialect::Aurora).then_some(0);
                (
                    op,
                    table.as_bytes().to_vec(),
                    draft.database,
                    retcode,
                    vec![],
                    self.next_query_id,
                )
            }
            connection => {
                let op = match connection {
                    Action::Connect => "CONNECT",
                    Action::Disconnect => "DISCONNECT",
                    _ => "FAILED_CONNECT",
                };
                let extra = if rds { vec!["SSL"] } else { vec![] };
                let db = if op == "CONNECT" { draft.database } else { "" };
                (op, Vec::new(), db, Some(draft.retcode), extra, 0)
            }
        };
        let timestamp_us = match self.dialect {
            Dialect::Aurora => self.now_us,
            _ => self.now_us - self.now_us.rem_euclid(1_000_000),
        };
        Expected {
            dialect: self.dialect,
            timestamp_us,
            serverhost: serverhost.to_owned(),
            username: draft.user.to_owned(),
            host: draft.host.to_owned(),
            connection_id,
            query_id,
            operation,
            database: database.to_owned(),
            object,
            retcode,
            extra,
        }
    }

    /// The connection id of the client's session, opening or closing it as the action says.
    fn connection(&mut self, draft: &Draft) -> u64 {
        let open = self
            .sessions
            .iter()
            .find(|(h, _)| *h == draft.host)
            .map(|s| s.1);
        let id = open.unwrap_or_else(|| {
            self.next_connection_id += 1;
            self.next_connection_id
        });
        match draft.action {
            Action::Disconnect | Action::FailedConnect => {
                self.sessions.retain(|(h, _)| *h != draft.host)
            }
            _ if open.is_none() => self.sessions.push((draft.host, id)),
            _ => {}
        }
        id
    }

    /// The line as the dialect's plugin writes it.
    fn render(&self, e: &Expected) -> Vec<u8> {
        let mut out = Vec::with_capacity(96 + e.object.len() * 2);
        write_timestamp(&mut out, e);
        let _ = write!(
            out,
            ",{},{},{},{},{},{},{},",
            e.serverhost, e.username, e.host, e.connection_id, e.query_id, e.operation, e.database
        );
        if e.operation == "QUERY" {
            out.push(b'\'');
            escape_like_plugin(&e.object, &mut out);
            out.push(b'\'');
        } else {
            out.extend_from_slice(&e.object);
        }
        out.push(b',');
        if let Some(r) = e.retcode {
            let _ = write!(out, "{r}");
        }
        for field in &e.extra {
            let _ = write!(out, ",{field}");
        }
        out
    }
}

fn write_timestamp(out: &mut Vec<u8>, e: &Expected) {
    if e.dialect == Dialect::Aurora {
        let _ = write!(out, "{}", e.timestamp_us);
        return;
    }
    let secs = e.timestamp_us.div_euclid(1_000_000);
    let (y, mo, d) = rdsaudit::audit::timestamp::civil_from_days(secs.div_euclid(86_400));
    let s = secs.rem_euclid(86_400);
    let _ = write!(
        out,
        "{y:04}{mo:02}{d:02} {:02}:{:02}:{:02}",
        s / 3600,
        s / 60 % 60,
        s % 60
    );
}

/// The part of `sql` the plugin keeps: at most [`DEFAULT_QUERY_LOG_LIMIT`] bytes, cut before
/// escaping, and never so much that the escaped text outgrows the limit (an escape pair is
/// never split). The cut may fall inside a UTF-8 character.
fn cut_like_plugin(sql: &[u8]) -> &[u8] {
    let mut escaped = Vec::with_capacity(2);
    let mut escaped_len = 0;
    for (i, c) in sql.iter().enumerate() {
        escaped.clear();
        escape_like_plugin(std::slice::from_ref(c), &mut escaped);
        escaped_len += escaped.len();
        if i >= DEFAULT_QUERY_LOG_LIMIT || escaped_len > DEFAULT_QUERY_LOG_LIMIT {
            return sql.get(..i).unwrap_or(sql);
        }
    }
    sql
}

#[cfg(test)]
#[allow(clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn cut_keeps_the_limit_and_never_splits_an_escape() {
        let short = b"SELECT 1";
        assert_eq!(cut_like_plugin(short), short);
        let long = vec![b'a'; 2000];
        assert_eq!(cut_like_plugin(&long).len(), 1024);
        let mut quotes = vec![b'a'; 1023];
        quotes.push(b'\'');
        // 1023 plain bytes + a 2-byte escape would make 1025: the quote is dropped.
        assert_eq!(cut_like_plugin(&quotes).len(), 1023);
        let multibyte = "é".repeat(600);
        let kept = cut_like_plugin(multibyte.as_bytes());
        assert_eq!(kept.len(), 1024);
        assert!(std::str::from_utf8(kept).is_ok());
        let odd = format!("a{multibyte}");
        assert!(std::str::from_utf8(cut_like_plugin(odd.as_bytes())).is_err());
    }

    #[test]
    fn mariadb_timestamp_is_civil_utc() {
        let e = Expected {
            dialect: Dialect::MariaDb,
            timestamp_us: START_US,
            serverhost: String::new(),
            username: String::new(),
            host: String::new(),
            connection_id: 0,
            query_id: 0,
            operation: "QUERY",
            database: String::new(),
            object: Vec::new(),
            retcode: None,
            extra: Vec::new(),
        };
        let mut out = Vec::new();
        write_timestamp(&mut out, &e);
        assert_eq!(out, b"20240323 13:36:08");
    }
}
