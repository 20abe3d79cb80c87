//! Event filters shared by the CLI flags and the Lambda's environment variables.
//!
//! ```
//! use rdsaudit::filter::{Filter, FilterSpec};
//!
//! let filter = Filter::new(&FilterSpec {
//!     writes_only: true,
//!     exclude_users: vec!["rdsadmin".into()],
//!     ..FilterSpec::default()
//! })?;
//! let write = rdsaudit::audit::scanner::parse_line(b"20240323 13:36:09,h,app,l,4,5,QUERY,shop,'/* batch */ UPDATE t SET a=1',0")?;
//! let read = rdsaudit::audit::scanner::parse_line(b"20240323 13:36:09,h,app,l,4,6,QUERY,shop,'SELECT 1',0")?;
//! let heartbeat = rdsaudit::audit::scanner::parse_line(b"20240323 13:36:08,h,rdsadmin,localhost,4,149868,QUERY,,'INSERT INTO mysql.rds_heartbeat2(id, value) values (1,1)',0,,")?;
//! assert!(filter.matches(&write));
//! assert!(!filter.matches(&read));
//! assert!(!filter.matches(&heartbeat));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use crate::audit::event::{AuditEvent, Operation};

/// What to keep, as written by a user (flags or environment variables). Empty lists keep
/// everything; names compare exactly, operations case-insensitively.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FilterSpec {
    pub operations: Vec<String>,
    pub databases: Vec<String>,
    pub users: Vec<String>,
    pub exclude_users: Vec<String>,
    /// Only statements that change data or schema (see [`is_write`]).
    pub writes_only: bool,
    /// A regular expression searched in the unescaped object.
    pub grep: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FilterError {
    #[error("invalid operation {0:?}: expected a name such as QUERY, CONNECT or WRITE")]
    Operation(String),
    #[error("invalid regular expression {pattern:?}: {message}")]
    Regex { pattern: String, message: String },
}

/// A compiled [`FilterSpec`].
#[derive(Debug, Clone)]
pub struct Filter {
    operations: Vec<String>,
    databases: Vec<String>,
    users: Vec<String>,
    exclude_users: Vec<String>,
    writes_only: bool,
    grep: Option<regex::bytes::Regex>,
}

impl Filter {
    pub fn new(spec: &FilterSpec) -> Result<Self, FilterError> {
        let operations = spec
            .operations
            .iter()
            .map(|op| {
                let upper = op.trim().to_ascii_uppercase();
                let valid =
                    !upper.is_empty() && upper.bytes().all(|b| b.is_ascii_uppercase() || b == b'_');
                valid
                    .then_some(upper)
                    .ok_or_else(|| FilterError::Operation(op.clone()))
            })
            .collect::<Result<_, _>>()?;
        let grep = spec
            .grep
            .as_deref()
            .map(|p| {
                regex::bytes::Regex::new(p).map_err(|e| FilterError::Regex {
                    pattern: p.to_owned(),
                    message: e.to_string(),
                })
            })
            .transpose()?;
        Ok(Filter {
            operations,
            databases: spec.databases.clone(),
            users: spec.users.clone(),
            exclude_users: spec.exclude_users.clone(),
            writes_only: spec.writes_only,
            grep,
        })
    }

    /// A filter that keeps everything.
    pub fn all() -> Self {
        Filter {
            operations: Vec::new(),
            databases: Vec::new(),
            users: Vec::new(),
            exclude_users: Vec::new(),
            writes_only: false,
            grep: None,
        }
    }

    /// Whether `e` passes every condition.
    ///
    /// An ambiguous event (see [`crate::audit::event::Ambiguity`]) is judged conservatively:
    /// an exclusion never drops it, and a selection keeps it when any of its readings passes
    /// (or when some readings were left unlisted). So a name forging another user, operation
    /// or statement can neither hide the event nor slip it past a selection.
    pub fn matches(&self, e: &AuditEvent<'_>) -> bool {
        if !e.ambiguity.is_ambiguous() {
            return self.selects(e) && !self.excludes(e);
        }
        self.selects(e)
            || e.ambiguity.omitted() > 0
            || e.ambiguity.alternatives().iter().any(|r| self.selects(r))
    }

    /// The conditions that select events.
    fn selects(&self, e: &AuditEvent<'_>) -> bool {
        let listed =
            |list: &[String], value: &str| list.is_empty() || list.iter().any(|v| v == value);
        listed(&self.operations, e.operation.as_str())
            && listed(&self.databases, &e.database)
            && listed(&self.users, &e.username)
            && (!self.writes_only || is_write(e))
            && self
                .grep
                .as_ref()
                .is_none_or(|re| re.is_match(&e.object.unescaped()))
    }

    /// The conditions that drop events.
    fn excludes(&self, e: &AuditEvent<'_>) -> bool {
        self.exclude_users.iter().any(|u| *u == e.username)
    }
}

/// Whether an event changes data or schema: a QUERY whose first keyword is INSERT, UPDATE,
/// DELETE, REPLACE, LOAD (DATA/XML), CREATE, ALTER, DROP, RENAME or TRUNCATE, or a WRITE,
/// CREATE, ALTER, DROP or RENAME table event.
pub fn is_write(e: &AuditEvent<'_>) -> bool {
    match e.operation {
        Operation::Query => is_write_statement(&e.object.unescaped()),
        Operation::Write
        | Operation::Create
        | Operation::Alter
        | Operation::Drop
        | Operation::Rename => true,
        _ => false,
    }
}

const WRITE_KEYWORDS: [&[u8]; 10] = [
    b"INSERT",
    b"UPDATE",
    b"DELETE",
    b"REPLACE",
    b"LOAD",
    b"CREATE",
    b"ALTER",
    b"DROP",
    b"RENAME",
    b"TRUNCATE",
];

/// Whether the first keyword of `sql` (after whitespace and comments) is a write keyword.
pub fn is_write_statement(sql: &[u8]) -> bool {
    let keyword = first_keyword(sql);
    WRITE_KEYWORDS
        .iter()
        .any(|k| keyword.eq_ignore_ascii_case(k))
}

/// The first word of `sql`, skipping whitespace, `-- `/`#` line comments, `/* */` block
/// comments and opening parentheses (`(SELECT ...)`).
pub fn first_keyword(sql: &[u8]) -> &[u8] {
    let mut s = sql;
    loop {
        let trimmed = s.trim_ascii_start();
        let trimmed = trimmed.strip_prefix(b"(").unwrap_or(trimmed);
        if let Some(rest) = trimmed.strip_prefix(b"/*") {
            s = memchr::memmem::find(rest, b"*/")
                .map_or(&[][..], |i| rest.get(i + 2..).unwrap_or_default());
        } else if trimmed.starts_with(b"#")
            || trimmed.starts_with(b"-- ")
            || trimmed.starts_with(b"--\t")
            || trimmed == b"--"
        {
            s = memchr::memchr(b'\n', trimmed)
                .map_or(&[][..], |i| trimmed.get(i + 1..).unwrap_or_default());
        } else if trimmed.len() != s.len() {
            s = trimmed;
        } else {
            let end = s
                .iter()
                .position(|b| !b.is_ascii_alphabetic())
                .unwrap_or(s.len());
            return s.get(..end).unwrap_or_default();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keywords_after_comments() {
        assert_eq!(
            first_keyword(b"  \n\t-- note\n# x\n/* a */ /*b*/insert into t"),
            b"insert"
        );
        assert_eq!(first_keyword(b"((SELECT 1))"), b"SELECT");
        assert_eq!(first_keyword(b"/* unterminated"), b"");
        assert_eq!(first_keyword(b"--"), b"");
        assert!(is_write_statement(b"LOAD DATA INFILE 'x' INTO TABLE t"));
        assert!(is_write_statement(b"truncate table t"));
        assert!(!is_write_statement(b"SELECT 'DELETE'"));
        assert!(!is_write_statement(b"UPDATED"));
        assert!(!is_write_statement(b"-- DELETE\nSELECT 1"));
    }

    #[test]
    fn invalid_specs_are_rejected() {
        let bad_op = FilterSpec {
            operations: vec!["QUE RY".into()],
            ..FilterSpec::default()
        };
        assert!(matches!(
            Filter::new(&bad_op),
            Err(FilterError::Operation(_))
        ));
        let bad_re = FilterSpec {
            grep: Some("(".into()),
            ..FilterSpec::default()
        };
        assert!(matches!(
            Filter::new(&bad_re),
            Err(FilterError::Regex { .. })
        ));
    }

    #[test]
    fn lists_and_grep() {
        let e = crate::audit::scanner::parse_line(
            b"20240323 13:36:09,h,app,l,4,5,QUERY,shop,'SELECT \\'needle\\'',0",
        )
        .unwrap();
        let spec = |f: fn(&mut FilterSpec)| {
            let mut s = FilterSpec::default();
            f(&mut s);
            Filter::new(&s).unwrap().matches(&e)
        };
        assert!(spec(|s| s.operations = vec!["query".into()]));
        assert!(!spec(|s| s.operations = vec!["CONNECT".into()]));
        assert!(spec(|s| s.databases = vec!["shop".into(), "x".into()]));
        assert!(!spec(|s| s.users = vec!["other".into()]));
        assert!(!spec(|s| s.exclude_users = vec!["app".into()]));
        assert!(spec(|s| s.grep = Some("'needle'".into())));
        assert!(!spec(|s| s.grep = Some("haystack".into())));
        assert!(Filter::all().matches(&e));
    }

    #[test]
    fn ambiguous_events_are_judged_conservatively() {
        // A user an administrator created as `rdsadmin,localhost,1,2,QUERY,x`: its reading
        // with the longest user name is the event, the other reading names `rdsadmin`.
        let e = crate::audit::scanner::parse_line(
            b"20240323 13:36:09,h,rdsadmin,localhost,1,2,QUERY,x,10.0.0.5,4,5,QUERY,shop,'DELETE FROM users',0",
        )
        .unwrap();
        assert!(e.ambiguity.is_ambiguous());
        assert_eq!(e.username, "rdsadmin,localhost,1,2,QUERY,x");
        let filter = |f: fn(&mut FilterSpec)| {
            let mut s = FilterSpec::default();
            f(&mut s);
            Filter::new(&s).unwrap().matches(&e)
        };
        // An exclusion matching a reading never drops it.
        assert!(filter(|s| s.exclude_users = vec!["rdsadmin".into()]));
        assert!(filter(
            |s| s.exclude_users = vec!["rdsadmin,localhost,1,2,QUERY,x".into()]
        ));
        // A selection keeps it when any reading passes, all conditions on the same reading.
        assert!(filter(|s| s.users = vec!["rdsadmin".into()]));
        assert!(filter(|s| s.databases = vec!["shop".into()]));
        assert!(filter(|s| s.writes_only = true));
        assert!(!filter(|s| s.users = vec!["nobody".into()]));
        assert!(!filter(|s| {
            s.users = vec!["rdsadmin".into()];
            s.databases = vec!["nothing".into()];
        }));
    }
}
