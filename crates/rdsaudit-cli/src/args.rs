//! Command-line arguments (clap derive). The help text is the user manual: keep it accurate.

use std::path::PathBuf;

use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};
use clap::{Args, Parser, Subcommand, ValueEnum};
use rdsaudit::input::InputKind;
use rdsaudit::sink::Format;

const EXIT_CODES: &str = "\
Exit status:
  0  every input record and line was read (or stdout was closed early: `| head`)
  1  some input failed: a record or line could not be read (good ones are still emitted)
  2  usage error, or an input file could not be opened or read

Errors go to stderr, one line each, naming the file and the record (1-based) or line.
The accounting summary (records and audit lines in = parsed + skipped + failed) follows
on stderr unless --quiet.";

/// Turn Aurora MySQL, RDS for MySQL and RDS for MariaDB audit logs into structured events.
///
/// Reads audit logs however they were obtained: a downloaded RDS log file (plain or
/// gzip), a CloudWatch Logs subscription payload (gzip or JSON), or a Lambda event captured
/// from Kinesis or from a direct CloudWatch Logs subscription.
#[derive(Debug, Parser)]
#[command(name = "rdsaudit", version, after_help = EXIT_CODES)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// Worker threads for large inputs [default: all cores]
    #[arg(long, global = true, value_name = "N")]
    pub threads: Option<usize>,
    /// No accounting summary and no progress bar on stderr (errors are still shown). The bar
    /// is drawn for an input of 4 MiB or more when stderr is a terminal; `parse` draws none
    /// when its stdout is a terminal too (the events would be mixed with it) or with --merge
    #[arg(long, short, global = true)]
    pub quiet: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print every audit event as NDJSON, CSV, TSV or SQL
    #[command(after_help = PARSE_HELP)]
    Parse(ParseArgs),
    /// What happened: time range and events over time, counts by operation, user, database
    /// and host, writes per table, top fingerprints, failed logins, failures by return code,
    /// every DDL and DCL statement, truncated statements
    Stats(StatsArgs),
    /// Generate a deterministic synthetic corpus (for tests and benchmarks)
    Gen(GenArgs),
    /// Wrap audit lines the way AWS delivers them: a Lambda Kinesis or awslogs event, a gzip
    /// CloudWatch payload or a Firehose object (test events for the Lambda)
    Encode(crate::encode::EncodeArgs),
    /// Show the CloudWatch Logs payload JSON inside any event, payload or object
    Decode(crate::decode::DecodeArgs),
    /// Decode a Lambda quarantine again (S3 objects, SQS messages, function-log lines)
    #[command(after_help = REPLAY_HELP)]
    Replay(ReplayArgs),
}

const REPLAY_HELP: &str = "\
Reads the entries the Lambda wrote for records it could not decode, log events that were
not audit lines and events a destination could not take (RDSAUDIT_QUARANTINE), joins the
parts of large entries, and decodes them again: events as NDJSON on stdout, what still fails
on stderr, with a count of the other lines skipped (the function log's own lines). Exit
status 1 when some entry still fails, or a file holds no entry at all (not a quarantine: an
`rdsaudit parse --rejects` file is read again with `rdsaudit parse`).

Fetching a quarantine with the AWS CLI:
  aws s3 cp --recursive s3://BUCKET/PREFIX/ q/ && find q -name '*.json' -exec rdsaudit replay {} +
  aws sqs receive-message --queue-url URL --max-number-of-messages 10 > m.json && rdsaudit replay m.json
  aws logs filter-log-events --log-group-name /aws/lambda/FUNCTION \\
      --filter-pattern '{ $.kind = \"quarantine*\" }' > log.json && rdsaudit replay log.json";

#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// Files holding quarantine entries ('-' reads stdin)
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// List the entries (id, kind, reason, sequence number, size) instead of decoding them
    #[arg(long)]
    pub list: bool,
}

const PARSE_HELP: &str = "\
NDJSON keys (fixed): timestamp (RFC 3339 UTC, microseconds), timestamp_us, dialect
(aurora|mariadb|rds_mysql), serverhost, username, host, connection_id, query_id, operation,
database, object (unescaped text), retcode (number or null), extra (array); when the object is
not valid UTF-8, object_base64 holds its exact bytes, and so do serverhost_base64,
username_base64, host_base64 and database_base64 (each right after its name, whose text is
then lossy) for a name that is not valid UTF-8; when a raw name lets the line read
more than one way (the event may be forged): ambiguous (true), readings (how many),
alternatives (the other readings) and alternatives_omitted (how many are not listed, when
some are); when known: log_group, log_stream,
event_id, cloudwatch_timestamp_ms, sequence_number; file (the input as named, not for stdin)
and line (1-based, per file, for text inputs; from 1 again when a followed file is rotated,
file staying the path followed).

With --enrich (NDJSON only), every object also has: writes (bool: the event can change data,
schema, privileges or server state such as binary logs and plugins; says nothing about
success, see retcode), statement_class (select, dml, ddl, dcl, tcl, session, admin, call,
other; null for non-QUERY events), tables (array of db.table; a bare name gets the current
database: the event's, or the last USE before it in the text; from the server's TABLE events
for the same connection and query id when present; a part holding `.` or a back quote is
back-quoted, a back quote doubled: `evil.`shop.orders`` is the table shop.orders of evil),
written_tables (those of tables the statement may change: the server's tables other than
READ, else the target of INSERT ... SELECT, UPDATE, a one-table DELETE, CREATE TABLE ...
SELECT; every table named when its head does not tell), fingerprint (pt-fingerprint's normal
form, the grouping of pt-query-digest; null for non-QUERY events), digest (pt-query-digest's
Query ID: MD5 of the fingerprint, 32 hex digits), truncated (bool: the object reaches the
plugin's query log limit, 1024 bytes unless --query-log-limit says otherwise) and version_dependent (bool: a versioned comment that may or
may not have run decides what the statement does; writes is then true if either reading
writes) and mode_dependent (bool: the session's quoting sql_mode, not in the log, decides
the tables read from the text: those of an ANSI_QUOTES or NO_BACKSLASH_ESCAPES reading are
listed too, and in a default session they may be a string's text) and partial (bool: only the
statement's first 65,536 tokens, or the first 64 tables, were read, or the query log limit cut
it (truncated: what stood past the cut is unknown); writes is then true for a statement cut
at 65,536 tokens, and --table keeps the event).

CSV and TSV have a header row and the same columns in the same order (alternatives
excepted: NDJSON only), but for the names' four *_base64 columns, which come last; a
missing value is an empty field (ambiguous, readings and
alternatives_omitted are empty for an event that reads one way), and extra is written as a
JSON array. A cell starting with =, +, -, @, tab or CR
is written with a ' in front (OWASP's CSV injection rule: user names and statements are
attacker text), and so is one starting with ' ('=cmd is written ''=cmd): drop one leading '
from every cell that has one to get the value back (*_base64 cells too: base64 may start
with +, drop the ' before decoding).
--csv-raw writes cells as they are. CSV is quoted as RFC 4180; TSV is never quoted:
one row per line, one field per tab, a backslash, tab, LF, CR and NUL written \\\\, \\t, \\n, \\r,
\\0 (as mysql --batch and PostgreSQL's text format do).

SQL prints one QUERY statement per line, ending in `;`, meaning what it meant: line breaks
become spaces (inside strings: \\n escapes), -- and # comments become /* */ comments; a
statement cut inside a string or comment is printed as a `-- rdsaudit:` comment line, never
as SQL, and so is a statement the server refused (non-zero return code: it did not run),
an ambiguous one (a raw name may have forged it; no USE for its database either), one that
reaches the query log limit (--query-log-limit, 1024 bytes by default; it may be cut between tokens), LOAD DATA|XML ... LOCAL
(a replay would send the replaying machine's file), a prepared statement logged with its ?
placeholders, and one with a backslash outside strings (a client command such as \\!);
`USE `db`;` comes before a statement whose database is not the one before; statements from
CloudWatch end with `-- event_id=ID` for de-duplication. A statement that may change how the
statements after it are read (a SET, SET STATEMENT, EXECUTE, PREPARE or compound statement
naming sql_mode or a character set, but a plain SET to safe values; one cut at the log limit
that does not start as a statement on rows; any reading of an ambiguous line that does) is a
comment, and so is every line after it: with --format sql it passes every filter (--writes,
--grep, --since, --table...; a session SET, not GLOBAL, of a user or host --user,
--exclude-user or --host leaves out is left out with its session), and --merge puts it first
among the events of its time.
Not in the log, so not seen: a sql_mode set in the parameter group or stored with a routine,
a character set chosen in the client's handshake. Replay only logs of sessions you trust.

Text logs (plain, .gz, `aws logs tail` output, CloudWatch exports) are streamed in bounded
memory, an event written once the 4 KiB of text after it are read (the window rule:
docs/HOSTILE.md; a followed file at once when caught up, or the input ends); JSON
documents are read whole up to --max-file-size.

Examples:
  rdsaudit parse audit.log.gz --exclude-user rdsadmin --writes
  rdsaudit parse audit.log.gz --enrich --since 1h --table shop.orders
  rdsaudit parse kinesis-event.json --format csv > events.csv
  rdsaudit parse --merge --rejects rejects.ndjson 'audit/*.log*'
  rdsaudit parse --follow /rdsdbdata/log/audit/server_audit.log
  aws logs ... | rdsaudit parse --grep 'DROP TABLE'";

#[derive(Debug, Args)]
pub struct InputArgs {
    /// Input files; `-` or none reads stdin. The kind is detected from the content
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Read every input as this kind instead of detecting it (a gzip input, told by its
    /// first two bytes, is inflated first whatever the kind: the kind names what it holds)
    #[arg(long = "input", value_name = "KIND", value_parser = input_kind())]
    pub kind: Option<InputKind>,
    /// Largest input read whole: a JSON document (Lambda event, CloudWatch payloads), or what
    /// a gzip one inflates to. Audit text is streamed at any size. Units: KiB, MiB, GiB
    #[arg(long, value_name = "SIZE", value_parser = parse_size, default_value = "1GiB")]
    pub max_file_size: usize,
    /// Keep reading the (one) text file as it grows, like `tail -F` (a file rotated away or
    /// truncated is followed to the one its path names next, its line numbers from 1 again);
    /// Ctrl-C ends it (the last records are written and the summary printed; twice stops at
    /// once). Followed: audit text and `aws logs tail` text, written a line at a time; a file
    /// read whole (gzip, a JSON document such as a Lambda event or `aws` JSON output,
    /// Insights CSV, syslog output) is refused, told by its first bytes. A pipe is always
    /// read to its end: `aws logs tail --follow ... | rdsaudit parse`; a named one too, as
    /// it comes with --follow: `rdsaudit parse --follow <(ssh host tail -F audit.log)`
    #[arg(long)]
    pub follow: bool,
}

/// `--max-file-size`: bytes, or a number with a binary unit (`64KiB`, `2MiB`, `1GiB`, `3G`).
fn parse_size(text: &str) -> Result<usize, String> {
    let text = text.trim();
    let digits = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(digits);
    let number: usize = number
        .parse()
        .map_err(|_| format!("{text:?} is not a size (bytes, or with KiB, MiB, GiB)"))?;
    let shift = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 0,
        "k" | "kb" | "kib" => 10,
        "m" | "mb" | "mib" => 20,
        "g" | "gb" | "gib" => 30,
        _ => return Err(format!("unknown unit {unit:?} (KiB, MiB or GiB)")),
    };
    number
        .checked_mul(1 << shift)
        .filter(|&n| n > 0)
        .ok_or_else(|| format!("{text:?} is not a usable size"))
}

/// A size as `--max-file-size` takes it: `1 GiB`, `64 MiB`, or bytes.
pub fn human_size(bytes: usize) -> String {
    for (shift, unit) in [(30, "GiB"), (20, "MiB"), (10, "KiB")] {
        if bytes >= 1 << shift && bytes.is_multiple_of(1 << shift) {
            return format!("{} {unit}", bytes >> shift);
        }
    }
    format!("{bytes} bytes")
}

/// `--input KIND`: the library's [`InputKind`] names and descriptions.
fn input_kind() -> impl TypedValueParser<Value = InputKind> {
    let names = InputKind::ALL.map(|k| PossibleValue::new(k.name()).help(k.description()));
    PossibleValuesParser::new(names)
        .try_map(|name| InputKind::from_name(&name).ok_or("unknown input kind"))
}

/// `--format FORMAT`: the library's [`Format`] names and descriptions.
fn format() -> impl TypedValueParser<Value = Format> {
    let names = Format::ALL.map(|f| PossibleValue::new(f.name()).help(f.description()));
    PossibleValuesParser::new(names)
        .try_map(|name| Format::from_name(&name).ok_or("unknown format"))
}

/// Filters (shared with the Lambda's `RDSAUDIT_*` variables). Repeat a flag for several
/// values, or separate them with commas; `\,` is a comma inside a value (`--user 'we\,ird'`)
/// and `\\` a backslash. Values are trimmed. All conditions must hold. Names compare byte for
/// byte with the name as the server wrote it: a name that is not valid UTF-8 (its bytes are
/// in `*_base64`) equals no value.
#[derive(Debug, Args, Default)]
pub struct FilterArgs {
    /// Keep only these operations (QUERY, CONNECT, FAILED_CONNECT, WRITE, ...); an unknown
    /// name is an error
    #[arg(long, value_name = "OP")]
    pub operation: Vec<String>,
    /// Keep only events on these databases
    #[arg(long, value_name = "DB")]
    pub database: Vec<String>,
    /// Keep only events of these users (byte for byte: a user name that is not UTF-8 matches
    /// none)
    #[arg(long, value_name = "USER")]
    pub user: Vec<String>,
    /// Drop events of these users (e.g. rdsadmin, whose health checks arrive every second;
    /// byte for byte: a user name that is not UTF-8 is never dropped)
    #[arg(long, value_name = "USER")]
    pub exclude_user: Vec<String>,
    /// Keep only events from these client hosts (`10.0.0.5` also matches `10.0.0.5:53210`)
    #[arg(long, value_name = "HOST")]
    pub host: Vec<String>,
    /// Keep only events with these return codes (0, 1045, 1142, ...)
    #[arg(long, value_name = "CODE")]
    pub retcode: Vec<String>,
    /// Keep only events at or after TIME: RFC 3339 (2024-03-23T13:00:00Z, 2024-03-23, an
    /// offset such as +02:00; a day that does not exist, 2024-02-31, or an offset past
    /// 23:59 is an error) or an age (90s, 15m, 1h, 2d, 1w)
    #[arg(long, value_name = "TIME")]
    pub since: Option<String>,
    /// Keep only events before TIME (same forms as --since)
    #[arg(long, value_name = "TIME")]
    pub until: Option<String>,
    /// Keep only failed logins (FAILED_CONNECT, or CONNECT/CHANGEUSER with a non-zero code)
    #[arg(long)]
    pub failed_logins: bool,
    /// Keep only successful (return code 0) statements that can change data, schema,
    /// privileges or server state: DML (also WITH ... DELETE, INSERT ... SELECT, LOAD DATA,
    /// IMPORT TABLE), DDL, DCL (GRANT, REVOKE, users, SET PASSWORD), CALL and EXECUTE,
    /// OPTIMIZE/REPAIR TABLE, INSTALL/UNINSTALL PLUGIN, PURGE BINARY LOGS, RESET MASTER,
    /// CLONE, compound statements holding a write, SET STATEMENT ... FOR a write; not
    /// SELECT ... FOR UPDATE, SET, SHOW, ANALYZE TABLE, FLUSH or transaction control
    #[arg(long)]
    pub writes: bool,
    /// With --writes: keep failed writes too, and TABLE events that carry no return code
    #[arg(long, requires = "writes")]
    pub include_failed: bool,
    /// Keep only events naming these tables (`orders` in any database, or `shop.orders`,
    /// which also matches `orders` run in `shop`); a QUERY names the tables --enrich
    /// writes for it (the server's TABLE events for it win over its text). Matched as
    /// (database, table) pairs: a part holding `.` or a back quote is back-quoted, as
    /// --enrich and stats write it (`evil.`shop.orders``, a back quote doubled)
    #[arg(long, value_name = "TABLE")]
    pub table: Vec<String>,
    /// Keep only events whose unescaped object matches this regular expression
    #[arg(long, value_name = "REGEX")]
    pub grep: Option<String>,
    /// The server's server_audit_query_log_limit (an RDS option; 0 to 2147483647): the
    /// plugin cuts statements at this many bytes without a mark, so one reaching it may be
    /// cut (--enrich's truncated, stats' count, --format sql writes it as a `-- rdsaudit:
    /// not run, may be cut` comment; one cut before its verb may write)
    #[arg(long, value_name = "BYTES", default_value_t = 1024,
          value_parser = clap::value_parser!(u32).range(0..=0x7FFF_FFFF))]
    pub query_log_limit: u32,
}

#[derive(Debug, Args)]
pub struct ParseArgs {
    #[command(flatten)]
    pub input: InputArgs,
    #[command(flatten)]
    pub filter: FilterArgs,
    /// Output format
    #[arg(long, short, value_name = "FORMAT", value_parser = format(), default_value = "ndjson")]
    pub format: Format,
    /// CSV/TSV: write cells as they are; by default a cell starting with =, +, -, @, tab, CR
    /// or ' gets a ' in front so a spreadsheet does not run it as a formula
    #[arg(long)]
    pub csv_raw: bool,
    /// Write every line and record that is not an event here, whole, with its file, line or
    /// record and reason (and a line for each input that failed whole): NDJSON, one per
    /// line, to fix and replay (`jq -r 'select(.kind=="line").raw' FILE`)
    #[arg(long, value_name = "FILE")]
    pub rejects: Option<PathBuf>,
    /// Write the events of all inputs as one stream in timestamp order (Aurora writes each
    /// instance's audit across several concurrent files; RDS rotates them). Each input is
    /// read at once; an event more than 4096 events from its place in its own file comes out
    /// late and is counted in the summary, never dropped. Events of the same time: a SQL
    /// statement that may change how the statements after it are read first, then those of
    /// the input that starts earlier, then by the server's query id, then input order. One input's own lines are put in
    /// time order too: with a single file whose lines are not in time order, the events (and
    /// the SQL statements, each after the USE it needs there) come out in another order than
    /// without --merge. Unparsed lines go to --rejects (and stderr) as each input is read
    #[arg(long)]
    pub merge: bool,
    /// Add what each statement means to every NDJSON object: writes, statement_class,
    /// tables, written_tables, fingerprint, digest, truncated, version_dependent,
    /// mode_dependent, partial (see below)
    #[arg(long)]
    pub enrich: bool,
}

#[derive(Debug, Args)]
pub struct StatsArgs {
    #[command(flatten)]
    pub input: InputArgs,
    #[command(flatten)]
    pub filter: FilterArgs,
    /// How many rows to show per table (fingerprints, users, ...)
    #[arg(long, default_value_t = 10, value_name = "N")]
    pub top: usize,
    /// Output format (json: one object; the accounting then goes to stderr)
    #[arg(long, short, value_enum, default_value_t)]
    pub format: StatsFormat,
}

/// How `stats` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum StatsFormat {
    /// Tables and a histogram for people
    #[default]
    Text,
    /// One pretty-printed JSON object
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DialectArg {
    Aurora,
    Mariadb,
    RdsMysql,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum GenOutput {
    /// A Lambda Kinesis event, one gzip CloudWatch payload per record
    Kinesis,
    /// A direct CloudWatch Logs Lambda event (needs --records 1)
    Awslogs,
    /// Gzip CloudWatch payloads: one file per record with --out DIR, else concatenated
    /// gzip members on stdout
    Gzip,
    /// Decompressed CloudWatch payloads (JSON objects back to back)
    Envelope,
    /// Audit log text, one line per event
    Lines,
    /// Audit log text, gzip-compressed like a downloaded RDS log file
    LinesGz,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Preset {
    /// 10,000 Kinesis records of one line each (the largest BatchSize; about 9.6 MB)
    MaxLambdaBatch,
    /// 6,000 records of one line each: the largest event under Lambda's 6 MB payload limit
    MaxLambdaPayload,
}

#[derive(Debug, Args)]
pub struct GenArgs {
    /// Seed: the same arguments always give the same bytes
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Kinesis records (CloudWatch payloads)
    #[arg(long, default_value_t = 10)]
    pub records: usize,
    /// Audit lines per record
    #[arg(long, default_value_t = 10, value_name = "N")]
    pub lines_per_record: usize,
    #[arg(long, value_enum, default_value = "aurora")]
    pub dialect: DialectArg,
    /// Percentage of hard cases: escapes, commas and quotes, multibyte and non-UTF-8 text,
    /// statements past the 1024-byte plugin limit, failed connects
    #[arg(long, default_value_t = 20, value_name = "PERCENT", value_parser = clap::value_parser!(u8).range(0..=100))]
    pub hard: u8,
    /// Sizes of a real Lambda batch (overrides --records and --lines-per-record)
    #[arg(long, value_enum)]
    pub preset: Option<Preset>,
    #[arg(long, short, value_enum, default_value = "kinesis")]
    pub output: GenOutput,
    /// Write here instead of stdout (for --output gzip a directory, created if missing:
    /// record-00001.gz, ...)
    #[arg(long, value_name = "PATH")]
    pub out: Option<PathBuf>,
}
