//! Event filters on fields, shared by the CLI flags and the Lambda's environment variables.
//!
//! Predicates that need the meaning of the SQL (`--writes`, `--table`) are not here: they
//! live in the `rdsaudit-sql` crate, whose `EventFilter` wraps this one, so this crate keeps
//! only pipeline dependencies.
//!
//! ```
//! use rdsaudit::filter::{Filter, FilterSpec, split_list};
//!
//! // `--user 'app,we\,ird' --retcode 0`: `we,ird` is one user name.
//! let users = split_list(r"app,we\,ird");
//! assert_eq!(users, ["app", "we,ird"]);
//! let filter = Filter::new(&FilterSpec { users, retcodes: vec![0], ..FilterSpec::default() })?;
//! let app = rdsaudit::parse_line(b"20240323 13:36:09,h,app,10.0.0.5,4,6,QUERY,shop,'SELECT 1',0")?;
//! let denied = rdsaudit::parse_line(b"20240323 13:36:09,h,app,10.0.0.5,4,7,QUERY,shop,'DELETE FROM t',1142")?;
//! assert!(filter.matches(&app));
//! assert!(!filter.matches(&denied));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use crate::audit::event::{AuditEvent, Operation};
use crate::audit::timestamp::{days_from_civil, days_in_month};

/// What to keep, as written by a user (flags or environment variables). Empty lists keep
/// everything; names compare exactly, byte for byte with the name as the server wrote it,
/// operations case-insensitively. A name that is not valid UTF-8 equals no value (values
/// are text): a selection (`databases`, `users`, `hosts`) never keeps it and
/// `exclude_users` never drops it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FilterSpec {
    /// Operation names (`QUERY`, `CONNECT`, `WRITE`...); an unknown name is an error.
    pub operations: Vec<String>,
    /// Database names.
    pub databases: Vec<String>,
    /// User names to keep.
    pub users: Vec<String>,
    /// User names to drop (`rdsadmin`).
    pub exclude_users: Vec<String>,
    /// Client hosts; `10.0.0.5` also matches `10.0.0.5:53210` (MariaDB 12 writes the port).
    pub hosts: Vec<String>,
    /// Return codes (`0`, `1045`); events without one (upstream TABLE events) never match.
    pub retcodes: Vec<i64>,
    /// Keep events at or after this time: RFC 3339 (`2024-03-23T13:00:00Z`,
    /// `2024-03-23T15:00:00+02:00`, `2024-03-23`) or an age (`90s`, `15m`, `1h`, `2d`, `1w`).
    pub since: Option<String>,
    /// Keep events before this time (same forms as `since`).
    pub until: Option<String>,
    /// Only failed logins: `FAILED_CONNECT`, or `CONNECT`/`CHANGEUSER` with a non-zero
    /// return code.
    pub failed_logins: bool,
    /// A regular expression searched in the unescaped object.
    pub grep: Option<String>,
}

/// Why a [`FilterSpec`] was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FilterError {
    /// Not one of the operations the plugins log.
    #[error("unknown operation {0:?}: expected one of {KNOWN_OPERATIONS}")]
    Operation(String),
    /// The `grep` pattern does not compile.
    #[error("invalid regular expression {pattern:?}: {message}")]
    Regex {
        /// The pattern as given.
        pattern: String,
        /// The regex crate's explanation.
        message: String,
    },
    /// A `since`/`until` value that is neither RFC 3339 nor an age.
    #[error(
        "invalid time {0:?}: expected RFC 3339 (2024-03-23T13:00:00Z, 2024-03-23T15:00:00+02:00, 2024-03-23: a day that exists in its month, an offset from -23:59 to +23:59) or an age (90s, 15m, 1h, 2d, 1w)"
    )]
    Time(String),
}

/// Every operation name the plugins write (see `shared/formats.md`).
pub const KNOWN_OPERATIONS: &str = "CONNECT, DISCONNECT, FAILED_CONNECT, CHANGEUSER, PROXY_CONNECT, QUERY, READ, WRITE, CREATE, ALTER, DROP, RENAME";

/// A compiled [`FilterSpec`].
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Upper-case names, each a known operation.
    operations: Vec<String>,
    databases: Vec<String>,
    users: Vec<String>,
    exclude_users: Vec<String>,
    hosts: Vec<String>,
    retcodes: Vec<i64>,
    since_us: Option<i64>,
    until_us: Option<i64>,
    failed_logins: bool,
    grep: Option<regex::bytes::Regex>,
}

impl Filter {
    /// Compiles `spec`; ages in `since`/`until` count back from the system clock.
    pub fn new(spec: &FilterSpec) -> Result<Self, FilterError> {
        let now_us = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX));
        Self::new_at(spec, now_us)
    }

    /// Compiles `spec` with ages counted back from `now_us` (epoch microseconds).
    pub fn new_at(spec: &FilterSpec, now_us: i64) -> Result<Self, FilterError> {
        let operations = spec
            .operations
            .iter()
            .map(|op| {
                let upper = op.trim().to_ascii_uppercase();
                match Operation::from_token(&upper) {
                    Operation::Other(_) => Err(FilterError::Operation(op.clone())),
                    _ => Ok(upper),
                }
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
        let time = |t: &Option<String>| t.as_deref().map(|t| parse_time(t, now_us)).transpose();
        Ok(Filter {
            operations,
            databases: spec.databases.clone(),
            users: spec.users.clone(),
            exclude_users: spec.exclude_users.clone(),
            hosts: spec.hosts.clone(),
            retcodes: spec.retcodes.clone(),
            since_us: time(&spec.since)?,
            until_us: time(&spec.until)?,
            failed_logins: spec.failed_logins,
            grep,
        })
    }

    /// A filter that keeps everything.
    pub fn all() -> Self {
        Filter::default()
    }

    /// Whether `e` passes every condition.
    ///
    /// An ambiguous event (see [`crate::audit::event::Ambiguity`]) is judged conservatively:
    /// an exclusion never drops it, and a selection keeps it when any of its readings passes
    /// (or when some readings were left unlisted). So a name forging another user, operation
    /// or statement can neither hide the event nor slip it past a selection. An unlisted
    /// reading passes `since`/`until` too: it need not have the line's time (a piece after a
    /// raw line break in a name starts with its own timestamp).
    pub fn matches(&self, e: &AuditEvent<'_>) -> bool {
        if self.is_open() {
            return true;
        }
        if !e.ambiguity.is_ambiguous() {
            return self.selects(e) && !self.excludes(e);
        }
        self.selects(e)
            || e.ambiguity.omitted() > 0
            || e.ambiguity.alternatives().iter().any(|r| self.selects(r))
    }

    /// Whether `e`'s session passes the conditions a session keeps for its life (`users`,
    /// `exclude_users`, `hosts`: a `CHANGEUSER` starts the session's state again), judged as
    /// [`Filter::matches`] judges an ambiguous event. What a session's statement changes in
    /// that session alone matters to no event of another session.
    pub fn matches_session(&self, e: &AuditEvent<'_>) -> bool {
        if !e.ambiguity.is_ambiguous() {
            return self.selects_session(e) && !self.excludes(e);
        }
        self.selects_session(e)
            || e.ambiguity.omitted() > 0
            || e.ambiguity
                .alternatives()
                .iter()
                .any(|r| self.selects_session(r))
    }

    /// No condition is set, so every event passes: checked first (and by
    /// `rdsaudit_sql::EventFilter`, once), since a run without filters paid ~150 instructions
    /// an event (3% of a plain log's run) to find each list empty. Every field is named, so a
    /// new condition cannot be left out of this check.
    pub fn is_open(&self) -> bool {
        let Filter {
            operations,
            databases,
            users,
            exclude_users,
            hosts,
            retcodes,
            since_us,
            until_us,
            failed_logins,
            grep,
        } = self;
        operations.is_empty()
            && databases.is_empty()
            && users.is_empty()
            && exclude_users.is_empty()
            && hosts.is_empty()
            && retcodes.is_empty()
            && since_us.is_none()
            && until_us.is_none()
            && !failed_logins
            && grep.is_none()
    }

    /// The conditions that select events.
    fn selects(&self, e: &AuditEvent<'_>) -> bool {
        // Names compare by their bytes as written: a name that is not UTF-8 equals no value
        // (values are text), where its lossy text would have let one value (`\u{FFFD}`)
        // select every such name.
        let listed = |list: &[String], value: &[u8]| {
            list.is_empty() || list.iter().any(|v| v.as_bytes() == value)
        };
        let t = e.timestamp.epoch_us;
        listed(&self.operations, e.operation.as_str().as_bytes())
            && listed(&self.databases, e.database.as_bytes())
            && self.selects_session(e)
            && (self.retcodes.is_empty() || e.retcode.is_some_and(|r| self.retcodes.contains(&r)))
            && self.since_us.is_none_or(|s| t >= s)
            && self.until_us.is_none_or(|u| t < u)
            && (!self.failed_logins || is_failed_login(e))
            && self
                .grep
                .as_ref()
                .is_none_or(|re| re.is_match(&e.object.unescaped()))
    }

    /// The selections a session keeps for its life: user and host. Names compare by their
    /// bytes (see [`Filter::selects`]).
    fn selects_session(&self, e: &AuditEvent<'_>) -> bool {
        (self.users.is_empty()
            || self
                .users
                .iter()
                .any(|u| u.as_bytes() == e.username.as_bytes()))
            && (self.hosts.is_empty()
                || self
                    .hosts
                    .iter()
                    .any(|h| host_matches(h, e.host.as_bytes())))
    }

    /// The conditions that drop events.
    fn excludes(&self, e: &AuditEvent<'_>) -> bool {
        self.exclude_users
            .iter()
            .any(|u| u.as_bytes() == e.username.as_bytes())
    }
}

/// `host` exactly, or `host:port` (its bytes as written).
fn host_matches(wanted: &str, host: &[u8]) -> bool {
    host == wanted.as_bytes()
        || host.strip_prefix(wanted.as_bytes()).is_some_and(|rest| {
            rest.strip_prefix(b":")
                .is_some_and(|p| !p.is_empty() && p.iter().all(u8::is_ascii_digit))
        })
}

/// A failed login: `FAILED_CONNECT` (MariaDB, RDS), or a `CONNECT`/`CHANGEUSER` whose return
/// code is not 0.
pub fn is_failed_login(e: &AuditEvent<'_>) -> bool {
    match e.operation {
        Operation::FailedConnect => true,
        Operation::Connect | Operation::ChangeUser => e.retcode.is_some_and(|r| r != 0),
        _ => false,
    }
}

/// Splits a list value at commas. `\,` is a comma inside a value and `\\` a backslash, so
/// `we\,ird,bob` is `we,ird` and `bob`; values are trimmed and empty ones dropped, so `''`
/// (two single quotes) stands for the empty name: MySQL's anonymous account, or no database
/// selected (`rdsadmin,''`). (Flags may also be repeated, one value each.)
pub fn split_list(value: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(next @ (',' | '\\')) => current.push(next),
                Some(other) => {
                    current.push('\\');
                    current.push(other);
                }
                None => current.push('\\'),
            },
            ',' => out.push(std::mem::take(&mut current)),
            c => current.push(c),
        }
    }
    out.push(current);
    out.into_iter()
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
        .map(|v| if v == EMPTY_NAME { String::new() } else { v })
        .collect()
}

/// How a list writes the empty name (a blank item is dropped: `a, b,` is a typo's `a,b`).
pub const EMPTY_NAME: &str = "''";

/// Epoch microseconds of `text`: RFC 3339 with `Z` or an offset (`T` or a space between date
/// and time; a date alone is its midnight UTC), or an age before `now_us` (`90s`, `15m`,
/// `1h`, `2d`, `1w`).
pub fn parse_time(text: &str, now_us: i64) -> Result<i64, FilterError> {
    let t = text.trim();
    age_us(t)
        .map(|age| now_us.saturating_sub(age))
        .or_else(|| rfc3339_us(t.as_bytes()))
        .ok_or_else(|| FilterError::Time(text.to_owned()))
}

fn age_us(t: &str) -> Option<i64> {
    let unit = t.chars().last()?;
    let seconds = match unit {
        's' => 1,
        'm' => 60,
        'h' => 3600,
        'd' => 86_400,
        'w' => 604_800,
        _ => return None,
    };
    let n: i64 = t.get(..t.len() - 1)?.parse().ok().filter(|n| *n >= 0)?;
    n.checked_mul(seconds)?.checked_mul(1_000_000)
}

fn digits(s: &[u8], range: std::ops::Range<usize>) -> Option<i64> {
    let part = s.get(range)?;
    if part.is_empty() || !part.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(part).ok()?.parse().ok()
}

fn rfc3339_us(s: &[u8]) -> Option<i64> {
    let (y, mo, d) = (digits(s, 0..4)?, digits(s, 5..7)?, digits(s, 8..10)?);
    let dashes = s.get(4) == Some(&b'-') && s.get(7) == Some(&b'-');
    // The day must exist in its month (2024-02-31 is refused, not read as 2024-03-02).
    let date_ok = dashes && (1..=12).contains(&mo) && (1..=days_in_month(y, mo)).contains(&d);
    if !date_ok {
        return None;
    }
    let midnight = days_from_civil(y, mo, d) * 86_400_000_000;
    if s.len() == 10 {
        return Some(midnight);
    }
    if !matches!(s.get(10), Some(b'T' | b't' | b' ')) || s.get(13) != Some(&b':') {
        return None;
    }
    let (h, mi) = (digits(s, 11..13)?, digits(s, 14..16)?);
    let (sec, mut rest) = match s.get(16) {
        Some(b':') => (digits(s, 17..19)?, s.get(19..)?),
        _ => (0, s.get(16..)?),
    };
    let mut micros = 0;
    if let Some(frac) = rest.strip_prefix(b".") {
        let n = frac.iter().take_while(|b| b.is_ascii_digit()).count();
        let kept = frac.get(..n.min(6))?;
        micros = digits(kept, 0..kept.len())? * 10i64.pow(6 - u32::try_from(kept.len()).ok()?);
        rest = frac.get(n..)?;
    }
    let offset_s = match rest {
        b"Z" | b"z" => 0,
        [sign @ (b'+' | b'-'), ..] if rest.len() == 6 && rest.get(3) == Some(&b':') => {
            // RFC 3339's time-numoffset: hours 00-23, minutes 00-59.
            let (oh, om) = (digits(rest, 1..3)?, digits(rest, 4..6)?);
            if oh > 23 || om > 59 {
                return None;
            }
            let off = oh * 3600 + om * 60;
            if *sign == b'+' { off } else { -off }
        }
        _ => return None,
    };
    if h > 23 || mi > 59 || sec > 60 {
        return None;
    }
    Some(midnight + ((h * 60 + mi) * 60 + sec - offset_s) * 1_000_000 + micros)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(s: &[u8]) -> AuditEvent<'_> {
        crate::audit::scanner::parse_line(s).unwrap()
    }

    #[test]
    fn unknown_operations_and_bad_specs_are_rejected() {
        let spec = |f: fn(&mut FilterSpec)| {
            let mut s = FilterSpec::default();
            f(&mut s);
            Filter::new(&s).err()
        };
        assert_eq!(
            spec(|s| s.operations = vec!["CONECT".into()]),
            Some(FilterError::Operation("CONECT".into()))
        );
        assert!(spec(|s| s.operations = vec!["failed_connect".into()]).is_none());
        assert!(matches!(
            spec(|s| s.grep = Some("(".into())),
            Some(FilterError::Regex { .. })
        ));
        assert!(matches!(
            spec(|s| s.since = Some("yesterday".into())),
            Some(FilterError::Time(_))
        ));
        assert!(matches!(
            spec(|s| s.until = Some("2024-13-01".into())),
            Some(FilterError::Time(_))
        ));
    }

    /// Adversarial review (since_feb30.log): `2024-02-31` was read as 2024-03-02 and an
    /// offset `+25:00` was taken.
    #[test]
    fn a_day_that_does_not_exist_or_an_offset_past_a_day_is_refused() {
        for bad in [
            "2024-02-31",
            "2024-02-30T00:00:00Z",
            "2023-02-29",
            "2024-04-31",
            "2024-03-01T00:00:00+25:00",
            "2024-03-01T00:00:00-24:00",
            "2024-03-01T00:00:00+01:60",
        ] {
            let err = parse_time(bad, 0).unwrap_err();
            assert_eq!(err, FilterError::Time(bad.to_owned()));
            let text = err.to_string();
            assert!(text.contains(&format!("{bad:?}")), "{text}");
            assert!(text.contains("a day that exists in its month"), "{text}");
        }
        for good in [
            "2024-02-29",
            "2000-02-29",
            "2024-01-31T00:00:00Z",
            "2024-03-01T00:00:00+23:59",
            "2024-03-01T00:00:00-23:59",
        ] {
            assert!(parse_time(good, 0).is_ok(), "{good}");
        }
        assert_eq!(
            parse_time("2024-03-01T01:30:00+01:30", 0),
            parse_time("2024-03-01", 0)
        );
    }

    #[test]
    fn lists_hosts_retcodes_and_grep() {
        let e = line(
            b"20240323 13:36:09,h,app,10.0.0.5:5321,4,5,QUERY,shop,'SELECT \\'needle\\'',1146",
        );
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
        assert!(spec(|s| s.hosts = vec!["10.0.0.5".into()]));
        assert!(!spec(|s| s.hosts = vec!["10.0.0.".into()]));
        assert!(spec(|s| s.retcodes = vec![0, 1146]));
        assert!(!spec(|s| s.retcodes = vec![0]));
        assert!(!spec(|s| s.failed_logins = true));
        assert!(spec(|s| s.grep = Some("'needle'".into())));
        assert!(!spec(|s| s.grep = Some("haystack".into())));
        assert!(Filter::all().matches(&e));
    }

    /// The shortcut for a filter without conditions takes no filter with one.
    #[test]
    fn only_a_filter_without_conditions_is_open() {
        assert!(Filter::all().is_open());
        let conditions: [fn(&mut FilterSpec); 10] = [
            |s| s.operations = vec!["QUERY".into()],
            |s| s.databases = vec![String::new()],
            |s| s.users = vec![String::new()],
            |s| s.exclude_users = vec![String::new()],
            |s| s.hosts = vec!["h".into()],
            |s| s.retcodes = vec![0],
            |s| s.since = Some("1h".into()),
            |s| s.until = Some("2024-03-23".into()),
            |s| s.failed_logins = true,
            |s| s.grep = Some(String::new()),
        ];
        for set in conditions {
            let mut spec = FilterSpec::default();
            set(&mut spec);
            assert!(!Filter::new_at(&spec, 0).unwrap().is_open(), "{spec:?}");
        }
    }

    #[test]
    fn failed_logins() {
        let f = Filter::new(&FilterSpec {
            failed_logins: true,
            ..FilterSpec::default()
        })
        .unwrap();
        assert!(f.matches(&line(
            b"20240323 13:36:09,h,bob,10.0.0.9,7,0,FAILED_CONNECT,,,1045"
        )));
        assert!(f.matches(&line(
            b"1653053459680124,i,bob,10.0.0.9,35,0,CONNECT,,,1045"
        )));
        assert!(!f.matches(&line(b"1653053459680124,i,bob,10.0.0.9,35,0,CONNECT,,,0")));
    }

    #[test]
    fn times() {
        let now = 1_711_200_968_000_000; // 2024-03-23T13:36:08Z
        assert_eq!(parse_time("2024-03-23T13:36:08Z", 0), Ok(now));
        assert_eq!(
            parse_time("2024-03-23 15:36:08.5+02:00", 0),
            Ok(now + 500_000)
        );
        assert_eq!(parse_time("2024-03-23T13:36Z", 0), Ok(now - 8_000_000));
        assert_eq!(parse_time("2024-03-23", 0), Ok(now - 48_968_000_000));
        assert_eq!(parse_time("1h", now), Ok(now - 3_600_000_000));
        assert_eq!(parse_time(" 90s ", now), Ok(now - 90_000_000));
        for bad in [
            "",
            "h",
            "-1h",
            "1y",
            "2024-03-23T13:36:08",
            "2024-03-23T25:00:00Z",
            "9999999999999999999d",
        ] {
            assert!(parse_time(bad, now).is_err(), "{bad}");
        }
        let spec = FilterSpec {
            since: Some("10s".into()),
            until: Some("2024-03-23T13:36:09Z".into()),
            ..FilterSpec::default()
        };
        let f = Filter::new_at(&spec, now + 5_000_000).unwrap();
        assert!(f.matches(&line(b"20240323 13:36:08,h,a,l,4,5,QUERY,,'SELECT 1',0")));
        assert!(!f.matches(&line(b"20240323 13:36:09,h,a,l,4,5,QUERY,,'SELECT 1',0")));
        assert!(!f.matches(&line(b"20240323 13:35:00,h,a,l,4,5,QUERY,,'SELECT 1',0")));
    }

    /// Names compare by their bytes: a user `\xff` is not selected by `\u{FFFD}` (its lossy
    /// text, which also a user `\xfe` has), and no value drops it; UTF-8 names match as
    /// before. Failed before: `--user \u{FFFD}` selected both users, and
    /// `--exclude-user \u{FFFD}` dropped both.
    #[test]
    fn names_that_are_not_utf8_compare_by_their_bytes() {
        let ff = line(b"20240323 13:36:08,h,\xff,10.0.0.1,5,0,FAILED_CONNECT,d\xfe,,1045");
        let app = line(b"20240323 13:36:08,h,app,10.0.0.1,5,0,FAILED_CONNECT,d,,1045");
        let filter = |f: fn(&mut FilterSpec)| {
            let mut s = FilterSpec::default();
            f(&mut s);
            let f = Filter::new(&s).unwrap();
            (f.matches(&ff), f.matches(&app))
        };
        assert_eq!(
            filter(|s| s.users = vec!["\u{FFFD}".into()]),
            (false, false)
        );
        assert_eq!(filter(|s| s.users = vec!["app".into()]), (false, true));
        assert_eq!(
            filter(|s| s.exclude_users = vec!["\u{FFFD}".into()]),
            (true, true)
        );
        assert_eq!(
            filter(|s| s.exclude_users = vec!["app".into()]),
            (true, false)
        );
        assert_eq!(
            filter(|s| s.databases = vec!["d\u{FFFD}".into()]),
            (false, false)
        );
        assert_eq!(filter(|s| s.databases = vec!["d".into()]), (false, true));
        assert_eq!(filter(|s| s.hosts = vec!["10.0.0.1".into()]), (true, true));
    }

    #[test]
    fn list_escapes() {
        assert_eq!(split_list(r"we\,ird, bob,,"), ["we,ird", "bob"]);
        assert_eq!(split_list(r"a\\,b\x"), [r"a\", r"b\x"]);
        assert_eq!(split_list(""), Vec::<String>::new());
        // Review 8 (F7): the anonymous account and "no database" can be named.
        assert_eq!(split_list("rdsadmin, ''"), ["rdsadmin", ""]);
        assert_eq!(split_list("''"), [""]);
        assert_eq!(split_list(r"'\,'"), ["','"]);
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
        assert!(filter(|s| s.grep = Some("DELETE".into())));
        assert!(!filter(|s| s.users = vec!["nobody".into()]));
        assert!(!filter(|s| {
            s.users = vec!["rdsadmin".into()];
            s.databases = vec!["nothing".into()];
        }));
    }
}
