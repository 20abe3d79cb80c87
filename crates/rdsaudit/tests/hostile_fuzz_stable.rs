//! The fuzz targets of `fuzz/` on stable Rust, as bounded property tests.
//!
//! `cargo fuzz` needs nightly; CI may not have it. Each target's body lives once, in
//! `tests/fuzz_bodies/<target>.rs`, and is compiled both into the libFuzzer target
//! (`fuzz/fuzz_targets/<target>.rs`) and here. Here proptest feeds it real seeds (gzip from
//! flate2 and the gzip CLI, envelopes and events from serde_json, lines of every dialect) after
//! a few random mutations, plus plain random bytes. `PROPTEST_CASES` raises the case count.
//!
//! `cargo test --test hostile_fuzz_stable -- --ignored write_fuzz_seeds` writes the same seeds
//! to `fuzz/corpus/<target>/` as a starting corpus for the real fuzzer (see docs/HOSTILE.md).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

#[path = "fuzz_bodies/envelope.rs"]
mod envelope;
#[path = "fuzz_bodies/inflate.rs"]
mod inflate;
#[path = "fuzz_bodies/kinesis.rs"]
mod kinesis;
#[path = "fuzz_bodies/line.rs"]
mod line;
#[path = "fuzz_bodies/payload.rs"]
mod payload;

use proptest::prelude::*;
use proptest::sample::Index;

use payload::{
    AURORA_LINE, MARIADB_LINE, RDS_MYSQL_LINE, b64, control_message, data_message, gzip,
    kinesis_event,
};

/// One edit of a seed. Positions are [`Index`]es so they scale to any seed length.
#[derive(Debug, Clone)]
enum Mutation {
    FlipBit(Index, u8),
    SetByte(Index, u8),
    /// Insert one of the target's interesting tokens (quotes, escapes, magic bytes...).
    InsertToken(Index, Index),
    InsertBytes(Index, Vec<u8>),
    Remove(Index, usize),
    Truncate(Index),
    /// Copy a chunk of the input to another place (repeats fields, members, objects).
    Duplicate(Index, Index, usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let at = any::<Index>;
    prop_oneof![
        (at(), 0..8u8).prop_map(|(i, bit)| Mutation::FlipBit(i, bit)),
        (at(), any::<u8>()).prop_map(|(i, b)| Mutation::SetByte(i, b)),
        (at(), at()).prop_map(|(i, t)| Mutation::InsertToken(i, t)),
        (at(), prop::collection::vec(any::<u8>(), 1..8))
            .prop_map(|(i, bytes)| Mutation::InsertBytes(i, bytes)),
        (at(), 1..32usize).prop_map(|(i, n)| Mutation::Remove(i, n)),
        at().prop_map(Mutation::Truncate),
        (at(), at(), 1..64usize).prop_map(|(from, to, n)| Mutation::Duplicate(from, to, n)),
    ]
}

fn apply(mut input: Vec<u8>, mutation: &Mutation, tokens: &[&[u8]]) -> Vec<u8> {
    // `len + 1` positions, so edits can also land at the very end.
    let pos = |i: &Index, len: usize| i.index(len + 1);
    match mutation {
        Mutation::FlipBit(i, bit) if !input.is_empty() => {
            let at = i.index(input.len());
            input[at] ^= 1 << bit;
        }
        Mutation::SetByte(i, b) if !input.is_empty() => {
            let at = i.index(input.len());
            input[at] = *b;
        }
        Mutation::InsertToken(i, t) => {
            let at = pos(i, input.len());
            input.splice(at..at, t.get(tokens).iter().copied());
        }
        Mutation::InsertBytes(i, bytes) => {
            let at = pos(i, input.len());
            input.splice(at..at, bytes.iter().copied());
        }
        Mutation::Remove(i, n) => {
            let at = pos(i, input.len());
            input.drain(at..(at + n).min(input.len()));
        }
        Mutation::Truncate(i) => input.truncate(pos(i, input.len())),
        Mutation::Duplicate(from, to, n) => {
            let start = pos(from, input.len());
            let chunk = input[start..(start + n).min(input.len())].to_vec();
            let at = pos(to, input.len());
            input.splice(at..at, chunk);
        }
        Mutation::FlipBit(..) | Mutation::SetByte(..) => {}
    }
    input
}

/// A seed after up to 8 mutations, or (one case in five) plain random bytes.
fn hostile(seeds: Vec<Vec<u8>>, tokens: &'static [&'static [u8]]) -> BoxedStrategy<Vec<u8>> {
    let mutated = (
        prop::sample::select(seeds),
        prop::collection::vec(mutation(), 0..8),
    )
        .prop_map(move |(seed, mutations)| {
            mutations
                .iter()
                .fold(seed, |input, m| apply(input, m, tokens))
        });
    prop_oneof![4 => mutated, 1 => prop::collection::vec(any::<u8>(), 0..512)].boxed()
}

const GZIP_TOKENS: &[&[u8]] = &[
    b"\x1f\x8b\x08\x00",
    b"\x1f\x8b",
    b"\x00\x00\xff\xff",
    b"\x08",
    b"\xff\xff\xff\xff",
    b"\x1c",
    b"\x00",
];
const JSON_TOKENS: &[&[u8]] = &[
    b"\"",
    b"\\",
    b"\\u",
    b"\\ud800",
    b"\\udc00",
    b"\\u0000",
    b"{",
    b"}",
    b"[",
    b"]",
    b",",
    b":",
    b"null",
    b"1.7e12",
    b"\"logEvents\":[]",
    b"\"messageType\":\"CONTROL_MESSAGE\"",
    b"\"policyLevel\":\"ACCOUNT_LEVEL_POLICY\"",
    b"\xed\xa0\x80",
    b"\x00",
];
const LINE_TOKENS: &[&[u8]] = &[
    b"'",
    b"\\'",
    b"\\",
    b",",
    b"\n",
    b"\r\n",
    b"\x00",
    b",QUERY,",
    b",READ,",
    b",0,",
    b",,",
    b"20240323 13:36:09,",
    b"1711200969123456,",
    b"\xff",
    b"\xc3",
    b"'\n20240323 13:36:09,h,",
];

/// Compresses with the real `gzip` CLI; `None` if it is not installed.
fn gzip_cli(data: &[u8], args: &[&str]) -> Option<Vec<u8>> {
    use std::io::Write as _;
    let mut child = std::process::Command::new("gzip")
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .ok()?;
    child.stdin.take()?.write_all(data).ok()?;
    let out = child.wait_with_output().ok()?;
    out.status.success().then_some(out.stdout)
}

/// A gzip member whose header has every optional field: FEXTRA, FNAME, FCOMMENT and FHCRC (the
/// last built by hand: flate2's builder does not write it).
fn gzip_all_header_fields(data: &[u8]) -> Vec<u8> {
    use std::io::Write as _;
    let mut encoder = flate2::GzBuilder::new()
        .extra(b"AP\x02\x00hi".to_vec())
        .filename("audit.log")
        .comment("hostile seed")
        .write(Vec::new(), flate2::Compression::best());
    encoder.write_all(data).unwrap();
    let mut z = encoder.finish().unwrap();
    let header_len = 10 + 2 + 6 + "audit.log\0".len() + "hostile seed\0".len();
    z[3] |= 0x02;
    let mut crc = flate2::Crc::new();
    crc.update(&z[..header_len]);
    let crc16 = (crc.sum() & 0xffff) as u16;
    z.splice(header_len..header_len, crc16.to_le_bytes());
    z
}

fn envelope_seeds() -> Vec<Vec<u8>> {
    let with_escapes = data_message(
        1,
        &["tab\there \"q\" caf\u{e9} \u{1F600} nul\u{0}", AURORA_LINE],
    );
    let policy = data_message(2, &[MARIADB_LINE]).replacen(
        "\"logEvents\"",
        "\"policyLevel\":\"ACCOUNT_LEVEL_POLICY\",\"logEvents\"",
        1,
    );
    let two = format!("{}\n", data_message(3, &[RDS_MYSQL_LINE])).into_bytes();
    let mut seeds: Vec<Vec<u8>> = [
        data_message(0, &[AURORA_LINE, RDS_MYSQL_LINE]),
        with_escapes,
        policy,
    ]
    .into_iter()
    .map(String::into_bytes)
    .collect();
    seeds.push([two, control_message()].concat());
    seeds.push(control_message());
    seeds
}

fn inflate_seeds() -> Vec<Vec<u8>> {
    let json = data_message(0, &[AURORA_LINE, RDS_MYSQL_LINE, MARIADB_LINE]);
    let mut seeds = vec![
        gzip(json.as_bytes()),
        gzip(b""),
        gzip_all_header_fields(json.as_bytes()),
        [gzip(b"hello "), gzip(b"world")].concat(),
        include_bytes!("fixtures/hello.txt.gz").to_vec(),
        include_bytes!("fixtures/distance-too-far.gz").to_vec(),
    ];
    seeds.extend(gzip_cli(json.as_bytes(), &["-9", "-c"]));
    seeds.extend(gzip_cli(&vec![0; 100_000], &["-1", "-c"]));
    seeds
}

fn line_seeds() -> Vec<Vec<u8>> {
    let log = format!(
        "{RDS_MYSQL_LINE}\r\n\r\n{MARIADB_LINE}\n20240615 10:31:01,db1,new\nline,localhost,43,0,DISCONNECT,,,0\n"
    );
    [AURORA_LINE, RDS_MYSQL_LINE, MARIADB_LINE, &log]
        .iter()
        .map(|s| s.as_bytes().to_vec())
        .collect()
}

/// Raw events (mode byte 0) and built ones (mode byte 1: `0xff`-separated records whose first
/// byte is the kind, see `fuzz_bodies/kinesis.rs`).
fn kinesis_seeds() -> Vec<Vec<u8>> {
    let good = data_message(0, &[AURORA_LINE, "not an audit line"]);
    let raw = kinesis_event(&[
        b64(&gzip(good.as_bytes())),
        b64(&gzip(&control_message())),
        "!!".to_owned(),
    ]);
    let lines = [AURORA_LINE, RDS_MYSQL_LINE, MARIADB_LINE].join("\n");
    let mut built = vec![1, 0];
    for kind in 0..6u8 {
        built.push(kind);
        built.extend_from_slice(lines.as_bytes());
        built.push(0xff);
    }
    built.pop();
    vec![[&[0][..], &raw].concat(), built]
}

const EVENT_TOKENS: &[&[u8]] = &[
    b"\xff\x00",
    b"\xff\x04",
    b"\xff\x05",
    b"\n",
    b"'",
    b",",
    b"\"",
    b"\\",
    b"\"data\":",
    b"\"Records\":",
    b"\"kinesis\":{}",
    b"null",
    b"H4sI",
    b"=",
];

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn inflate_target(input in hostile(inflate_seeds(), GZIP_TOKENS)) {
        inflate::run(&input);
    }

    #[test]
    fn envelope_target(input in hostile(envelope_seeds(), JSON_TOKENS)) {
        envelope::run(&input);
    }

    #[test]
    fn kinesis_target(input in hostile(kinesis_seeds(), EVENT_TOKENS)) {
        kinesis::run(&input);
    }

    #[test]
    fn line_target(input in hostile(line_seeds(), LINE_TOKENS)) {
        line::run(&input);
    }
}

/// The unmutated seeds pass: the bodies' oracles agree on good input.
#[test]
fn seeds_pass() {
    inflate_seeds().iter().for_each(|s| inflate::run(s));
    envelope_seeds().iter().for_each(|s| envelope::run(s));
    line_seeds().iter().for_each(|s| line::run(s));
    kinesis_seeds().iter().for_each(|s| kinesis::run(s));
}

/// Found by `envelope_target` in CI (session 34, seed 2456694352940985239): a log event whose
/// `timestamp` key is `\u0000timestamp` fails alone since session 33 (`failed_events`), and
/// the oracle still counted serde's two entries against our one read. The oracle now checks
/// the failed entry is kept whole in its place and the other one read alike.
#[test]
fn a_log_event_that_fails_alone_is_kept_in_its_place() {
    let input = concat!(
        r#"{"logEvents":[{"id":"0000000000000000000000000000000000000000000000000","#,
        r#""message":"1711200969123456,prod-aurora-instance-1,admin,10.0.1.5,35,698024,QUERY,shop,'SELECT \\'a,b\\' FROM t',0","#,
        r#""\u0000timestamp":1711200969000},{"id":"00000000000000000000000000000000000000000000000000000001","#,
        r#""message":"20240323 13:36:09,ip-172-17-4-137,rdsadmin,localhost,4,149869,QUERY,,'SELECT 1',0,,","timestamp":1711200969001}],"#,
        r#""logGroup":"/aws/rds/cluster/prod-aurora/audit","logStream":"prod-aurora-instance-1","messageType":"DATA_MESSAGE","#,
        r#""owner":"123456789012","subscriptionFilters":["audit-to-kinesis"]}"#
    );
    let mut parser = rdsaudit::input::envelope::EnvelopeParser::new();
    let mut scratch = Vec::new();
    let envelopes =
        rdsaudit::input::envelope::parse_unpadded(&mut parser, input.as_bytes(), &mut scratch)
            .unwrap();
    assert_eq!(envelopes[0].log_events.len(), 1);
    assert_eq!(envelopes[0].failed_events.len(), 1);
    assert_eq!(envelopes[0].failed_events[0].index, 0);
    envelope::run(input.as_bytes());
}

/// Found by `inflate_target` in CI: `gzip -1` of 100,000 zero bytes with byte 26 changed from
/// 97 to 9, so the first match reaches back before the start of the stream. zlib and libdeflate
/// refuse it; miniz_oxide (flate2's default backend, the oracle until then) copied from its
/// zeroed window and got 100,000 zeros with the right CRC-32. The oracle is now flate2 on
/// zlib-rs, which refuses it as zlib does.
#[test]
fn a_match_before_the_stream_start_is_corrupt() {
    let input = include_bytes!("fixtures/distance-too-far.gz");
    let mut inflater = rdsaudit::input::gzip::Inflater::new();
    let err = inflater.inflate(input).unwrap_err();
    assert!(
        matches!(err, rdsaudit::input::gzip::InflateError::Corrupt { .. }),
        "{err}"
    );
    let mut out = Vec::new();
    let theirs =
        std::io::Read::read_to_end(&mut flate2::read::MultiGzDecoder::new(&input[..]), &mut out);
    assert!(theirs.is_err(), "flate2 decoded {} bytes", out.len());
    inflate::run(input);
}

#[test]
#[ignore = "writes the starting corpus for cargo fuzz; run on demand"]
fn write_fuzz_seeds() {
    let fuzz =
        std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../..")).join("fuzz/corpus");
    for (target, seeds) in [
        ("inflate", inflate_seeds()),
        ("envelope", envelope_seeds()),
        ("line", line_seeds()),
        ("kinesis", kinesis_seeds()),
    ] {
        let dir = fuzz.join(target);
        std::fs::create_dir_all(&dir).unwrap();
        for (i, seed) in seeds.iter().enumerate() {
            std::fs::write(dir.join(format!("seed-{i}")), seed).unwrap();
        }
    }
}
