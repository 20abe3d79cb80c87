//! The lane masks of the sixteen-byte vector searches (the JSON walk, the JSON escaper, the
//! CSV quoting): bit `i` set for lane `i` from SSE2's `movemask` (and from the byte-at-a-time
//! and SWAR fallbacks), bits `4i..4i + 4` from NEON's narrowing shift
//! (`swar::neon::nibbles`, two instructions where a movemask takes five). Callers read a
//! mask only through these functions, so one code serves both widths.

/// A mask of sixteen lanes.
#[cfg(neon)]
pub(crate) type Mask = u64;
#[cfg(neon)]
const BITS: u32 = 4;
/// A mask of sixteen lanes.
#[cfg(not(neon))]
pub(crate) type Mask = u32;
#[cfg(not(neon))]
const BITS: u32 = 1;

/// The lanes 0..8.
#[cfg(vector16)]
pub(crate) const LOW_HALF: Mask = (1 << (8 * BITS)) - 1;

/// The first lane set in `mask` (not zero).
#[inline(always)]
pub(crate) fn first(mask: Mask) -> usize {
    (mask.trailing_zeros() / BITS) as usize
}

/// `mask` with its first `n` lanes (`n < 16`) dropped and the others moved down by `n`.
#[inline(always)]
pub(crate) fn down(mask: Mask, n: usize) -> Mask {
    mask >> (n * BITS as usize)
}

/// `mask` without its first `n` lanes (`n < 16`).
#[cfg(vector16)]
#[inline(always)]
pub(crate) fn from(mask: Mask, n: usize) -> Mask {
    down(mask, n) << (n * BITS as usize)
}

/// `mask` as one bit a lane (bit `i` for lane `i`), each lane's bits checked to be all
/// set or all clear: what the tests compare with a byte-at-a-time reference.
#[cfg(test)]
pub(crate) fn bits(mask: Mask) -> u32 {
    let full: Mask = (1 << BITS) - 1;
    (0..16).fold(0, |out, i| {
        let lane = mask >> (i * BITS) & full;
        assert!(lane == 0 || lane == full, "lane {i} of {mask:#x}");
        out | u32::from(lane == full) << i
    })
}

/// Blocks of `N` bytes that put every byte value in every lane of a `period`-byte vector
/// (`period` divides 256, `period <= N <= 256`: lane indexes are taken as bytes): lane `i` of block `(first, shift)` holds
/// `first + (i + shift) % period`, for every multiple `first` of `period` and every
/// `shift < period` (256 blocks). The vector searches' exhaustive tests run on these.
#[cfg(test)]
pub(crate) fn every_byte_in_every_lane<const N: usize>(
    period: u8,
) -> impl Iterator<Item = [u8; N]> {
    (0..period).flat_map(move |shift| {
        (0..=255u8).step_by(usize::from(period)).map(move |first| {
            std::array::from_fn(|i| first.wrapping_add((i as u8 % period + shift) % period))
        })
    })
}
