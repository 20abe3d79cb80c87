//! Statement semantics for rdsaudit: which statements write, which tables they name, their
//! class, and their fingerprint and digest as percona-toolkit computes them.
//!
//! ```
//! use rdsaudit_sql::{analyze, StatementClass};
//!
//! let a = analyze(b"WITH old AS (SELECT id FROM shop.orders WHERE d < NOW()) DELETE FROM shop.orders WHERE id IN (SELECT id FROM old)");
//! assert_eq!(a.class, StatementClass::Dml);
//! assert!(a.writes);
//! assert_eq!(a.tables, ["shop.orders"]);
//!
//! // The plugin cut this one at its 1,024-byte limit, mid-literal: the tokens still tell.
//! let cut = analyze(b"INSERT INTO audit.log (note) VALUES ('a very long note that was cu");
//! assert!(cut.writes && !cut.parsed);
//! assert_eq!(cut.tables, ["audit.log"]);
//! ```
//!
//! # Where this crate sits
//!
//! Data flows one way: the core crate `rdsaudit` decodes audit lines into events and knows
//! nothing about SQL meaning; this crate reads the events' SQL; the front ends (the CLI and
//! the Lambda) use both. The core's [`rdsaudit::filter::Filter`] keeps the predicates on
//! fields (operation, user, host, time, return code...); the predicates that need SQL
//! meaning (`--writes`, `--table`) live here, in [`filter::EventFilter`], which wraps the
//! core filter. So the core keeps only pipeline dependencies, and there is one home for "what
//! a statement means".
//!
//! | module | concern |
//! | --- | --- |
//! | [`lexer`] | tokens of any text, cut or not; versioned comments read as code |
//! | [`class`] | statement class and `writes`, from tokens or from sqlparser's tree |
//! | [`tables`] | the tables a statement names |
//! | [`fingerprint`] | pt-fingerprint's normal form and pt-query-digest's Query ID |
//! | [`event`] | the same questions asked of an audit event (QUERY or TABLE) |
//! | [`filter`] | filters that need the answers |

// Tests may unwrap and index: a failing test should panic.
#![cfg_attr(
    test,
    allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::indexing_slicing,
        clippy::panic
    )
)]
#![deny(missing_docs)]

pub mod class;
pub mod event;
pub mod filter;
pub mod fingerprint;
pub mod lexer;
pub mod tables;

pub use class::StatementClass;
pub use event::{Enricher, Semantics};
pub use fingerprint::{digest, fingerprint};

use sqlparser::dialect::MySqlDialect;
use sqlparser::parser::Parser;

use crate::class::{Verdict, classify_ast, classify_tokens};
use crate::lexer::{Lexer, Token};

/// Longest text handed to sqlparser; longer texts (multi-megabyte bulk INSERTs) are read
/// from their tokens only, so the tree's memory stays bounded.
pub const MAX_PARSE_BYTES: usize = 64 * 1024;

/// Tokens kept per statement for the token reading; the rest of a longer statement (row
/// values of a bulk INSERT) is skipped up to its `;`.
pub const MAX_TOKENS: usize = 4096;

/// What a statement text means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Analysis {
    /// The class; for multi-statement text, the class of the first part that writes (or of
    /// the first part when none does).
    pub class: StatementClass,
    /// Whether any part can change data, schema or privileges (see [`class`]).
    pub writes: bool,
    /// The tables named (see [`tables`]).
    pub tables: Vec<String>,
    /// Whether sqlparser read the whole text; false means the tokens were used.
    pub parsed: bool,
}

/// Analyses `sql` (the unescaped object of a QUERY event): sqlparser's MySQL dialect where
/// the text parses, [`analyze_tokens`] otherwise (cut statements, versioned comments, syntax
/// sqlparser does not know, texts over [`MAX_PARSE_BYTES`]).
pub fn analyze(sql: &[u8]) -> Analysis {
    let Some(statements) = parse(sql) else {
        return analyze_tokens(sql);
    };
    let verdicts: Option<Vec<Verdict>> = statements.iter().map(classify_ast).collect();
    let (class, writes) = match verdicts {
        Some(v) => combine(&v),
        None => analyze_tokens(sql).verdict(),
    };
    Analysis {
        class,
        writes,
        tables: tables::from_ast(&statements),
        parsed: true,
    }
}

/// The token reading alone: what [`analyze`] falls back to. Public so tests can hold it
/// against the parser's reading and the server's TABLE events.
pub fn analyze_tokens(sql: &[u8]) -> Analysis {
    let parts = statements(sql);
    let verdicts: Vec<Verdict> = parts.iter().map(|p| classify_tokens(p)).collect();
    let mut tables = Vec::new();
    for (part, (class, _)) in parts.iter().zip(&verdicts) {
        tables::from_tokens(part, *class, &mut tables);
    }
    let (class, writes) = combine(&verdicts);
    Analysis {
        class,
        writes,
        tables,
        parsed: false,
    }
}

impl Analysis {
    fn verdict(&self) -> Verdict {
        (self.class, self.writes)
    }
}

/// The text's statements (split at `;` outside literals and comments), at most
/// [`MAX_TOKENS`] tokens each; empty statements are dropped.
fn statements(sql: &[u8]) -> Vec<Vec<Token<'_>>> {
    let mut parts = Vec::new();
    let mut current = Vec::new();
    for t in Lexer::new(sql) {
        if t == Token::Punct(b';') {
            if !current.is_empty() {
                parts.push(std::mem::take(&mut current));
            }
        } else if current.len() < MAX_TOKENS {
            current.push(t);
        }
    }
    if !current.is_empty() || parts.is_empty() {
        parts.push(current);
    }
    parts
}

/// sqlparser's statements, when the whole text parses and is worth parsing.
fn parse(sql: &[u8]) -> Option<Vec<sqlparser::ast::Statement>> {
    let versioned =
        memchr::memmem::find(sql, b"/*!").is_some() || memchr::memmem::find(sql, b"/*M!").is_some();
    if sql.len() > MAX_PARSE_BYTES || versioned {
        return None;
    }
    let text = std::str::from_utf8(sql).ok()?;
    Parser::parse_sql(&MySqlDialect {}, text)
        .ok()
        .filter(|s| !s.is_empty())
}

fn combine(verdicts: &[Verdict]) -> Verdict {
    verdicts
        .iter()
        .find(|(_, writes)| *writes)
        .or_else(|| verdicts.first())
        .copied()
        .unwrap_or((StatementClass::Other, false))
}
