//! The crate's only FFI: libdeflate's raw DEFLATE decoder, for the one thing the safe
//! `libdeflater` API does not give: how many input bytes a member's body took, which is where
//! the next gzip member starts.

use std::ffi::c_void;
use std::ptr::NonNull;

/// Owned libdeflate decompressor handle, freed on drop.
pub(super) struct RawDecompressor(NonNull<libdeflate_sys::libdeflate_decompressor>);

impl RawDecompressor {
    pub(super) fn new() -> Option<Self> {
        // SAFETY: `libdeflate_alloc_decompressor` has no preconditions; it returns NULL on
        // allocation failure, which `NonNull::new` turns into `None`.
        let ptr = unsafe { libdeflate_sys::libdeflate_alloc_decompressor() };
        NonNull::new(ptr).map(Self)
    }

    /// Raw DEFLATE decode of `input` into `out`. Returns the libdeflate status and, on success,
    /// `(consumed input bytes, produced output bytes)`.
    pub(super) fn deflate(&mut self, input: &[u8], out: &mut [u8]) -> (u32, usize, usize) {
        let mut in_used: usize = 0;
        let mut out_used: usize = 0;
        // SAFETY: the decompressor pointer is valid (allocated in `new`, freed only in `drop`)
        // and used exclusively through `&mut self`; `input` is readable for `input.len()` bytes
        // and `out` writable for `out.len()` bytes for the duration of the call; both out-params
        // point to live locals. libdeflate never reads or writes outside these ranges.
        let status = unsafe {
            libdeflate_sys::libdeflate_deflate_decompress_ex(
                self.0.as_ptr(),
                input.as_ptr().cast::<c_void>(),
                input.len(),
                out.as_mut_ptr().cast::<c_void>(),
                out.len(),
                &mut in_used,
                &mut out_used,
            )
        };
        (status, in_used, out_used)
    }
}

impl Drop for RawDecompressor {
    fn drop(&mut self) {
        // SAFETY: the pointer came from `libdeflate_alloc_decompressor` and is freed exactly once.
        unsafe { libdeflate_sys::libdeflate_free_decompressor(self.0.as_ptr()) }
    }
}

// SAFETY: a libdeflate decompressor is a plain heap struct with no thread affinity or shared
// state; we own it exclusively and only use it through `&mut self`, so moving it to another
// thread is sound. (It is deliberately not `Sync`.)
unsafe impl Send for RawDecompressor {}
