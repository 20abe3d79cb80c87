//! The function's configuration: environment variables, read and checked once at init.
//!
//! | variable | value | default |
//! | --- | --- | --- |
//! | `RDSAUDIT_OPERATIONS` | comma-separated operations (`QUERY,CONNECT`); an unknown name is an error | all |
//! | `RDSAUDIT_DATABASES` | comma-separated database names | all |
//! | `RDSAUDIT_USERS` | comma-separated user names | all |
//! | `RDSAUDIT_EXCLUDE_USERS` | comma-separated user names (`rdsadmin`) | none |
//! | `RDSAUDIT_HOSTS` | comma-separated client hosts (`10.0.0.5` also matches `10.0.0.5:53210`) | all |
//! | `RDSAUDIT_RETCODES` | comma-separated return codes (`0`, `1045,1142`) | all |
//! | `RDSAUDIT_SINCE` / `RDSAUDIT_UNTIL` | RFC 3339 (`2024-03-23T13:00:00Z`) or an age (`1h`), counted from the function's init | none |
//! | `RDSAUDIT_FAILED_LOGINS` | `true`: only failed logins | `false` |
//! | `RDSAUDIT_WRITES_ONLY` | `true`: only successful statements that write (see `rdsaudit_sql::class`) | `false` |
//! | `RDSAUDIT_INCLUDE_FAILED` | `true`: with `RDSAUDIT_WRITES_ONLY`, keep failed writes too | `false` |
//! | `RDSAUDIT_TABLES` | comma-separated tables (`orders`, `shop.orders`; a name holding `.` or `` ` `` back-quoted, `` evil.`shop.orders` ``, a back quote doubled) | all |
//! | `RDSAUDIT_ENRICH` | `true`: add `writes`, `statement_class`, `tables`, `fingerprint`, `digest`, `truncated` (see `rdsaudit parse --help`) | `false` |
//! | `RDSAUDIT_GREP` | a regular expression searched in the unescaped object | none |
//! | `RDSAUDIT_DESTINATION` | where events go: `stdout`, `sqs:<queue url>`, `s3://<bucket>/<prefix>`, ... (see [`crate::destination`]) | `stdout` |
//! | `RDSAUDIT_QUARANTINE` | where undecodable records and lines go: `s3://<bucket>/<prefix>` or `sqs:<queue url>` (see [`crate::quarantine`]) | the function log |
//! | `RDSAUDIT_THREADS` | worker threads for large batches (at most 64) | the vCPUs Lambda gives |
//! | `RDSAUDIT_MAX_RECORD_BYTES` | decompressed bytes allowed per record | 16 MiB |
//! | `RDSAUDIT_QUERY_LOG_LIMIT` | the server's `server_audit_query_log_limit` (an RDS option group setting), 0 to 2147483647: a statement reaching it may be cut (`truncated`; one cut before its verb may write) | 1024 |
//!
//! Booleans are `true`/`false` (also `1`/`0`, `yes`/`no`). In lists, `\,` is a comma inside a
//! value (`we\,ird`) and `\\` a backslash ([`rdsaudit::filter::split_list`]).
//!
//! An empty or blank value is the same as an unset variable (the template passes its empty
//! parameters as empty strings). Any other `RDSAUDIT_*` variable is an error, in any case
//! (`rdsaudit_writes_only` too), so a typo (`RDSAUDIT_WRITE_ONLY`) stops the function at init
//! instead of silently keeping every event; so is `RDSAUDIT_INCLUDE_FAILED=true` without
//! `RDSAUDIT_WRITES_ONLY=true`, which would do nothing. A name that looks like ours misspelt
//! (`RDSADUIT_WRITES_ONLY`) is an error naming the closest known one (Lambda's `AWS_*`,
//! `LAMBDA_*` and `_*` names are not looked at); so are a list with an empty item
//! (`RDSAUDIT_USERS=","`, which would be no condition) and field selections that no one
//! event can pass together (`RDSAUDIT_SINCE` not before `RDSAUDIT_UNTIL`,
//! `RDSAUDIT_FAILED_LOGINS` with operations none of which is a login, or with
//! `RDSAUDIT_RETCODES=0` and only `CONNECT`/`CHANGEUSER`; see `keeps_nothing` for why
//! `RDSAUDIT_WRITES_ONLY` with them is not one). `RDSAUDIT_ON_MALFORMED` is gone:
//! a record that cannot be decoded fails the same way on every retry, so it always goes to the
//! quarantine and never blocks the shard.

use rdsaudit::filter::{Filter, FilterError, FilterSpec, split_list};
use rdsaudit_sql::filter::{EventFilter, SemanticSpec};
use rdsaudit_sql::name::{TableNameError, TablePattern};

use crate::quarantine::{QuarantineError, QuarantineSpec};

/// Why the configuration was rejected at init; the message names the variable and what was
/// expected, and becomes the `RdsAudit.InvalidConfiguration` init error Lambda shows.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A `RDSAUDIT_*` value that is not valid UTF-8.
    #[error("{name}: not valid UTF-8")]
    NotUtf8 {
        /// The variable.
        name: String,
    },
    /// `RDSAUDIT_ON_MALFORMED` is set (removed: undecodable records always go to the quarantine).
    #[error(
        "RDSAUDIT_ON_MALFORMED is no longer read: undecodable records always go to the \
         quarantine (RDSAUDIT_QUARANTINE) and the batch proceeds; remove the variable"
    )]
    OnMalformedRemoved,
    /// A `RDSAUDIT_*` name this function does not read (a typo would silently keep everything).
    #[error("unknown variable {name} (did you mean {closest}?): expected one of {known}", known = KNOWN.join(", "))]
    Unknown {
        /// The variable.
        name: String,
        /// The known name closest to it.
        closest: &'static str,
    },
    /// A variable whose name is close to one of ours without our prefix (`RDSADUIT_WRITES_ONLY`):
    /// ignored, the filter it meant would be silently off.
    #[error(
        "variable {name} looks like a misspelt {closest}: rename it (this function reads only \
         RDSAUDIT_* variables), or remove it"
    )]
    Misspelt {
        /// The variable.
        name: String,
        /// The known name closest to it.
        closest: &'static str,
    },
    /// Field selections that together keep no event: no one event (no reading of an
    /// ambiguous one) can pass them all, so every event would be dropped.
    #[error(
        "{variables} together keep no event: no event's operation, return code, time and names \
         can pass them all"
    )]
    Contradiction {
        /// The fewest variables that are enough for it (`RDSAUDIT_SINCE and RDSAUDIT_UNTIL`).
        variables: String,
    },
    /// A list with an empty item (`RDSAUDIT_USERS=","`): read as no condition it would keep
    /// every event.
    #[error(
        "{name}={value:?}: an empty item in the list (write the empty name as '', a comma in a \
         name as \\,)"
    )]
    EmptyItem {
        /// The variable.
        name: &'static str,
        /// The value as set.
        value: String,
    },
    /// A variable set to a value that only means something with another one.
    #[error("{name}=true does nothing without {needs}=true")]
    Requires {
        /// The variable set.
        name: &'static str,
        /// The variable it needs.
        needs: &'static str,
    },
    /// A value of the wrong shape.
    #[error("{name}={value:?}: expected {expected}")]
    Invalid {
        /// The variable.
        name: &'static str,
        /// The value as set.
        value: String,
        /// What the variable takes.
        expected: &'static str,
    },
    /// `RDSAUDIT_OPERATIONS`, `_SINCE`, `_UNTIL` or `_GREP` does not compile.
    #[error("{name}: {source}")]
    Filter {
        /// The variable whose value it is.
        name: &'static str,
        /// Why it does not compile.
        source: FilterError,
    },
    /// A `RDSAUDIT_TABLES` item that is no table name.
    #[error("RDSAUDIT_TABLES: {0}")]
    Table(#[from] TableNameError),
    /// `RDSAUDIT_QUARANTINE` is not a quarantine.
    #[error("RDSAUDIT_QUARANTINE={value:?}: {source}")]
    Quarantine {
        /// The value as set.
        value: String,
        /// Why it was rejected.
        source: QuarantineError,
    },
}

/// A checked configuration.
#[derive(Debug)]
pub struct Config {
    /// Which events are delivered (`RDSAUDIT_OPERATIONS`, `_DATABASES`, `_USERS`,
    /// `_EXCLUDE_USERS`, `_HOSTS`, `_RETCODES`, `_SINCE`, `_UNTIL`, `_FAILED_LOGINS`,
    /// `_WRITES_ONLY`, `_INCLUDE_FAILED`, `_TABLES`, `_GREP`).
    pub filter: EventFilter,
    /// Add the statement-semantics keys to each NDJSON line (`RDSAUDIT_ENRICH`).
    pub enrich: bool,
    /// Worker threads for decoding (`RDSAUDIT_THREADS`).
    pub threads: usize,
    /// Decompressed bytes allowed per record (`RDSAUDIT_MAX_RECORD_BYTES`).
    pub max_record_bytes: usize,
    /// `RDSAUDIT_DESTINATION`, checked and connected by
    /// [`crate::destination::Destination::from_spec`] at init (`stdout` when unset).
    pub destination: String,
    /// `RDSAUDIT_QUARANTINE`.
    pub quarantine: QuarantineSpec,
}

/// Large enough for any CloudWatch Logs subscription payload (a Kinesis record holds at most
/// 1 MiB of gzip), small enough that a gzip bomb cannot exhaust a 128 MB function.
pub const DEFAULT_MAX_RECORD_BYTES: usize = 16 << 20;

/// The plugin's largest `server_audit_query_log_limit` (`0x7FFFFFFF`).
const MAX_QUERY_LOG_LIMIT: u32 = 0x7FFF_FFFF;

/// Lambda gives at most 6 vCPUs; more threads than this only waste memory.
const MAX_THREADS: usize = 64;

const PREFIX: &str = "RDSAUDIT_";
const KNOWN: [&str; 19] = [
    "RDSAUDIT_OPERATIONS",
    "RDSAUDIT_DATABASES",
    "RDSAUDIT_USERS",
    "RDSAUDIT_EXCLUDE_USERS",
    "RDSAUDIT_HOSTS",
    "RDSAUDIT_RETCODES",
    "RDSAUDIT_SINCE",
    "RDSAUDIT_UNTIL",
    "RDSAUDIT_FAILED_LOGINS",
    "RDSAUDIT_WRITES_ONLY",
    "RDSAUDIT_INCLUDE_FAILED",
    "RDSAUDIT_TABLES",
    "RDSAUDIT_ENRICH",
    "RDSAUDIT_GREP",
    "RDSAUDIT_DESTINATION",
    "RDSAUDIT_QUARANTINE",
    "RDSAUDIT_THREADS",
    "RDSAUDIT_MAX_RECORD_BYTES",
    "RDSAUDIT_QUERY_LOG_LIMIT",
];

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        let mut vars = Vec::new();
        for (key, value) in std::env::vars_os() {
            // Other variables are looked at by name only (a misspelt prefix).
            let Some(key) = key.to_str() else { continue };
            if !has_prefix(key) {
                vars.push((key.to_owned(), String::new()));
                continue;
            }
            let value = value.into_string().map_err(|_| ConfigError::NotUtf8 {
                name: key.to_owned(),
            })?;
            vars.push((key.to_owned(), value));
        }
        Self::from_vars(vars)
    }

    /// Builds a configuration from `(name, value)` pairs; names without the `RDSAUDIT_`
    /// prefix are ignored, unless they look like one of ours misspelt ([`ConfigError::Misspelt`]).
    pub fn from_vars(
        vars: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        let (vars, others): (Vec<(String, String)>, Vec<_>) =
            vars.into_iter().partition(|(k, _)| has_prefix(k));
        if let Some((name, closest)) = others.iter().find_map(|(k, _)| misspelt(k).map(|c| (k, c)))
        {
            return Err(ConfigError::Misspelt {
                name: name.clone(),
                closest,
            });
        }
        if vars.iter().any(|(k, _)| k == "RDSAUDIT_ON_MALFORMED") {
            return Err(ConfigError::OnMalformedRemoved);
        }
        if let Some((unknown, _)) = vars.iter().find(|(k, _)| !KNOWN.contains(&k.as_str())) {
            return Err(ConfigError::Unknown {
                name: unknown.clone(),
                closest: closest(unknown).0,
            });
        }
        let get = |name: &str| {
            vars.iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.trim())
                .filter(|v| !v.is_empty())
        };
        let flag = |name: &'static str| get(name).map_or(Ok(false), |v| boolean(name, v));
        let list = |name: &'static str| list(name, get(name));
        let spec = FilterSpec {
            operations: list("RDSAUDIT_OPERATIONS")?,
            databases: list("RDSAUDIT_DATABASES")?,
            users: list("RDSAUDIT_USERS")?,
            exclude_users: list("RDSAUDIT_EXCLUDE_USERS")?,
            hosts: list("RDSAUDIT_HOSTS")?,
            retcodes: list("RDSAUDIT_RETCODES")?
                .iter()
                .map(|r| {
                    r.parse().map_err(|_| ConfigError::Invalid {
                        name: "RDSAUDIT_RETCODES",
                        value: r.clone(),
                        expected: "comma-separated integers",
                    })
                })
                .collect::<Result<_, _>>()?,
            since: get("RDSAUDIT_SINCE").map(str::to_owned),
            until: get("RDSAUDIT_UNTIL").map(str::to_owned),
            failed_logins: flag("RDSAUDIT_FAILED_LOGINS")?,
            grep: get("RDSAUDIT_GREP").map(str::to_owned),
        };
        // Ages count from one instant, for the filter and for the check of it.
        let now_us = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX));
        let fields = Filter::new_at(&spec, now_us).map_err(|source| ConfigError::Filter {
            name: filter_variable(&source, &spec),
            source,
        })?;
        let semantic = SemanticSpec {
            writes: flag("RDSAUDIT_WRITES_ONLY")?,
            include_failed: flag("RDSAUDIT_INCLUDE_FAILED")?,
            tables: list("RDSAUDIT_TABLES")?
                .iter()
                .map(|t| TablePattern::parse(t))
                .collect::<Result<_, _>>()?,
            query_log_limit: get("RDSAUDIT_QUERY_LOG_LIMIT")
                .map(|v| {
                    v.parse::<u32>()
                        .ok()
                        .filter(|n| *n <= MAX_QUERY_LOG_LIMIT)
                        .map(|n| n as usize)
                        .ok_or_else(|| ConfigError::Invalid {
                            name: "RDSAUDIT_QUERY_LOG_LIMIT",
                            value: v.to_owned(),
                            expected: "the server's server_audit_query_log_limit in bytes, 0 to 2147483647",
                        })
                })
                .transpose()?,
        };
        if semantic.include_failed && !semantic.writes {
            return Err(ConfigError::Requires {
                name: "RDSAUDIT_INCLUDE_FAILED",
                needs: "RDSAUDIT_WRITES_ONLY",
            });
        }
        if let Some(variables) = keeps_nothing(&spec, now_us) {
            return Err(ConfigError::Contradiction {
                variables: and_list(&variables),
            });
        }
        let filter = EventFilter::new(fields, semantic);
        let quarantine = match get("RDSAUDIT_QUARANTINE") {
            None => QuarantineSpec::FunctionLog,
            Some(v) => QuarantineSpec::parse(v).map_err(|source| ConfigError::Quarantine {
                value: v.to_owned(),
                source,
            })?,
        };
        let vcpus = std::thread::available_parallelism().map_or(1, usize::from);
        Ok(Config {
            filter,
            enrich: flag("RDSAUDIT_ENRICH")?,
            destination: get("RDSAUDIT_DESTINATION").unwrap_or("stdout").to_owned(),
            quarantine,
            threads: positive("RDSAUDIT_THREADS", get("RDSAUDIT_THREADS"), vcpus)?.min(MAX_THREADS),
            max_record_bytes: positive(
                "RDSAUDIT_MAX_RECORD_BYTES",
                get("RDSAUDIT_MAX_RECORD_BYTES"),
                DEFAULT_MAX_RECORD_BYTES,
            )?,
        })
    }
}

/// The variable a filter error comes from.
fn filter_variable(e: &FilterError, spec: &FilterSpec) -> &'static str {
    match e {
        FilterError::Operation(_) => "RDSAUDIT_OPERATIONS",
        FilterError::Regex { .. } => "RDSAUDIT_GREP",
        FilterError::Time(value) if spec.since.as_deref() == Some(value.as_str()) => {
            "RDSAUDIT_SINCE"
        }
        FilterError::Time(_) => "RDSAUDIT_UNTIL",
        _ => "RDSAUDIT_OPERATIONS, RDSAUDIT_SINCE, RDSAUDIT_UNTIL or RDSAUDIT_GREP",
    }
}

/// `RDSAUDIT_` in any case: a lower-case name is one of ours, misspelt.
fn has_prefix(name: &str) -> bool {
    name.get(..PREFIX.len())
        .is_some_and(|p| p.eq_ignore_ascii_case(PREFIX))
}

/// `"a, b,c\,d"` -> `["a", "b", "c,d"]`; an empty item (`a,,b`, `a,`, `,`) is an error: a
/// list of only empty items would be no condition at all, every event kept.
fn list(name: &'static str, value: Option<&str>) -> Result<Vec<String>, ConfigError> {
    let value = value.unwrap_or_default();
    if has_empty_item(value) {
        return Err(ConfigError::EmptyItem {
            name,
            value: value.to_owned(),
        });
    }
    Ok(split_list(value))
}

/// Whether `value` (a non-blank list) has an item that is blank once trimmed, commas escaped
/// as `\,` being part of an item (as [`split_list`] reads them).
fn has_empty_item(value: &str) -> bool {
    if value.trim().is_empty() {
        return false;
    }
    let mut blank = true;
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                chars.next();
                blank = false;
            }
            ',' if blank => return true,
            ',' => blank = true,
            c if c.is_whitespace() => {}
            _ => blank = false,
        }
    }
    blank
}

/// The field variables, in the order an init error names them.
const FIELD_VARIABLES: [&str; 8] = [
    "RDSAUDIT_OPERATIONS",
    "RDSAUDIT_DATABASES",
    "RDSAUDIT_USERS",
    "RDSAUDIT_HOSTS",
    "RDSAUDIT_RETCODES",
    "RDSAUDIT_FAILED_LOGINS",
    "RDSAUDIT_SINCE",
    "RDSAUDIT_UNTIL",
];

/// Filters that provably keep no event: the function would run, and deliver nothing, with
/// nothing to say why. Names the fewest field variables that are enough for it.
///
/// What is provable follows how the filters judge an ambiguous event (docs/HOSTILE.md): the
/// field selections keep it when one of its readings passes them all, the `WRITES_ONLY` and
/// `TABLES` conditions when one reading passes them, maybe another one, and an exclusion
/// never drops it. So a `CONNECT` whose user name forges a `FAILED_CONNECT` and a `WRITE` is
/// kept by `RDSAUDIT_WRITES_ONLY` with `RDSAUDIT_FAILED_LOGINS`, and user `a`'s query whose
/// text forges a `READ` by `RDSAUDIT_USERS=a` with `RDSAUDIT_EXCLUDE_USERS=a` (refusing
/// either at init stopped a working function). Only the field selections together can
/// provably keep nothing: no one event (reading) passes them all. An event with readings
/// left unlisted passes every filter: every configuration keeps those, so they do not make
/// one work.
///
/// The rule is the core's own [`Filter`], tried on one event of each kind that matters (see
/// [`representatives`]), not a copy of it per pair of variables.
fn keeps_nothing(spec: &FilterSpec, now_us: i64) -> Option<Vec<&'static str>> {
    if selectable(spec, now_us) {
        return None;
    }
    // Drop each variable that is not needed for it, leaving the ones that together are.
    let mut spec = spec.clone();
    let mut named = Vec::new();
    for name in FIELD_VARIABLES {
        let mut without = spec.clone();
        if !unset(&mut without, name) {
            continue;
        }
        if selectable(&without, now_us) {
            named.push(name);
        } else {
            spec = without;
        }
    }
    Some(named)
}

/// Unsets the field variable `name` in `spec`; false when it was not set.
fn unset(spec: &mut FilterSpec, name: &str) -> bool {
    match name {
        "RDSAUDIT_OPERATIONS" => !std::mem::take(&mut spec.operations).is_empty(),
        "RDSAUDIT_DATABASES" => !std::mem::take(&mut spec.databases).is_empty(),
        "RDSAUDIT_USERS" => !std::mem::take(&mut spec.users).is_empty(),
        "RDSAUDIT_HOSTS" => !std::mem::take(&mut spec.hosts).is_empty(),
        "RDSAUDIT_RETCODES" => !std::mem::take(&mut spec.retcodes).is_empty(),
        "RDSAUDIT_FAILED_LOGINS" => std::mem::take(&mut spec.failed_logins),
        "RDSAUDIT_SINCE" => spec.since.take().is_some(),
        "RDSAUDIT_UNTIL" => spec.until.take().is_some(),
        _ => false,
    }
}

/// Whether some one event passes every field selection of `spec` (exclusions and `GREP`
/// aside: an exclusion never drops an ambiguous event, and whether a regular expression
/// matches some text is not decided here).
fn selectable(spec: &FilterSpec, now_us: i64) -> bool {
    let selections = FilterSpec {
        exclude_users: Vec::new(),
        grep: None,
        ..spec.clone()
    };
    let Ok(filter) = Filter::new_at(&selections, now_us) else {
        // Compiled already; if it did not, nothing is proven.
        return true;
    };
    representatives(spec, now_us)
        .iter()
        .any(|e| filter.matches(&e.event()))
}

/// One event of each kind the field selections tell apart: each operation, with each return
/// code that can matter (none, 0, one other, each listed), at a time the window holds if one
/// does, by the first user, host and database listed. The conditions on names and time are
/// each met by that one value when by any, so if none of these passes, no event does.
fn representatives(spec: &FilterSpec, now_us: i64) -> Vec<Representative> {
    let time = |t: &Option<String>| {
        t.as_deref()
            .and_then(|t| rdsaudit::filter::parse_time(t, now_us).ok())
    };
    let epoch_us = match (time(&spec.since), time(&spec.until)) {
        (Some(since), _) => since,
        (None, Some(until)) => until.saturating_sub(1),
        (None, None) => now_us,
    };
    let first = |list: &[String]| list.first().cloned().unwrap_or_default();
    let mut retcodes = vec![None, Some(0), Some(1)];
    retcodes.extend(spec.retcodes.iter().copied().map(Some));
    let mut out = Vec::new();
    for operation in rdsaudit::filter::KNOWN_OPERATIONS.split(", ") {
        for retcode in &retcodes {
            out.push(Representative {
                epoch_us,
                operation,
                retcode: *retcode,
                user: first(&spec.users),
                host: first(&spec.hosts),
                database: first(&spec.databases),
            });
        }
    }
    out
}

/// The fields of a [`representatives`] event.
struct Representative {
    epoch_us: i64,
    operation: &'static str,
    retcode: Option<i64>,
    user: String,
    host: String,
    database: String,
}

impl Representative {
    fn event(&self) -> rdsaudit::AuditEvent<'_> {
        rdsaudit::AuditEvent {
            timestamp: rdsaudit::Timestamp {
                epoch_us: self.epoch_us,
                dialect: rdsaudit::Dialect::MariaDb,
            },
            serverhost: rdsaudit::Name::new(b"h"),
            username: rdsaudit::Name::new(self.user.as_bytes()),
            host: rdsaudit::Name::new(self.host.as_bytes()),
            connection_id: 1,
            query_id: 1,
            operation: rdsaudit::Operation::from_token(self.operation),
            database: rdsaudit::Name::new(self.database.as_bytes()),
            object: rdsaudit::Object::new(b"", false),
            retcode: self.retcode,
            extra: rdsaudit::Extra::new(None),
            provenance: rdsaudit::Provenance::default(),
            ambiguity: rdsaudit::Ambiguity::default(),
        }
    }
}

/// `a`, `a and b`, `a, b and c`.
fn and_list(items: &[&str]) -> String {
    match items {
        [] => String::new(),
        [one] => (*one).to_owned(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// The known name closest to `name` (case-insensitive), with its distance.
fn closest(name: &str) -> (&'static str, usize) {
    let upper = name.to_ascii_uppercase();
    KNOWN
        .iter()
        .map(|k| (*k, strsim::damerau_levenshtein(&upper, k)))
        .min_by_key(|(_, d)| *d)
        .unwrap_or(("RDSAUDIT_OPERATIONS", usize::MAX))
}

/// The known name `name` (not `RDSAUDIT_*`) looks like a misspelling of: its first word
/// within one edit of `RDSAUDIT`, a transposition counting as one (`RDSADUIT_WRITES_ONLY`,
/// `RDSAUDITS_USERS`, `RDSAUDT_HOSTS`), or the whole name within two edits of a known one
/// (`RDS_AUDIT_USERS`, `RDSAUDIT-USERS`). Two edits of the first word alone reach other
/// products' prefixes (`DBAUDIT`, `AWSAUDIT`, `MSAUDIT`, `RDSAUDITOR`): a layer or an extension
/// setting such a variable would stop the function at init. Lambda's own variables (`AWS_*`,
/// `LAMBDA_*`, `_HANDLER`, ...) never are.
fn misspelt(name: &str) -> Option<&'static str> {
    let upper = name.to_ascii_uppercase();
    if upper.starts_with("AWS_") || upper.starts_with("LAMBDA_") || upper.starts_with('_') {
        return None;
    }
    let (known, distance) = closest(&upper);
    let word = upper.split(['_', '-']).next().unwrap_or_default();
    let prefix_like = strsim::damerau_levenshtein(word, "RDSAUDIT") <= 1;
    (prefix_like || distance <= 2).then_some(known)
}

fn boolean(name: &'static str, value: &str) -> Result<bool, ConfigError> {
    match value.to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" => Ok(true),
        "false" | "0" | "no" => Ok(false),
        _ => Err(ConfigError::Invalid {
            name,
            value: value.to_owned(),
            expected: "true or false",
        }),
    }
}

fn positive(name: &'static str, value: Option<&str>, default: usize) -> Result<usize, ConfigError> {
    let Some(v) = value else { return Ok(default) };
    match v.parse::<usize>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(ConfigError::Invalid {
            name,
            value: v.to_owned(),
            expected: "a positive integer",
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        Config::from_vars(vars.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())))
    }

    fn error(vars: &[(&str, &str)]) -> String {
        config(vars).expect_err("should be rejected").to_string()
    }

    #[test]
    fn defaults_keep_everything_on_stdout() {
        let c = config(&[("PATH", "/bin"), ("RDSAUDIT_USERS", "  ")]).unwrap();
        assert_eq!(c.quarantine, QuarantineSpec::FunctionLog);
        assert_eq!(c.destination, "stdout");
        assert_eq!(c.max_record_bytes, DEFAULT_MAX_RECORD_BYTES);
        assert!(c.threads >= 1);
        let event = rdsaudit::audit::scanner::parse_line(
            b"20240323 13:36:09,h,app,l,4,6,QUERY,shop,'SELECT 1',0",
        )
        .unwrap();
        assert!(c.filter.matches(&event));
    }

    #[test]
    fn the_query_log_limit_and_tables_are_read_and_checked() {
        let c = config(&[("RDSAUDIT_QUERY_LOG_LIMIT", "64")]).unwrap();
        assert_eq!(c.filter.query_log_limit(), 64);
        assert_eq!(config(&[]).unwrap().filter.query_log_limit(), 1024);
        for bad in ["-1", "2147483648", "64k"] {
            let e = error(&[("RDSAUDIT_QUERY_LOG_LIMIT", bad)]);
            assert!(
                e.contains(&format!("RDSAUDIT_QUERY_LOG_LIMIT={bad:?}"))
                    && e.contains("0 to 2147483647"),
                "{e}"
            );
        }
        let e = error(&[("RDSAUDIT_TABLES", "shop.orders, a.b.c")]);
        assert!(
            e.contains("RDSAUDIT_TABLES: table \"a.b.c\": more than two parts"),
            "{e}"
        );
        let c = config(&[("RDSAUDIT_TABLES", "evil.`shop.orders`")]).unwrap();
        let write =
            rdsaudit::parse_line(b"20240323 13:36:09,h,app,l,4,6,WRITE,evil,shop.orders,").unwrap();
        assert!(c.filter.matches(&write));
        let c = config(&[("RDSAUDIT_TABLES", "shop.orders")]).unwrap();
        assert!(!c.filter.matches(&write));
    }

    #[test]
    fn filters_follow_the_variables() {
        let c = config(&[
            ("RDSAUDIT_OPERATIONS", "query, connect"),
            ("RDSAUDIT_EXCLUDE_USERS", "rdsadmin, we\\,ird"),
            ("RDSAUDIT_WRITES_ONLY", "YES"),
            ("RDSAUDIT_ENRICH", "yes"),
            ("RDSAUDIT_QUARANTINE", "s3://poison-bucket/rdsaudit/"),
            (
                "RDSAUDIT_DESTINATION",
                "sqs:https://sqs.eu-west-1.amazonaws.com/1/q.fifo",
            ),
            ("RDSAUDIT_THREADS", "3"),
        ])
        .unwrap();
        assert_eq!((c.threads, c.enrich), (3, true));
        assert_eq!(
            c.quarantine,
            QuarantineSpec::S3 {
                bucket: "poison-bucket".into(),
                prefix: "rdsaudit/".into()
            }
        );
        assert_eq!(
            c.destination,
            "sqs:https://sqs.eu-west-1.amazonaws.com/1/q.fifo"
        );
        assert_eq!(
            config(&[("RDSAUDIT_THREADS", "100000")]).unwrap().threads,
            MAX_THREADS
        );
        let keep = |line: &[u8]| {
            c.filter
                .matches(&rdsaudit::audit::scanner::parse_line(line).unwrap())
        };
        assert!(keep(
            b"20240323 13:36:09,h,app,l,4,5,QUERY,shop,'UPDATE t SET a=1',0"
        ));
        assert!(!keep(
            b"20240323 13:36:09,h,app,l,4,6,QUERY,shop,'SELECT 1',0"
        ));
        assert!(!keep(
            b"20240323 13:36:09,h,rdsadmin,l,4,7,QUERY,,'DELETE FROM t',0"
        ));
        assert!(!keep(
            b"20240323 13:36:09,h,app,l,4,8,QUERY,,'DELETE FROM t',1142"
        ));
    }

    #[test]
    fn invalid_values_name_the_variable() {
        assert!(
            error(&[("RDSAUDIT_WRITES_ONLY", "maybe")]).contains("RDSAUDIT_WRITES_ONLY=\"maybe\"")
        );
        assert!(error(&[("RDSAUDIT_ON_MALFORMED", "fail")]).contains("no longer read"));
        assert!(
            error(&[("RDSAUDIT_QUARANTINE", "ftp://x")])
                .contains("RDSAUDIT_QUARANTINE=\"ftp://x\"")
        );
        // Session 31 (advC F2): a queue URL naming no queue failed only at the first entry.
        let e = error(&[("RDSAUDIT_QUARANTINE", "sqs:http://")]);
        assert!(
            e.starts_with("RDSAUDIT_QUARANTINE=\"sqs:http://\": expected the queue URL"),
            "{e}"
        );
        assert!(error(&[("RDSAUDIT_THREADS", "0")]).contains("RDSAUDIT_THREADS"));
        assert!(error(&[("RDSAUDIT_MAX_RECORD_BYTES", "1e6")]).contains("positive integer"));
        assert!(error(&[("RDSAUDIT_OPERATIONS", "CONECT")]).contains("unknown operation"));
        assert!(error(&[("RDSAUDIT_RETCODES", "0,x")]).contains("RDSAUDIT_RETCODES"));
        // Review 8 (S4): the one variable is named.
        let since = error(&[("RDSAUDIT_SINCE", "yesterday"), ("RDSAUDIT_UNTIL", "1h")]);
        assert!(since.starts_with("RDSAUDIT_SINCE: invalid time"), "{since}");
        let until = error(&[("RDSAUDIT_SINCE", "1h"), ("RDSAUDIT_UNTIL", "today")]);
        assert!(until.starts_with("RDSAUDIT_UNTIL: invalid time"), "{until}");
        let operation = error(&[("RDSAUDIT_OPERATIONS", "CONECT")]);
        assert!(
            operation.starts_with("RDSAUDIT_OPERATIONS: unknown"),
            "{operation}"
        );
        assert!(
            error(&[("RDSAUDIT_INCLUDE_FAILED", "on")]).contains("RDSAUDIT_INCLUDE_FAILED=\"on\"")
        );
        assert!(error(&[("RDSAUDIT_GREP", "(")]).starts_with("RDSAUDIT_GREP: invalid regular"));
        assert!(
            error(&[("RDSAUDIT_WRITE_ONLY", "true")])
                .contains("unknown variable RDSAUDIT_WRITE_ONLY")
        );
        assert!(
            error(&[("rdsaudit_writes_only", "true")])
                .contains("unknown variable rdsaudit_writes_only")
        );
        assert!(
            error(&[("RDSAUDIT_INCLUDE_FAILED", "true")])
                .contains("without RDSAUDIT_WRITES_ONLY=true")
        );
        assert!(
            config(&[("RDSAUDIT_INCLUDE_FAILED", "false")]).is_ok(),
            "false asks for nothing"
        );
    }

    /// Session 30 (adv2 F5): a variable whose prefix is misspelt was ignored, so
    /// `RDSADUIT_WRITES_ONLY=1` kept every event; Lambda's own variables are left alone.
    #[test]
    fn a_misspelt_prefix_is_an_init_error_naming_the_closest_variable() {
        for (name, closest) in [
            ("RDSADUIT_WRITES_ONLY", "RDSAUDIT_WRITES_ONLY"),
            ("RDS_AUDIT_USERS", "RDSAUDIT_USERS"),
            ("RDSAUDITS_GREP", "RDSAUDIT_GREP"),
            ("rdsaudt_databases", "RDSAUDIT_DATABASES"),
            ("RDSAUDIT-EXCLUDE-USERS", "RDSAUDIT_EXCLUDE_USERS"),
        ] {
            let e = error(&[("PATH", "/bin"), (name, "1")]);
            assert!(
                e.contains(&format!("variable {name} looks like a misspelt {closest}")),
                "{name}: {e}"
            );
        }
        let e = error(&[("RDSAUDIT_WRITE_ONLY", "true")]);
        assert!(e.contains("did you mean RDSAUDIT_WRITES_ONLY?"), "{e}");
        let lambda = [
            ("AWS_REGION", "us-east-1"),
            ("AWS_LAMBDA_FUNCTION_NAME", "rdsaudit"),
            ("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9001"),
            ("AWS_EXECUTION_ENV", "AWS_Lambda_provided.al2023"),
            ("_HANDLER", "bootstrap"),
            ("_X_AMZN_TRACE_ID", "Root=1"),
            ("LAMBDA_TASK_ROOT", "/var/task"),
            ("LAMBDA_RUNTIME_DIR", "/var/runtime"),
            ("LD_LIBRARY_PATH", "/lib64"),
            ("TZ", ":UTC"),
            ("LANG", "en_US.UTF-8"),
            ("PATH", "/bin"),
            ("RDS_HOSTNAME", "db1"),
            ("RDSAUDIT_USERS", "app"),
        ];
        assert!(config(&lambda).is_ok());
    }

    /// Session 31 (advC F4): a first word within two edits of `RDSAUDIT` took other products'
    /// variables for ours and stopped the function at init; one edit (a transposition is one)
    /// or a whole name within two edits of ours is still an error.
    #[test]
    fn other_products_audit_variables_are_not_taken_for_misspelt_ones() {
        for name in [
            "DBAUDIT_ENABLED",
            "AWSAUDIT_MODE",
            "MSAUDIT_LEVEL",
            "RDSAUDITOR_URL",
            "RDSAUDITOR",
            "PGAUDIT_LOG",
            "AUDIT_USERS",
        ] {
            let c = config(&[("PATH", "/bin"), (name, "1"), ("RDSAUDIT_USERS", "app")]);
            assert!(c.is_ok(), "{name}: {:?}", c.err());
        }
        for (name, closest) in [
            ("RDSADUIT_WRITES_ONLY", "RDSAUDIT_WRITES_ONLY"),
            ("RDS_AUDIT_USERS", "RDSAUDIT_USERS"),
            ("RDSAUDT_HOSTS", "RDSAUDIT_HOSTS"),
            ("RSDAUDIT_GREP", "RDSAUDIT_GREP"),
            ("RDSAUDITX_ENRICH", "RDSAUDIT_ENRICH"),
            ("RDSAUDITOR_USERS", "RDSAUDIT_USERS"),
        ] {
            let e = error(&[(name, "1")]);
            assert!(
                e.contains(&format!("variable {name} looks like a misspelt {closest}")),
                "{name}: {e}"
            );
        }
        let e = error(&[("RDSAUDIT_WRITE_ONLY", "true")]);
        assert!(
            e.contains("unknown variable RDSAUDIT_WRITE_ONLY (did you mean RDSAUDIT_WRITES_ONLY?)"),
            "{e}"
        );
    }

    /// Session 30 (adv2 F7): `RDSAUDIT_USERS=","` read as no user list, i.e. every user.
    #[test]
    fn an_empty_list_item_is_an_init_error() {
        for value in [",", "app,", ",app", "app,,web", "app, ,web", " , "] {
            let e = error(&[("RDSAUDIT_USERS", value)]);
            assert!(
                e.starts_with(&format!("RDSAUDIT_USERS={:?}: an empty item", value.trim())),
                "{value:?}: {e}"
            );
        }
        for name in [
            "RDSAUDIT_OPERATIONS",
            "RDSAUDIT_DATABASES",
            "RDSAUDIT_EXCLUDE_USERS",
            "RDSAUDIT_HOSTS",
            "RDSAUDIT_RETCODES",
            "RDSAUDIT_TABLES",
        ] {
            assert!(error(&[(name, "x,")]).starts_with(name), "{name}");
        }
        // An escaped comma is part of a name, and '' names the empty name.
        let c = config(&[("RDSAUDIT_USERS", "we\\,ird, ''")]).unwrap();
        let line = |user: &str| {
            format!("20240323 13:36:09,h,{user},l,4,6,QUERY,shop,'SELECT 1',0").into_bytes()
        };
        let keep = |user: &str| {
            c.filter
                .matches(&rdsaudit::parse_line(&line(user)).unwrap())
        };
        assert!(keep("we,ird") && keep("") && !keep("app"));
        assert!(
            config(&[("RDSAUDIT_USERS", "  ")]).is_ok(),
            "blank is unset"
        );
    }

    /// Session 30 (adv2 F6), session 31 (advC F5): filters that together keep no event are
    /// an init error naming the fewest variables enough for it (`SINCE` after `UNTIL` passed
    /// init), and only those (`WRITES_ONLY` with `OPERATIONS=READ` was refused though the
    /// filter keeps an event for it: the init error stopped a working function).
    #[test]
    fn only_filters_that_provably_keep_nothing_are_an_init_error() {
        type Vars<'a> = &'a [(&'a str, &'a str)];
        let refused: [(Vars<'_>, &str); 6] = [
            (
                &[
                    ("RDSAUDIT_FAILED_LOGINS", "true"),
                    ("RDSAUDIT_OPERATIONS", "QUERY,read"),
                ],
                "RDSAUDIT_OPERATIONS and RDSAUDIT_FAILED_LOGINS",
            ),
            (
                &[("RDSAUDIT_SINCE", "1h"), ("RDSAUDIT_UNTIL", "2h")],
                "RDSAUDIT_SINCE and RDSAUDIT_UNTIL",
            ),
            (
                &[
                    ("RDSAUDIT_SINCE", "2024-03-23T13:00:00Z"),
                    ("RDSAUDIT_UNTIL", "2024-03-23T15:00:00+02:00"),
                    ("RDSAUDIT_USERS", "app"),
                ],
                "RDSAUDIT_SINCE and RDSAUDIT_UNTIL",
            ),
            (
                &[
                    ("RDSAUDIT_FAILED_LOGINS", "true"),
                    ("RDSAUDIT_OPERATIONS", "CONNECT,changeuser"),
                    ("RDSAUDIT_RETCODES", "0"),
                    ("RDSAUDIT_DATABASES", "shop"),
                ],
                "RDSAUDIT_OPERATIONS, RDSAUDIT_RETCODES and RDSAUDIT_FAILED_LOGINS",
            ),
            (
                &[
                    ("RDSAUDIT_FAILED_LOGINS", "true"),
                    ("RDSAUDIT_OPERATIONS", "QUERY"),
                    ("RDSAUDIT_WRITES_ONLY", "true"),
                    ("RDSAUDIT_SINCE", "1h"),
                ],
                "RDSAUDIT_OPERATIONS and RDSAUDIT_FAILED_LOGINS",
            ),
            (
                &[
                    ("RDSAUDIT_RETCODES", "1045"),
                    ("RDSAUDIT_OPERATIONS", "CONNECT"),
                    ("RDSAUDIT_UNTIL", "1970-01-01T00:00:00Z"),
                    ("RDSAUDIT_SINCE", "2024-03-23"),
                ],
                "RDSAUDIT_SINCE and RDSAUDIT_UNTIL",
            ),
        ];
        for (vars, named) in refused {
            let e = error(vars);
            assert!(
                e.starts_with(&format!("{named} together keep no event")),
                "{vars:?}: {e}"
            );
        }
        // Each accepted one keeps an event: an ambiguous one, whose readings pass the
        // selections (any one reading the field ones, any one the semantic ones), never
        // dropped by an exclusion.
        let accepted: [(Vars<'_>, &[u8]); 5] = [
            // Session 31's amb.log: a DROP whose text forges a READ.
            (
                &[
                    ("RDSAUDIT_WRITES_ONLY", "true"),
                    ("RDSAUDIT_OPERATIONS", "read"),
                ],
                br"1711198800000000,srv,mallory,10.0.0.1,1,2,QUERY,shop,'DROP TABLE users /* \',h,1,2,READ,d,t */',0",
            ),
            // A login whose user name forges a WRITE.
            (
                &[
                    ("RDSAUDIT_WRITES_ONLY", "true"),
                    ("RDSAUDIT_OPERATIONS", "CONNECT,DISCONNECT"),
                ],
                b"1711198800000000,srv,x,h,1,2,WRITE,d,t,10.0.0.1,5,0,CONNECT,db,,0",
            ),
            // ...a FAILED_CONNECT and a WRITE.
            (
                &[
                    ("RDSAUDIT_WRITES_ONLY", "true"),
                    ("RDSAUDIT_FAILED_LOGINS", "true"),
                ],
                b"1711198800000000,srv,x,h,1,2,FAILED_CONNECT,d,h,1,2,WRITE,d,t,10.0.0.1,5,0,CONNECT,db,,0",
            ),
            (
                &[
                    ("RDSAUDIT_WRITES_ONLY", "true"),
                    ("RDSAUDIT_INCLUDE_FAILED", "true"),
                    ("RDSAUDIT_FAILED_LOGINS", "true"),
                    ("RDSAUDIT_RETCODES", "1045"),
                ],
                b"1711198800000000,srv,x,h,1,2,WRITE,d,t,10.0.0.1,5,0,FAILED_CONNECT,db,,1045",
            ),
            // User a's own query, whose text forges a READ.
            (
                &[("RDSAUDIT_USERS", "a"), ("RDSAUDIT_EXCLUDE_USERS", "a")],
                br"1711198800000000,srv,a,10.0.0.1,1,2,QUERY,shop,'SELECT 1 /* \',h,1,2,READ,d,t */',0",
            ),
        ];
        for (vars, line) in accepted {
            let c = config(vars).unwrap_or_else(|e| panic!("{vars:?}: {e}"));
            let e = rdsaudit::parse_line(line).unwrap();
            assert!(e.ambiguity.is_ambiguous(), "{vars:?}");
            assert!(c.filter.matches(&e), "{vars:?}");
        }
        // Not proven to keep nothing (a reading's return code may differ from another's),
        // so not refused; and what every filter accepts alone.
        for vars in [
            &[
                ("RDSAUDIT_WRITES_ONLY", "true"),
                ("RDSAUDIT_RETCODES", "1045"),
            ][..],
            &[
                ("RDSAUDIT_FAILED_LOGINS", "true"),
                ("RDSAUDIT_OPERATIONS", "CONNECT"),
                ("RDSAUDIT_RETCODES", "0,1045"),
            ],
            &[
                ("RDSAUDIT_FAILED_LOGINS", "true"),
                ("RDSAUDIT_OPERATIONS", "FAILED_CONNECT"),
                ("RDSAUDIT_RETCODES", "0"),
            ],
            &[("RDSAUDIT_SINCE", "2h"), ("RDSAUDIT_UNTIL", "1h")],
            &[("RDSAUDIT_UNTIL", "1970-01-01T00:00:00Z")],
            &[("RDSAUDIT_FAILED_LOGINS", "true")],
        ] {
            assert!(config(vars).is_ok(), "{vars:?}");
        }
    }
}
