//! Cache hints: the memory of the next record asked for while this one is decoded.
//!
//! A Kinesis event is walked whole before its first record is decoded (invalid JSON anywhere
//! fails it whole), and on one thread its records are then resolved and decoded in a second
//! and third pass over the event text. By then a record's text (5.7 MB of event for 6,000
//! one-line records) and its entry in the records' list have left the caches: the first byte
//! read of each (a payload's last byte, a string's first, a record's payload tag) waited on
//! memory. perf (cpu-clock, 10 runs of 6,000 one-line records, one thread) put 90% of
//! `decode_base64_with_limit`'s samples on its first load of the payload, half of
//! `Worker::process_record`'s on its first loads from the record, and all of
//! `RawRecord::resolve`'s on the string boundaries it checks. Asked for one record ahead
//! (decoding) or eight (resolving, which is short), those lines arrive while the record
//! before is decoded: the samples of the three fell 966 -> ~300, `base64_simd`'s 546 -> 116,
//! `memcmp`'s (the writer's repeated-value checks reading the record's strings) 356 -> 114.
//!
//! A hint changes no byte and no result: where the target has no prefetch instruction here
//! (anything but x86_64), these do nothing.

/// Asks for the cache line holding `bytes[at]` (nothing when `at` is out of bounds).
#[inline(always)]
pub(crate) fn line(bytes: &[u8], at: usize) {
    if let Some(b) = bytes.get(at) {
        hint(std::ptr::from_ref(b));
    }
}

/// Asks for the cache lines of `bytes`' first [`AHEAD`] bytes, and for its last byte's.
///
/// Only the start: a decode reads a payload front to back, where the hardware prefetcher
/// follows it after a few lines, and hints for a whole payload of a megabyte (~16k lines)
/// would only push the current record's lines out of a 32 KiB L1. Measured against hints
/// for every line (one thread, 60 interleaved runs, load ~5): 8 records of ~950 KB payloads
/// cpu 291.5 -> 290.6 ms, 40 of ~160 KB 152.0 -> 149.5 ms, the 500-record event (~32 KB)
/// 66.4 -> 65.1 ms: a bound that costs nothing, not a gain.
#[inline(always)]
pub(crate) fn lines(bytes: &[u8]) {
    let head = bytes.get(..AHEAD).unwrap_or(bytes);
    for b in head.iter().step_by(LINE) {
        hint(std::ptr::from_ref(b));
    }
    if let Some(last) = bytes.last() {
        hint(std::ptr::from_ref(last));
    }
}

/// How much of a value's start [`lines`] asks for.
const AHEAD: usize = 4096;

/// Asks for every cache line of `value` itself (not what it points to).
#[inline(always)]
pub(crate) fn value<T>(value: &T) {
    let start = std::ptr::from_ref(value).cast::<u8>();
    for offset in (0..size_of::<T>()).step_by(LINE) {
        hint(start.wrapping_add(offset));
    }
    hint(start.wrapping_add(size_of::<T>().saturating_sub(1)));
}

/// A cache line's size on x86_64 and most aarch64 cores; a hint per line is enough.
const LINE: usize = 64;

#[inline(always)]
fn hint(at: *const u8) {
    #[cfg(sse2)]
    {
        use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
        // SAFETY: the target has SSE (part of SSE2, the cfg). A prefetch reads nothing into
        // the program, writes nothing, and never faults, whatever the address; every caller
        // passes an address inside a borrowed value anyway.
        unsafe { _mm_prefetch::<_MM_HINT_T0>(at.cast()) }
    }
    #[cfg(not(sse2))]
    let _ = at;
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        /// Hints over any bytes, at any offset (in bounds or not), leave them as they were.
        #[test]
        fn hints_change_nothing(
            bytes in proptest::collection::vec(any::<u8>(), 0..600),
            at in 0..700usize,
        ) {
            let before = bytes.clone();
            line(&bytes, at);
            lines(&bytes);
            lines(bytes.get(at.min(bytes.len())..).unwrap_or_default());
            value(&bytes);
            value(&());
            value(&[0u64; 40]);
            prop_assert_eq!(bytes, before);
        }
    }
}
