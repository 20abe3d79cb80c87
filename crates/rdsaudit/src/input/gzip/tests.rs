use super::*;
use crate::test_support::{gzip as gz, gzip_cli};

const SAMPLE: &[u8] = br#"{"messageType":"DATA_MESSAGE","owner":"123456789012","logGroup":"/aws/rds/cluster/c1/audit","logStream":"c1-instance-1","subscriptionFilters":["f"],"logEvents":[{"id":"1","timestamp":1,"message":"1653053459680124,c1,admin,10.0.0.1,35,698024,QUERY,db,'SELECT 1',0"}]}"#;

#[test]
fn single_member_from_flate2_and_gzip_binary() {
    let mut inf = Inflater::new();
    let out = inf.inflate(&gz(SAMPLE)).unwrap();
    assert_eq!(out.bytes(), SAMPLE);
    assert_eq!(out.len(), SAMPLE.len());
    let (buf, len) = out.into_padded();
    assert!(buf.len() >= len + simd_json::INPUT_PADDING);

    // gzip -n (no name) and plain gzip with a file name header (FNAME via `-N` on stdin is
    // not possible, so use the checked-in fixture for FNAME below).
    if let Some(z) = gzip_cli(SAMPLE, &["-9", "-c"]) {
        assert_eq!(inf.inflate(&z).unwrap().bytes(), SAMPLE);
    }
}

#[test]
fn fixture_with_file_name_header() {
    // Made with `printf 'hello audit\n' > hello.txt && gzip -9 hello.txt` (FNAME set).
    let z = include_bytes!("../../../tests/fixtures/hello.txt.gz");
    assert_ne!(z[3] & GZIP_FNAME, 0, "fixture should carry a file name");
    let mut inf = Inflater::new();
    assert_eq!(inf.inflate(z).unwrap().bytes(), b"hello audit\n");
}

#[test]
fn multi_member_all_read() {
    let mut input = gz(b"hello ");
    input.extend(gz(b""));
    input.extend(gz(b"world"));
    if let Some(z) = gzip_cli(b"!\n", &["-c"]) {
        input.extend(z);
    } else {
        input.extend(gz(b"!\n"));
    }
    let mut inf = Inflater::new();
    assert_eq!(inf.inflate(&input).unwrap().bytes(), b"hello world!\n");
}

#[test]
fn multi_member_grows_past_last_isize_hint() {
    // The last member is tiny, so the ISIZE hint badly underestimates the total.
    let big = vec![b'x'; 300_000];
    let mut input = gz(&big);
    input.extend(gz(b"y"));
    let mut inf = Inflater::new();
    let out = inf.inflate(&input).unwrap();
    assert_eq!(out.len(), 300_001);
    assert_eq!(out.bytes().last(), Some(&b'y'));
}

#[test]
fn empty_input_and_empty_payload() {
    let mut inf = Inflater::new();
    assert_eq!(inf.inflate(b"").unwrap_err(), InflateError::Empty);
    let out = inf.inflate(&gz(b"")).unwrap();
    assert!(out.is_empty());
}

#[test]
fn not_gzip() {
    let mut inf = Inflater::new();
    let err = inf.inflate(br#"{"Records":[]}"#).unwrap_err();
    assert_eq!(
        err,
        InflateError::NotGzip {
            offset: 0,
            found: b"{\"".to_vec()
        }
    );
    assert!(err.to_string().contains("not gzip"));
    // Deflate but not gzip method.
    let mut z = gz(b"abc");
    z[2] = 7;
    assert!(matches!(
        inf.inflate(&z).unwrap_err(),
        InflateError::UnsupportedMethod { method: 7, .. }
    ));
    z[2] = 8;
    z[3] = 0x80;
    assert!(matches!(
        inf.inflate(&z).unwrap_err(),
        InflateError::BadHeader { .. }
    ));
}

#[test]
fn truncated_header_trailer_and_body() {
    let z = gz(SAMPLE);
    let mut inf = Inflater::new();
    for cut in [1, 2, 5, 9] {
        assert_eq!(
            inf.inflate(&z[..cut]).unwrap_err(),
            InflateError::Truncated {
                member: 0,
                offset: cut,
                part: "header"
            },
            "cut at {cut}"
        );
    }
    // Trailer cut: DEFLATE body complete, CRC/ISIZE missing.
    for drop in 1..=8 {
        let cut = z.len() - drop;
        assert_eq!(
            inf.inflate(&z[..cut]).unwrap_err(),
            InflateError::Truncated {
                member: 0,
                offset: cut,
                part: "trailer"
            }
        );
    }
    // Cut inside the compressed blocks: libdeflate reports bad data.
    let cut = z.len() / 2;
    assert_eq!(
        inf.inflate(&z[..cut]).unwrap_err(),
        InflateError::Corrupt {
            member: 0,
            offset: 10
        }
    );
    // Second member truncated.
    let mut two = gz(b"a");
    let first = two.len();
    two.extend_from_slice(&z[..5]);
    assert_eq!(
        inf.inflate(&two).unwrap_err(),
        InflateError::Truncated {
            member: 1,
            offset: first + 5,
            part: "header"
        }
    );
}

#[test]
fn every_prefix_is_an_error_not_a_panic() {
    let z = gz(SAMPLE);
    let mut inf = Inflater::new();
    for cut in 0..z.len() {
        assert!(inf.inflate(&z[..cut]).is_err(), "prefix {cut}");
    }
}

#[test]
fn bad_crc_and_bad_size() {
    let mut z = gz(SAMPLE);
    let n = z.len();
    z[n - 8] ^= 0xff;
    let mut inf = Inflater::new();
    let err = inf.inflate(&z).unwrap_err();
    assert!(
        matches!(err, InflateError::BadCrc { member: 0, offset, .. } if offset == n - 8),
        "{err:?}"
    );
    z[n - 8] ^= 0xff;
    z[n - 1] ^= 0x01;
    let err = inf.inflate(&z).unwrap_err();
    assert!(
        matches!(err, InflateError::SizeMismatch { member: 0, .. }),
        "{err:?}"
    );
}

#[test]
fn corrupt_body() {
    let mut z = gz(SAMPLE);
    // Invalid block type 11 in the first block header.
    z[10] |= 0b110;
    let mut inf = Inflater::new();
    assert_eq!(
        inf.inflate(&z).unwrap_err(),
        InflateError::Corrupt {
            member: 0,
            offset: 10
        }
    );
}

#[test]
fn trailing_garbage_is_strict() {
    let mut z = gz(b"abc");
    let n = z.len();
    z.extend_from_slice(&[0, 0, 0, 0]);
    let mut inf = Inflater::new();
    assert_eq!(
        inf.inflate(&z).unwrap_err(),
        InflateError::TrailingData {
            member: 0,
            offset: n,
            len: 4,
            found: vec![0, 0]
        }
    );
    // A single stray magic byte is a truncated second member, not trailing garbage.
    z.truncate(n);
    z.push(0x1f);
    assert!(matches!(
        inf.inflate(&z).unwrap_err(),
        InflateError::Truncated { member: 1, .. }
    ));
}

/// `total` bytes of zeros as one gzip member, compressed by the real `gzip -9`
/// (1 GiB -> ~1 MiB). `None` if no `sh`/`head`/`gzip` is available.
fn zero_bomb_gzip(total: usize) -> Option<Vec<u8>> {
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("head -c {total} /dev/zero | gzip -9 -c"))
        .output()
        .ok()?;
    (out.status.success() && !out.stdout.is_empty()).then_some(out.stdout)
}

/// 1 GiB of zeros as 1024 concatenated 1 MiB members (flate2, chunk by chunk).
fn zero_bomb_members() -> Vec<u8> {
    let member = gz(&vec![0u8; 1 << 20]);
    member.repeat(1024)
}

#[test]
fn bomb_small_limit() {
    let limit = 1 << 20;
    let mut inf = Inflater::with_limit(limit);
    assert_eq!(inf.limit(), limit);
    let bomb = zero_bomb_members();
    assert_eq!(
        inf.inflate(&bomb).unwrap_err(),
        InflateError::OutputLimit { limit }
    );
    // Never allocated past the limit (+ padding).
    assert!(
        inf.buf.capacity() <= limit + PADDING,
        "{}",
        inf.buf.capacity()
    );
    if let Some(bomb) = zero_bomb_gzip(64 << 20) {
        assert_eq!(
            inf.inflate(&bomb).unwrap_err(),
            InflateError::OutputLimit { limit }
        );
        assert!(inf.buf.capacity() <= limit + PADDING);
    }
    // Still usable afterwards.
    assert_eq!(inf.inflate(&gz(b"ok")).unwrap().bytes(), b"ok");
}

#[test]
fn bomb_one_gib_default_limit() {
    let mut inf = Inflater::new();
    let bombs = [Some(zero_bomb_members()), zero_bomb_gzip(1 << 30)];
    for bomb in bombs.iter().flatten() {
        assert!(bomb.len() < 2 << 20, "{}", bomb.len());
        assert_eq!(
            inf.inflate(bomb).unwrap_err(),
            InflateError::OutputLimit {
                limit: DEFAULT_MAX_OUTPUT
            }
        );
        assert!(inf.buf.capacity() <= DEFAULT_MAX_OUTPUT + PADDING);
    }
    // The next, ordinary input shrinks the buffer back (see RETAIN_OUTPUT).
    assert_eq!(inf.inflate(&gz(SAMPLE)).unwrap().bytes(), SAMPLE);
    assert!(inf.buf.capacity() <= RETAIN_OUTPUT + PADDING);
}

#[test]
fn exact_limit_fits() {
    let data = vec![b'a'; 4096];
    let mut inf = Inflater::with_limit(4096);
    assert_eq!(inf.inflate(&gz(&data)).unwrap().len(), 4096);
    let mut inf = Inflater::with_limit(4095);
    assert_eq!(
        inf.inflate(&gz(&data)).unwrap_err(),
        InflateError::OutputLimit { limit: 4095 }
    );
}

#[test]
fn multi_member_total_over_limit() {
    let data = vec![b'a'; 3000];
    let mut input = gz(&data);
    input.extend(gz(&data));
    let mut inf = Inflater::with_limit(5000);
    assert_eq!(
        inf.inflate(&input).unwrap_err(),
        InflateError::OutputLimit { limit: 5000 }
    );
}

#[test]
fn lying_isize_hint() {
    // ISIZE claims 4 GiB - 1: the hint is clamped to the limit, and then the size check
    // catches the lie.
    let mut z = gz(b"abc");
    let n = z.len();
    z[n - 4..].copy_from_slice(&u32::MAX.to_le_bytes());
    let mut inf = Inflater::with_limit(1 << 20);
    assert!(matches!(
        inf.inflate(&z).unwrap_err(),
        InflateError::SizeMismatch { .. }
    ));
    assert!(inf.buf.capacity() <= (1 << 20) + PADDING);
}

#[test]
fn buffer_reused_across_calls() {
    let mut inf = Inflater::new();
    let big = vec![b'q'; 100_000];
    assert_eq!(inf.inflate(&gz(&big)).unwrap().len(), big.len());
    let ptr = inf.buf.as_ptr();
    assert_eq!(inf.inflate(&gz(b"small")).unwrap().bytes(), b"small");
    assert_eq!(inf.buf.as_ptr(), ptr, "no reallocation for a smaller input");
}

#[test]
fn is_send() {
    crate::test_support::assert_send::<Inflater>();
}
