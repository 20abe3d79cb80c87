//! NEON: sixteen bytes compared at once, the aarch64 twin of the SSE2 modules (in
//! [`crate::swar`], [`crate::input::json::walk`] and the sinks). NEON is part of the aarch64
//! baseline (`target_feature = "neon"` is on for every aarch64 Linux target), as SSE2 is of
//! x86_64's.
//!
//! As there, the intrinsics are called from ordinary `#[inline(always)]` functions rather
//! than `#[target_feature(enable = "neon")]` ones, which could not be always inlined. The
//! module is compiled only where the target has NEON (its cfg, in `swar.rs`), so each call's
//! feature holds statically: that is the SAFETY of every `unsafe` block here.
//!
//! A comparison gives a vector whose lanes are all ones or all zeros (a lane mask). SSE2's
//! `_mm_movemask_epi8` has no NEON instruction: [`mask`] gives its sixteen bits from a lane
//! mask in five instructions, [`nibbles`] four bits a lane in two, cheaper when the caller
//! needs only the first or last set lane, [`any`] whether any lane is set.

use std::arch::aarch64::{
    uint8x16_t, vaddq_u8, vandq_u8, vceqq_u8, vcgtq_u8, vcltq_s8, vcltq_u8, vcombine_u64,
    vcreate_u64, vdupq_n_u8, vget_lane_u64, vgetq_lane_u16, vgetq_lane_u64, vld1q_u8, vmaxvq_u8,
    vorrq_u8, vpaddq_u8, vqtbl1q_u8, vreinterpret_u64_u8, vreinterpretq_s8_u8,
    vreinterpretq_u8_u64, vreinterpretq_u16_u8, vreinterpretq_u64_u8, vshrn_n_u16, vshrq_n_u8,
    vtstq_u8,
};

/// The sixteen bytes as one vector, lane `i` = `chunk[i]`.
#[inline(always)]
pub(crate) fn load(chunk: &[u8; 16]) -> uint8x16_t {
    // SAFETY: the target has NEON (the module's cfg); `chunk` is sixteen readable bytes, and
    // `vld1q_u8` needs no alignment beyond a byte's.
    unsafe { vld1q_u8(chunk.as_ptr()) }
}

/// The sixteen bytes of `lo` then `hi`, little-endian (lane `i` = byte `i % 8` of `lo` for
/// `i < 8`, of `hi` after): SSE2's `_mm_set_epi64x(hi, lo)`, for callers that hold the bytes
/// as two words already (overlapping first and last eight bytes of a short text).
#[inline(always)]
pub(crate) fn from_words(lo: u64, hi: u64) -> uint8x16_t {
    // SAFETY: the target has NEON (the module's cfg); the intrinsics take and return values
    // only, and the reinterpretation keeps the bits (aarch64 Linux is little-endian: lane 0
    // is the low byte of `lo`).
    unsafe { vreinterpretq_u8_u64(vcombine_u64(vcreate_u64(lo), vcreate_u64(hi))) }
}

/// `byte` in each of the sixteen lanes.
#[inline(always)]
pub(crate) fn splat(byte: u8) -> uint8x16_t {
    // SAFETY: the target has NEON (the module's cfg).
    unsafe { vdupq_n_u8(byte) }
}

/// All ones in lane `i` when lane `i` of `a` equals lane `i` of `b`.
#[inline(always)]
pub(crate) fn eq(a: uint8x16_t, b: uint8x16_t) -> uint8x16_t {
    // SAFETY: the target has NEON (the module's cfg).
    unsafe { vceqq_u8(a, b) }
}

/// All ones in lane `i` when lane `i` of `a` is below lane `i` of `b`, both unsigned.
#[inline(always)]
pub(crate) fn lt(a: uint8x16_t, b: uint8x16_t) -> uint8x16_t {
    // SAFETY: the target has NEON (the module's cfg).
    unsafe { vcltq_u8(a, b) }
}

/// All ones in lane `i` when lane `i` of `a` is below lane `i` of `b`, both read as signed
/// bytes (from 0x80 up negative: below 0x20 and not ASCII at once, in one comparison).
#[inline(always)]
pub(crate) fn lt_signed(a: uint8x16_t, b: uint8x16_t) -> uint8x16_t {
    // SAFETY: the target has NEON (the module's cfg). The reinterpretations keep the bits.
    unsafe { vcltq_s8(vreinterpretq_s8_u8(a), vreinterpretq_s8_u8(b)) }
}

/// All ones in lane `i` when lane `i` of `a` is above lane `i` of `b`, both unsigned.
#[inline(always)]
pub(crate) fn gt(a: uint8x16_t, b: uint8x16_t) -> uint8x16_t {
    // SAFETY: the target has NEON (the module's cfg).
    unsafe { vcgtq_u8(a, b) }
}

/// The bits of `a` or `b`.
#[inline(always)]
pub(crate) fn or(a: uint8x16_t, b: uint8x16_t) -> uint8x16_t {
    // SAFETY: the target has NEON (the module's cfg).
    unsafe { vorrq_u8(a, b) }
}

/// The bits of both `a` and `b`.
#[inline(always)]
pub(crate) fn and(a: uint8x16_t, b: uint8x16_t) -> uint8x16_t {
    // SAFETY: the target has NEON (the module's cfg).
    unsafe { vandq_u8(a, b) }
}

/// All ones in lane `i` when lanes `i` of `a` and `b` share a set bit.
#[inline(always)]
pub(crate) fn test(a: uint8x16_t, b: uint8x16_t) -> uint8x16_t {
    // SAFETY: the target has NEON (the module's cfg).
    unsafe { vtstq_u8(a, b) }
}

/// The high four bits of each lane, as a number (0 to 15).
#[inline(always)]
pub(crate) fn high_nibbles(v: uint8x16_t) -> uint8x16_t {
    // SAFETY: the target has NEON (the module's cfg).
    unsafe { vshrq_n_u8::<4>(v) }
}

/// Lane `i` is `table`'s lane `index[i]`, or zero when that is 16 or more (a table lookup).
#[inline(always)]
pub(crate) fn lookup(table: uint8x16_t, index: uint8x16_t) -> uint8x16_t {
    // SAFETY: the target has NEON (the module's cfg).
    unsafe { vqtbl1q_u8(table, index) }
}

/// The lanes of `v` moved down by `n`: lane `i` is lane `i + n` of `v`, zero past lane 15
/// (all zero when `n` is 16 or more).
#[inline(always)]
pub(crate) fn shift_down(v: uint8x16_t, n: usize) -> uint8x16_t {
    const LANES: [u8; 16] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15];
    // At most 16, so the indices (at most 31) never wrap round to a lane.
    let n = n.min(16) as u8;
    // SAFETY: the target has NEON (the module's cfg).
    let index = unsafe { vaddq_u8(load(&LANES), splat(n)) };
    lookup(v, index)
}

/// Bit `i` is set when lane `i` of the lane mask `v` is set (its lanes all ones or all
/// zeros, as a comparison gives them): SSE2's `_mm_movemask_epi8`. Each lane keeps its
/// weight (1 to 128, twice over), then three pairwise additions sum the eight lanes of each
/// half into one byte (the weights are distinct bits, so the sums never carry): bits 0..8
/// from lanes 0..8, bits 8..16 from lanes 8..16.
#[inline(always)]
pub(crate) fn mask(v: uint8x16_t) -> u32 {
    const WEIGHTS: [u8; 16] = [1, 2, 4, 8, 16, 32, 64, 128, 1, 2, 4, 8, 16, 32, 64, 128];
    let weighted = and(v, load(&WEIGHTS));
    // SAFETY: the target has NEON (the module's cfg). Lane 0 of the u16 view is bytes 0
    // and 1 (little-endian): the two sums.
    unsafe {
        let sums = vpaddq_u8(weighted, weighted);
        let sums = vpaddq_u8(sums, sums);
        let sums = vpaddq_u8(sums, sums);
        u32::from(vgetq_lane_u16(vreinterpretq_u16_u8(sums), 0))
    }
}

/// Bit `16 * k + i` is set when lane `i` of the lane mask `vs[k]` is set: [`mask`] of
/// sixteen lanes four times over (a 64-byte block), in nine instructions more than the four
/// comparisons rather than twenty. Each lane keeps its weight, then pairwise additions sum
/// the four vectors' halves into one byte each, in order.
#[inline(always)]
pub(crate) fn mask64(vs: [uint8x16_t; 4]) -> u64 {
    const WEIGHTS: [u8; 16] = [1, 2, 4, 8, 16, 32, 64, 128, 1, 2, 4, 8, 16, 32, 64, 128];
    let w = load(&WEIGHTS);
    let [a, b, c, d] = vs.map(|v| and(v, w));
    // SAFETY: the target has NEON (the module's cfg). Lane 0 of the u64 view is the first
    // eight bytes (little-endian): the sums of the halves of `a`, `b`, `c`, `d`.
    unsafe {
        let ab = vpaddq_u8(a, b);
        let cd = vpaddq_u8(c, d);
        let abcd = vpaddq_u8(ab, cd);
        let sums = vpaddq_u8(abcd, abcd);
        vgetq_lane_u64(vreinterpretq_u64_u8(sums), 0)
    }
}

/// Bits `4i..4i + 4` are set when lane `i` of the lane mask `v` is set (its lanes all ones
/// or all zeros): lane `i` is the first set lane when `trailing_zeros / 4 == i`, the last
/// when `(63 - leading_zeros) / 4 == i`. Two instructions (a narrowing shift: each pair of
/// lanes read as a u16, shifted right by four, keeps the high nibble of the first and the
/// low nibble of the second), where [`mask`] takes five.
#[inline(always)]
pub(crate) fn nibbles(v: uint8x16_t) -> u64 {
    // SAFETY: the target has NEON (the module's cfg). The reinterpretations keep the bits.
    unsafe {
        vget_lane_u64(
            vreinterpret_u64_u8(vshrn_n_u16(vreinterpretq_u16_u8(v), 4)),
            0,
        )
    }
}

/// Whether any lane of `v` is not zero (its largest lane).
#[inline(always)]
pub(crate) fn any(v: uint8x16_t) -> bool {
    // SAFETY: the target has NEON (the module's cfg).
    unsafe { vmaxvq_u8(v) != 0 }
}

#[cfg(test)]
mod tests {
    use std::arch::aarch64::vst1q_u8;

    use super::*;

    /// The lanes of `v`.
    fn lanes(v: uint8x16_t) -> [u8; 16] {
        let mut out = [0u8; 16];
        // SAFETY: the target has NEON (the module's cfg); `out` is sixteen writable bytes.
        unsafe { vst1q_u8(out.as_mut_ptr(), v) };
        out
    }

    /// Chunks that put every byte value in every lane.
    fn chunks() -> impl Iterator<Item = [u8; 16]> {
        crate::swar::lanes::every_byte_in_every_lane(16)
    }

    /// The lane mask of `bits`: lane `i` all ones when bit `i` is set.
    fn lane_mask(bits: u32) -> [u8; 16] {
        std::array::from_fn(|i| if bits >> i & 1 == 1 { 0xff } else { 0 })
    }

    fn bits_of(lanes: &[u8; 16]) -> u32 {
        lanes
            .iter()
            .enumerate()
            .fold(0, |m, (i, &b)| m | u32::from(b == 0xff) << i)
    }

    fn nibbles_of(lanes: &[u8; 16]) -> u64 {
        lanes
            .iter()
            .enumerate()
            .fold(0, |m, (i, &b)| m | (u64::from(b == 0xff) * 0xf) << (4 * i))
    }

    #[test]
    fn load_and_splat_are_their_bytes() {
        for chunk in chunks() {
            assert_eq!(lanes(load(&chunk)), chunk);
        }
        for byte in 0..=255u8 {
            assert_eq!(lanes(splat(byte)), [byte; 16]);
        }
    }

    /// `from_words` of a chunk's two halves is the chunk, every byte value in every lane.
    #[test]
    fn from_words_is_its_bytes() {
        for chunk in chunks() {
            let (lo, hi) = chunk.split_at(8);
            let word = |half: &[u8]| u64::from_le_bytes(half.try_into().unwrap());
            assert_eq!(lanes(from_words(word(lo), word(hi))), chunk);
        }
    }

    /// Each comparison is its byte-at-a-time twin, every byte value in every lane against
    /// every other.
    #[test]
    fn comparisons_are_bytewise() {
        type Op = fn(uint8x16_t, uint8x16_t) -> uint8x16_t;
        type Reference = fn(u8, u8) -> bool;
        let ops: [(Op, Reference); 4] = [
            (eq, |a, b| a == b),
            (lt, |a, b| a < b),
            (gt, |a, b| a > b),
            (lt_signed, |a, b| a.cast_signed() < b.cast_signed()),
        ];
        for chunk in chunks() {
            for n in 0..=255u8 {
                for (op, reference) in ops {
                    let expected = chunk.map(|b| if reference(b, n) { 0xff } else { 0 });
                    assert_eq!(lanes(op(load(&chunk), splat(n))), expected, "{chunk:?} {n}");
                    let expected = chunk.map(|b| if reference(n, b) { 0xff } else { 0 });
                    assert_eq!(lanes(op(splat(n), load(&chunk))), expected, "{n} {chunk:?}");
                }
            }
        }
    }

    /// `or` and `and` are their bytes', every byte value in every lane against every other.
    #[test]
    fn or_and_are_bytewise() {
        for chunk in chunks() {
            for n in 0..=255u8 {
                let (v, s) = (load(&chunk), splat(n));
                assert_eq!(lanes(or(v, s)), chunk.map(|b| b | n));
                assert_eq!(lanes(and(v, s)), chunk.map(|b| b & n));
            }
        }
    }

    /// `mask`, `nibbles` and `any` of every lane mask (all 65,536) are their lanes', and
    /// of each comparison above.
    #[test]
    fn masks_are_their_lanes() {
        for bits in 0..=u16::MAX {
            let v = load(&lane_mask(u32::from(bits)));
            assert_eq!(mask(v), u32::from(bits));
            assert_eq!(nibbles(v), nibbles_of(&lane_mask(u32::from(bits))));
            assert_eq!(any(v), bits != 0);
        }
        for chunk in chunks() {
            for n in 0..=255u8 {
                let v = eq(load(&chunk), splat(n));
                assert_eq!(mask(v), bits_of(&lanes(v)));
                assert_eq!(nibbles(v), nibbles_of(&lanes(v)));
                assert_eq!(any(v), chunk.contains(&n));
            }
        }
    }

    /// `mask64` of four lane masks is their `mask`s side by side.
    #[test]
    fn mask64_is_four_masks() {
        for bits in 0..=u16::MAX {
            let b = u32::from(bits);
            let quads = [
                [b, 0, 0, 0],
                [0, b, 0, 0],
                [0, 0, b, 0],
                [0, 0, 0, b],
                [b, !b & 0xffff, b.rotate_left(3) & 0xffff, b >> 5],
            ];
            for quad in quads {
                let expected = quad
                    .iter()
                    .enumerate()
                    .fold(0u64, |m, (k, &q)| m | u64::from(q) << (16 * k));
                assert_eq!(
                    mask64(quad.map(|q| load(&lane_mask(q)))),
                    expected,
                    "{quad:?}"
                );
            }
        }
    }

    /// `test`, `high_nibbles` and `lookup` are their bytes', every byte value in every lane.
    #[test]
    fn test_nibbles_lookup_are_bytewise() {
        let table: [u8; 16] = std::array::from_fn(|i| (i as u8).wrapping_mul(37) ^ 0x5a);
        for chunk in chunks() {
            let v = load(&chunk);
            for n in 0..=255u8 {
                let expected = chunk.map(|b| if b & n != 0 { 0xff } else { 0 });
                assert_eq!(lanes(test(v, splat(n))), expected);
            }
            assert_eq!(lanes(high_nibbles(v)), chunk.map(|b| b >> 4));
            let looked = chunk.map(|b| table.get(usize::from(b)).copied().unwrap_or(0));
            assert_eq!(lanes(lookup(load(&table), v)), looked);
        }
    }

    /// `shift_down` by every count is the lanes moved down, zeros after.
    #[test]
    fn shift_down_is_bytewise() {
        for chunk in chunks() {
            for n in 0..40 {
                let expected: [u8; 16] =
                    std::array::from_fn(|i| chunk.get(i + n).copied().unwrap_or(0));
                assert_eq!(
                    lanes(shift_down(load(&chunk), n)),
                    expected,
                    "{chunk:?} {n}"
                );
            }
        }
    }

    /// `any` of any vector: zero only when every lane is.
    #[test]
    fn any_is_a_nonzero_lane() {
        for chunk in chunks() {
            for lane in 0..16 {
                let mut one = [0u8; 16];
                one[lane] = chunk[lane];
                assert_eq!(any(load(&one)), chunk[lane] != 0);
            }
        }
    }
}
