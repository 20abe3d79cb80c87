//! Names for the target's vector support, so the code says `#[cfg(vector16)]` instead of
//! spelling both architectures out at every use.
//!
//! The sixteen-byte vector searches (`swar`, the JSON walk, the JSON escaper, the CSV writer)
//! exist twice, SSE2 on x86_64 and NEON on aarch64, beside a SWAR or byte-at-a-time fallback
//! for every other target. Each use picks a half: one ISA's module (`sse2`, `neon`), either
//! (`vector16`) or the fallback (`not(vector16)`). Spelled out, `vector16` was a six-line
//! `any(all(...), all(...))` written ~50 times, where one copy missing an architecture would
//! have compiled a fast path and its fallback both, or neither, on that target only.
//! One definition here keeps the halves complementary everywhere.
//!
//! `cfg_aliases` evaluates the target's `CARGO_CFG_*` (not the host's), so cross builds and
//! `cargo lambda build --arm64` get the aarch64 names, and declares each name for
//! `--check-cfg` (no `unexpected_cfgs`).

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    cfg_aliases::cfg_aliases! {
        // SSE2 is in the x86_64 baseline, NEON in every aarch64 Linux target's.
        sse2: { all(target_arch = "x86_64", target_feature = "sse2") },
        neon: { all(target_arch = "aarch64", target_feature = "neon") },
        vector16: { any(sse2, neon) },
    }
}
