//! Fuzz body for the gzip stage ([`rdsaudit::input::gzip::Inflater`]).
//!
//! Shared by the libFuzzer target `fuzz/fuzz_targets/inflate.rs` and the stable proptest runner
//! `tests/hostile_fuzz_stable.rs`, so both check exactly the same properties:
//!
//! - any bytes give `Ok` or a typed error, never a panic, and the output never exceeds the limit;
//! - differential oracle: whenever we accept an input, flate2's `MultiGzDecoder` (an independent
//!   implementation: the zlib-rs backend, a port of zlib) decodes it to the very same bytes;
//!   whenever flate2 decodes a non-empty input completely within the limit, we accept it too.
//!   Not the default miniz_oxide backend: it decodes a match reaching before the start of the
//!   stream from a zeroed window where zlib and libdeflate refuse it, and the fuzzer found such an
//!   input whose CRC-32 still matched (`fixtures/distance-too-far.gz`).
//!
//! One documented difference is neutralised first: flate2 (like zlib) verifies the optional
//! header CRC (FHCRC) while libdeflate and we skip it, as RFC 1952 §2.3.1.2 allows; the data
//! CRC-32 still guards the payload. So flate2 is given the input with every header CRC made right.

use std::cell::RefCell;
use std::io::Read as _;

use rdsaudit::input::gzip::{InflateError, Inflater};

/// Small output cap so a bomb found by the fuzzer costs little memory per run.
pub const LIMIT: usize = 1 << 20;

thread_local! {
    /// Reused across runs, as a Lambda worker reuses it across records, so buffer reuse and
    /// the shrink policy are exercised too.
    static INFLATER: RefCell<Inflater> = RefCell::new(Inflater::with_limit(LIMIT));
}

/// flate2's view of `data`, member by member: the decoded bytes (at most `LIMIT + 1` of them),
/// or `None` if it reports an error.
fn flate2_inflate(data: &[u8]) -> Option<Vec<u8>> {
    let mut data = data.to_vec();
    let mut out = Vec::new();
    let mut at = 0;
    while at < data.len() && out.len() <= LIMIT {
        fix_header_crc(&mut data[at..]);
        let rest = &data[at..];
        let mut member = flate2::bufread::GzDecoder::new(rest);
        (&mut member)
            .take((LIMIT + 1 - out.len()) as u64)
            .read_to_end(&mut out)
            .ok()?;
        at += rest.len() - member.into_inner().len();
    }
    Some(out)
}

/// Rewrites the FHCRC of the gzip member header at the start of `member`, if it has one.
fn fix_header_crc(member: &mut [u8]) {
    let Some(&flags) = member.get(3) else { return };
    if flags & 0x02 == 0 {
        return;
    }
    let mut len = 10;
    if flags & 0x04 != 0 {
        let Some(xlen) = member.get(len..len + 2) else {
            return;
        };
        len += 2 + usize::from(u16::from_le_bytes([xlen[0], xlen[1]]));
    }
    for flag in [0x08, 0x10] {
        if flags & flag != 0 {
            let Some(nul) = member
                .get(len..)
                .and_then(|f| f.iter().position(|&b| b == 0))
            else {
                return;
            };
            len += nul + 1;
        }
    }
    if len + 2 <= member.len() {
        let mut crc = flate2::Crc::new();
        crc.update(&member[..len]);
        let crc16 = (crc.sum() & 0xffff) as u16;
        member[len..len + 2].copy_from_slice(&crc16.to_le_bytes());
    }
}

pub fn run(data: &[u8]) {
    INFLATER.with_borrow_mut(|inflater| {
        let ours = inflater.inflate(data).map(|out| out.bytes().to_vec());
        let theirs = flate2_inflate(data);
        match (&ours, &theirs) {
            (Ok(bytes), _) => {
                assert!(bytes.len() <= LIMIT, "output of {} bytes", bytes.len());
                assert_eq!(Some(bytes), theirs.as_ref(), "flate2 disagrees");
            }
            (Err(InflateError::OutputLimit { limit }), _) => assert_eq!(*limit, LIMIT),
            (Err(InflateError::Empty), _) => assert!(data.is_empty()),
            (Err(err), Some(bytes)) if bytes.len() <= LIMIT => {
                panic!("flate2 decodes {} bytes but we say {err}", bytes.len())
            }
            (Err(_), _) => {}
        }
    });
}
