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
//! | `RDSAUDIT_TABLES` | comma-separated tables (`orders`, `shop.orders`) | all |
//! | `RDSAUDIT_GREP` | a regular expression searched in the unescaped object | none |
//! | `RDSAUDIT_ON_MALFORMED` | `quarantine` or `fail` | `quarantine` |
//! | `RDSAUDIT_THREADS` | worker threads for large batches (at most 64) | the vCPUs Lambda gives |
//! | `RDSAUDIT_MAX_RECORD_BYTES` | decompressed bytes allowed per record | 16 MiB |
//!
//! Booleans are `true`/`false` (also `1`/`0`, `yes`/`no`). In lists, `\,` is a comma inside a
//! value (`we\,ird`) and `\\` a backslash ([`rdsaudit::filter::split_list`]).
//!
//! Any other `RDSAUDIT_*` variable is an error, so a typo (`RDSAUDIT_WRITE_ONLY`) stops the
//! function at init instead of silently keeping every event.

use anyhow::{Context as _, anyhow, bail};
use rdsaudit::filter::{Filter, FilterSpec, split_list};
use rdsaudit_sql::filter::{EventFilter, SemanticSpec};

/// What to do with a record that cannot be decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnMalformed {
    /// Log it (reason, sequence number, capped payload and its SHA-256), count it, go on.
    Quarantine,
    /// Report it in `batchItemFailures`, so Lambda retries from it.
    Fail,
}

/// A checked configuration.
#[derive(Debug)]
pub struct Config {
    pub filter: EventFilter,
    pub on_malformed: OnMalformed,
    pub threads: usize,
    pub max_record_bytes: usize,
}

/// Large enough for any CloudWatch Logs subscription payload (a Kinesis record holds at most
/// 1 MiB of gzip), small enough that a gzip bomb cannot exhaust a 128 MB function.
pub const DEFAULT_MAX_RECORD_BYTES: usize = 16 << 20;

/// Lambda gives at most 6 vCPUs; more threads than this only waste memory.
const MAX_THREADS: usize = 64;

const PREFIX: &str = "RDSAUDIT_";
const KNOWN: [&str; 16] = [
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
    "RDSAUDIT_GREP",
    "RDSAUDIT_ON_MALFORMED",
    "RDSAUDIT_THREADS",
    "RDSAUDIT_MAX_RECORD_BYTES",
];

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> anyhow::Result<Self> {
        let mut vars = Vec::new();
        for (key, value) in std::env::vars_os() {
            let Some(key) = key.to_str().filter(|k| k.starts_with(PREFIX)) else {
                continue;
            };
            let value = value
                .into_string()
                .map_err(|v| anyhow!("{key}={v:?}: not valid UTF-8"))?;
            vars.push((key.to_owned(), value));
        }
        Self::from_vars(vars)
    }

    /// Builds a configuration from `(name, value)` pairs; names without the `RDSAUDIT_`
    /// prefix are ignored.
    pub fn from_vars(vars: impl IntoIterator<Item = (String, String)>) -> anyhow::Result<Self> {
        let vars: Vec<(String, String)> = vars
            .into_iter()
            .filter(|(k, _)| k.starts_with(PREFIX))
            .collect();
        if let Some((unknown, _)) = vars.iter().find(|(k, _)| !KNOWN.contains(&k.as_str())) {
            bail!(
                "unknown variable {unknown}: expected one of {}",
                KNOWN.join(", ")
            );
        }
        let get = |name: &str| {
            vars.iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.trim())
                .filter(|v| !v.is_empty())
        };
        let flag = |name: &str| get(name).map_or(Ok(false), |v| boolean(name, v));
        let spec = FilterSpec {
            operations: list(get("RDSAUDIT_OPERATIONS")),
            databases: list(get("RDSAUDIT_DATABASES")),
            users: list(get("RDSAUDIT_USERS")),
            exclude_users: list(get("RDSAUDIT_EXCLUDE_USERS")),
            hosts: list(get("RDSAUDIT_HOSTS")),
            retcodes: list(get("RDSAUDIT_RETCODES"))
                .iter()
                .map(|r| {
                    r.parse()
                        .map_err(|_| anyhow!("RDSAUDIT_RETCODES: {r:?} is not an integer"))
                })
                .collect::<anyhow::Result<_>>()?,
            since: get("RDSAUDIT_SINCE").map(str::to_owned),
            until: get("RDSAUDIT_UNTIL").map(str::to_owned),
            failed_logins: flag("RDSAUDIT_FAILED_LOGINS")?,
            grep: get("RDSAUDIT_GREP").map(str::to_owned),
        };
        let fields = Filter::new(&spec)
            .context("RDSAUDIT_OPERATIONS, RDSAUDIT_SINCE, RDSAUDIT_UNTIL or RDSAUDIT_GREP")?;
        let semantic = SemanticSpec {
            writes: flag("RDSAUDIT_WRITES_ONLY")?,
            include_failed: flag("RDSAUDIT_INCLUDE_FAILED")?,
            tables: list(get("RDSAUDIT_TABLES")),
        };
        let filter = EventFilter::new(fields, semantic);
        let on_malformed = match get("RDSAUDIT_ON_MALFORMED") {
            None => OnMalformed::Quarantine,
            Some(v) if v.eq_ignore_ascii_case("quarantine") => OnMalformed::Quarantine,
            Some(v) if v.eq_ignore_ascii_case("fail") => OnMalformed::Fail,
            Some(v) => bail!("RDSAUDIT_ON_MALFORMED={v:?}: expected quarantine or fail"),
        };
        let vcpus = std::thread::available_parallelism().map_or(1, usize::from);
        Ok(Config {
            filter,
            on_malformed,
            threads: positive("RDSAUDIT_THREADS", get("RDSAUDIT_THREADS"), vcpus)?.min(MAX_THREADS),
            max_record_bytes: positive(
                "RDSAUDIT_MAX_RECORD_BYTES",
                get("RDSAUDIT_MAX_RECORD_BYTES"),
                DEFAULT_MAX_RECORD_BYTES,
            )?,
        })
    }
}

/// `"a, b,,c\\,d"` -> `["a", "b", "c,d"]`.
fn list(value: Option<&str>) -> Vec<String> {
    split_list(value.unwrap_or_default())
}

fn boolean(name: &str, value: &str) -> anyhow::Result<bool> {
    match value.to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" => Ok(true),
        "false" | "0" | "no" => Ok(false),
        _ => bail!("{name}={value:?}: expected true or false"),
    }
}

fn positive(name: &str, value: Option<&str>, default: usize) -> anyhow::Result<usize> {
    let Some(v) = value else { return Ok(default) };
    match v.parse::<usize>() {
        Ok(n) if n > 0 => Ok(n),
        _ => bail!("{name}={v:?}: expected a positive integer"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(vars: &[(&str, &str)]) -> anyhow::Result<Config> {
        Config::from_vars(vars.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())))
    }

    fn error(vars: &[(&str, &str)]) -> String {
        format!("{:#}", config(vars).expect_err("should be rejected"))
    }

    #[test]
    fn defaults_keep_everything_and_quarantine() {
        let c = config(&[("PATH", "/bin"), ("RDSAUDIT_USERS", "  ")]).unwrap();
        assert_eq!(c.on_malformed, OnMalformed::Quarantine);
        assert_eq!(c.max_record_bytes, DEFAULT_MAX_RECORD_BYTES);
        assert!(c.threads >= 1);
        let event = rdsaudit::audit::scanner::parse_line(
            b"20240323 13:36:09,h,app,l,4,6,QUERY,shop,'SELECT 1',0",
        )
        .unwrap();
        assert!(c.filter.matches(&event));
    }

    #[test]
    fn filters_follow_the_variables() {
        let c = config(&[
            ("RDSAUDIT_OPERATIONS", "query, connect"),
            ("RDSAUDIT_EXCLUDE_USERS", "rdsadmin,,we\\,ird"),
            ("RDSAUDIT_WRITES_ONLY", "YES"),
            ("RDSAUDIT_ON_MALFORMED", "Fail"),
            ("RDSAUDIT_THREADS", "3"),
        ])
        .unwrap();
        assert_eq!((c.on_malformed, c.threads), (OnMalformed::Fail, 3));
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
        assert!(
            error(&[("RDSAUDIT_ON_MALFORMED", "drop")]).contains("expected quarantine or fail")
        );
        assert!(error(&[("RDSAUDIT_THREADS", "0")]).contains("RDSAUDIT_THREADS"));
        assert!(error(&[("RDSAUDIT_MAX_RECORD_BYTES", "1e6")]).contains("positive integer"));
        assert!(error(&[("RDSAUDIT_OPERATIONS", "CONECT")]).contains("unknown operation"));
        assert!(error(&[("RDSAUDIT_RETCODES", "0,x")]).contains("RDSAUDIT_RETCODES"));
        assert!(error(&[("RDSAUDIT_SINCE", "yesterday")]).contains("invalid time"));
        assert!(
            error(&[("RDSAUDIT_INCLUDE_FAILED", "on")]).contains("RDSAUDIT_INCLUDE_FAILED=\"on\"")
        );
        assert!(error(&[("RDSAUDIT_GREP", "(")]).contains("invalid regular expression"));
        assert!(
            error(&[("RDSAUDIT_WRITE_ONLY", "true")])
                .contains("unknown variable RDSAUDIT_WRITE_ONLY")
        );
    }
}
