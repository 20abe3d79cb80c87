//! Stage 2 of the pipeline: gunzip a CloudWatch Logs payload with libdeflate.
//!
//! Every record CloudWatch Logs writes to a Kinesis stream (and every `awslogs.data` it sends to a
//! Lambda directly) is a gzip stream whose decompressed content is the JSON envelope handled by
//! [`crate::input::envelope`]. On the wire (after base64 decoding) it starts with the gzip magic:
//!
//! ```text
//! 1f 8b 08 00 00 00 00 00 00 ff  <deflate data ...>  <crc32 LE> <isize LE>
//! └─ magic ┘ CM  FLG  MTIME  XFL OS
//! ```
//!
//! and inflates to something like
//!
//! ```text
//! {"messageType":"DATA_MESSAGE","owner":"123456789012","logGroup":"/aws/rds/cluster/c1/audit",
//!  "logStream":"c1-instance-1","subscriptionFilters":["to-kinesis"],
//!  "logEvents":[{"id":"3760…","timestamp":1653053459680,"message":"1653053459680124,c1-instance-1,…"}]}
//! ```
//!
//! Why not the safe `libdeflater` API: it decodes only the *first* gzip member, and Firehose (and
//! anything that `cat`s gzip files) produces several members back to back. We therefore parse each
//! member header ourselves, run libdeflate's raw DEFLATE decoder on the body, and check the CRC-32
//! and ISIZE trailer ourselves. Doing the header/trailer by hand also lets us report *which* thing
//! is wrong (not gzip, truncated, bad CRC, ...) where libdeflate only says "bad data".
//!
//! Memory: the output goes to a buffer owned by the [`Inflater`] and reused across calls. It is
//! sized from the ISIZE trailer and doubled on demand, but never past the configured limit (plus
//! [`simd_json::INPUT_PADDING`]), so a gzip bomb costs at most `limit` bytes of memory.
//!
//! ```
//! use rdsaudit::input::gzip::Inflater;
//! # fn gz(data: &[u8]) -> Vec<u8> {
//! #     use std::io::Write;
//! #     let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
//! #     e.write_all(data).unwrap();
//! #     e.finish().unwrap()
//! # }
//! // Two gzip members back to back, as Firehose writes them to S3.
//! let mut input = gz(br#"{"messageType":"CONTROL_MESSAGE"}"#);
//! input.extend(gz(b"\n"));
//! let mut inflater = Inflater::new();
//! let out = inflater.inflate(&input)?;
//! assert_eq!(out.bytes(), b"{\"messageType\":\"CONTROL_MESSAGE\"}\n");
//! // The buffer is padded so the envelope stage can parse it in place.
//! let (buf, len) = out.into_padded();
//! assert!(buf.len() >= len + simd_json::INPUT_PADDING);
//! # Ok::<(), rdsaudit::input::gzip::InflateError>(())
//! ```

mod ffi;

use ffi::RawDecompressor;

/// Default cap on the decompressed size of one input: 64 MiB.
///
/// A Kinesis record is at most 1 MiB and CloudWatch payloads compress roughly 10-20x, so real
/// payloads stay well below this; anything larger is treated as hostile (a gzip bomb).
pub const DEFAULT_MAX_OUTPUT: usize = 64 << 20;

/// Spare bytes kept after the decompressed data so `simd_json::fill_tape_padded` can read past
/// the end with SIMD loads without a copy.
const PADDING: usize = simd_json::INPUT_PADDING;

/// Smallest output size we start with, so tiny ISIZE hints (or lying ones) don't cause a
/// cascade of reallocations for ordinary payloads.
const MIN_INITIAL_OUTPUT: usize = 4 << 10;

/// Above this size the buffer is a candidate for shrinking (see [`Inflater::inflate`]).
///
/// Rationale: a Lambda keeps one `Inflater` per worker for its whole life. One unusually large
/// (or malicious) payload must not pin up to `limit` bytes per worker forever, but ordinary
/// payloads (up to a few MiB inflated) should never pay for a reallocation. So we keep anything
/// up to 4 MiB, and only shrink a bigger buffer when the next input's ISIZE hint is under a
/// quarter of it.
const RETAIN_OUTPUT: usize = 4 << 20;

/// Upper bound of DEFLATE's expansion ratio (258-byte matches coded in ~2 bits, rounded up).
const MAX_DEFLATE_RATIO: usize = 1032;

/// gzip header constants (RFC 1952).
const GZIP_ID1: u8 = 0x1f;
const GZIP_ID2: u8 = 0x8b;
const GZIP_CM_DEFLATE: u8 = 8;
const GZIP_FHCRC: u8 = 0x02;
const GZIP_FEXTRA: u8 = 0x04;
const GZIP_FNAME: u8 = 0x08;
const GZIP_FCOMMENT: u8 = 0x10;
const GZIP_FRESERVED: u8 = 0xe0;
const GZIP_FIXED_HEADER: usize = 10;
const GZIP_TRAILER: usize = 8;

/// Why a gzip input could not be decompressed.
///
/// `member` is the 0-based index of the gzip member (several can be concatenated) and `offset`
/// the byte offset in the *compressed* input where the problem was found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InflateError {
    /// The input has no bytes at all.
    #[error("empty input: expected a gzip stream")]
    Empty,
    /// The first bytes are not the gzip magic `1f 8b`.
    #[error("not gzip: expected magic 1f 8b at byte {offset}, found {found:02x?}")]
    NotGzip {
        /// Byte offset of the bad magic.
        offset: usize,
        /// Up to the first two bytes found there.
        found: Vec<u8>,
    },
    /// The member uses a compression method other than DEFLATE (8).
    #[error("gzip member {member} at byte {offset}: unsupported compression method {method}")]
    UnsupportedMethod {
        /// Member index.
        member: usize,
        /// Byte offset of the member start.
        offset: usize,
        /// The CM byte found.
        method: u8,
    },
    /// The member header has reserved flag bits set.
    #[error("gzip member {member} at byte {offset}: reserved header flags set ({flags:#04x})")]
    BadHeader {
        /// Member index.
        member: usize,
        /// Byte offset of the member start.
        offset: usize,
        /// The FLG byte found.
        flags: u8,
    },
    /// The input ends inside a member header or trailer.
    #[error("gzip member {member} truncated: input ends at byte {offset} inside the {part}")]
    Truncated {
        /// Member index.
        member: usize,
        /// Byte offset where the input ends (the input length).
        offset: usize,
        /// Which part was cut: `"header"` or `"trailer"`.
        part: &'static str,
    },
    /// libdeflate rejected the DEFLATE body. This includes a stream cut off inside its
    /// compressed blocks: libdeflate cannot tell that apart from corruption.
    #[error(
        "gzip member {member}: corrupt or truncated deflate data (body starts at byte {offset})"
    )]
    Corrupt {
        /// Member index.
        member: usize,
        /// Byte offset where the DEFLATE body of the member starts.
        offset: usize,
    },
    /// The CRC-32 in the trailer does not match the decompressed data.
    #[error(
        "gzip member {member}: CRC-32 mismatch (trailer at byte {offset} says {expected:#010x}, data has {actual:#010x})"
    )]
    BadCrc {
        /// Member index.
        member: usize,
        /// Byte offset of the trailer.
        offset: usize,
        /// CRC-32 stored in the trailer.
        expected: u32,
        /// CRC-32 of the decompressed data.
        actual: u32,
    },
    /// The ISIZE in the trailer does not match the decompressed length (mod 2^32).
    #[error(
        "gzip member {member}: size mismatch (trailer at byte {offset} says {expected}, decompressed {actual} mod 2^32)"
    )]
    SizeMismatch {
        /// Member index.
        member: usize,
        /// Byte offset of the trailer.
        offset: usize,
        /// ISIZE stored in the trailer.
        expected: u32,
        /// Actual decompressed length mod 2^32.
        actual: u32,
    },
    /// Bytes after a complete member that are not another gzip member (for example zero
    /// padding). We are strict: silently dropping bytes could hide data loss.
    #[error(
        "{len} bytes of trailing data after gzip member {member}, starting at byte {offset} (found {found:02x?})"
    )]
    TrailingData {
        /// Index of the last complete member.
        member: usize,
        /// Byte offset of the first trailing byte.
        offset: usize,
        /// Number of trailing bytes.
        len: usize,
        /// Up to the first two trailing bytes.
        found: Vec<u8>,
    },
    /// The decompressed output would exceed the configured limit (gzip bomb protection).
    #[error("decompressed output exceeds the limit of {limit} bytes")]
    OutputLimit {
        /// The configured limit in bytes.
        limit: usize,
    },
    /// libdeflate could not allocate its decompressor (out of memory).
    #[error("libdeflate could not allocate a decompressor")]
    Alloc,
    /// libdeflate returned a status we do not expect (defensive; not seen in practice).
    #[error("gzip member {member}: unexpected libdeflate status {status}")]
    Internal {
        /// Member index.
        member: usize,
        /// Raw `libdeflate_result`.
        status: u32,
    },
}

/// CRC-32 (gzip polynomial), libdeflate's SIMD implementation.
fn crc32(data: &[u8]) -> u32 {
    libdeflater::crc32(data)
}

fn le32(bytes: Option<&[u8]>) -> Option<u32> {
    let b: [u8; 4] = bytes?.get(..4)?.try_into().ok()?;
    Some(u32::from_le_bytes(b))
}

/// The bad end of a multi-member gzip input whose first members inflated: where it starts
/// (the first byte not read) and why it could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GzipTail {
    /// Byte offset of the first member that failed (or of the trailing bytes).
    pub offset: usize,
    /// Why.
    pub error: InflateError,
}

/// Reusable multi-member gzip decompressor with an output cap.
///
/// One per worker thread: it is `Send` but not `Sync`, and `inflate` borrows it mutably because
/// the result lives in its internal buffer.
pub struct Inflater {
    raw: Option<RawDecompressor>,
    /// Output buffer. Its `len()` is the working size: decompressed capacity + [`PADDING`].
    /// Bytes beyond the current output are stale but initialised, which is fine as padding.
    buf: Vec<u8>,
    limit: usize,
}

impl std::fmt::Debug for Inflater {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inflater")
            .field("limit", &self.limit)
            .field("buffer_len", &self.buf.len())
            .finish_non_exhaustive()
    }
}

impl Default for Inflater {
    fn default() -> Self {
        Self::new()
    }
}

impl Inflater {
    /// An inflater capped at [`DEFAULT_MAX_OUTPUT`].
    #[must_use]
    pub fn new() -> Self {
        Self::with_limit(DEFAULT_MAX_OUTPUT)
    }

    /// An inflater whose output never exceeds `limit` bytes (memory use is at most
    /// `limit + simd_json::INPUT_PADDING` for the output buffer).
    #[must_use]
    pub fn with_limit(limit: usize) -> Self {
        // Allocation failure of the ~32 KiB decompressor is reported lazily by `inflate` so
        // construction stays infallible.
        Self {
            raw: RawDecompressor::new(),
            buf: Vec::new(),
            limit,
        }
    }

    /// The configured output limit in bytes.
    #[must_use]
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// Decompresses every gzip member of `input` (concatenated members are all read, back to
    /// back) into the internal buffer.
    ///
    /// The returned bytes are followed by at least `simd_json::INPUT_PADDING` spare bytes so the
    /// envelope stage can parse them in place ([`Inflated::into_padded`]).
    ///
    /// Bytes after the last member that do not start another member (including zero padding)
    /// are an error ([`InflateError::TrailingData`]).
    ///
    /// # Errors
    /// See [`InflateError`]: empty or non-gzip input, truncated header/trailer, corrupt
    /// DEFLATE data, CRC or size mismatch, trailing data, or output over the limit.
    pub fn inflate(&mut self, input: &[u8]) -> Result<Inflated<'_>, InflateError> {
        let (len, tail) = self.inflate_members(input)?;
        if let Some(tail) = tail {
            return Err(tail.error);
        }
        Ok(Inflated {
            buf: self.buf.as_mut_slice(),
            len,
        })
    }

    /// Like [`Inflater::inflate`], but a bad member after at least one good one does not
    /// lose the good ones: their bytes are returned with the bad tail ([`GzipTail`]: where it
    /// starts and why). A truncated download, a `.gz` cut short or zero-padded keeps every
    /// whole member's data.
    ///
    /// # Errors
    /// As [`Inflater::inflate`], when the first member itself is bad.
    pub fn inflate_prefix(
        &mut self,
        input: &[u8],
    ) -> Result<(Inflated<'_>, Option<GzipTail>), InflateError> {
        let (len, tail) = self.inflate_members(input)?;
        let inflated = Inflated {
            buf: self.buf.as_mut_slice(),
            len,
        };
        Ok((inflated, tail))
    }

    /// Inflates the members of `input` into the buffer: how many bytes the good ones wrote,
    /// and the bad tail when a member after the first fails.
    fn inflate_members(&mut self, input: &[u8]) -> Result<(usize, Option<GzipTail>), InflateError> {
        if input.is_empty() {
            return Err(InflateError::Empty);
        }
        check_magic(input, 0)?;
        // ISIZE of the last member: a good guess for the common single-member case. It is only
        // a hint (it is mod 2^32, covers only the last member and can lie), hence the clamp.
        let hint = input
            .len()
            .checked_sub(4)
            .and_then(|at| le32(input.get(at..)))
            .map_or(0, |v| usize::try_from(v).unwrap_or(usize::MAX));
        // A DEFLATE stream expands at most ~1032:1, so a hint above that is a lie (or a
        // truncated input whose last 4 bytes are not a trailer); don't let it make us allocate
        // up to the limit for a small broken input.
        let plausible = input.len().saturating_mul(MAX_DEFLATE_RATIO);
        let initial = hint.min(plausible).max(MIN_INITIAL_OUTPUT).min(self.limit);

        // Shrink policy, see RETAIN_OUTPUT.
        if self.buf.len() > RETAIN_OUTPUT && initial.saturating_mul(4) < self.buf.len() {
            let keep = initial.max(RETAIN_OUTPUT).saturating_add(PADDING);
            self.buf.truncate(keep);
            self.buf.shrink_to(keep);
        }
        self.ensure_capacity(initial);

        let mut written: usize = 0;
        let mut pos: usize = 0;
        let mut member: usize = 0;
        loop {
            match self.member_at(input, pos, member, written) {
                Ok((next, out_used)) => {
                    written = written.saturating_add(out_used);
                    pos = next;
                }
                Err(error) if member > 0 => {
                    let tail = GzipTail { offset: pos, error };
                    return Ok((written, Some(tail)));
                }
                Err(error) => return Err(error),
            }
            if pos >= input.len() {
                break;
            }
            member += 1;
            if let Err(err) = check_magic(input, pos) {
                let error = match err {
                    InflateError::NotGzip { found, .. } => InflateError::TrailingData {
                        member: member - 1,
                        offset: pos,
                        len: input.len() - pos,
                        found,
                    },
                    other => other,
                };
                return Ok((written, Some(GzipTail { offset: pos, error })));
            }
        }
        Ok((written, None))
    }

    /// Decodes the member starting at `pos` into the buffer at `written`: where the next member
    /// starts and how many bytes this one wrote.
    fn member_at(
        &mut self,
        input: &[u8],
        pos: usize,
        member: usize,
        written: usize,
    ) -> Result<(usize, usize), InflateError> {
        let raw = self.raw.as_mut().ok_or(InflateError::Alloc)?;
        {
            let rest = input.get(pos..).unwrap_or_default();
            let body_start = pos + parse_header(rest, member, pos)?;
            let body = input.get(body_start..).unwrap_or_default();

            // Decode the member, doubling the buffer on INSUFFICIENT_SPACE up to the limit.
            let (in_used, out_used) = loop {
                let capacity = self.buf.len().saturating_sub(PADDING);
                let out = self
                    .buf
                    .get_mut(written..capacity)
                    .ok_or(InflateError::OutputLimit { limit: self.limit })?;
                let (status, in_used, out_used) = raw.deflate(body, out);
                match status {
                    libdeflate_sys::libdeflate_result_LIBDEFLATE_SUCCESS => {
                        break (in_used, out_used);
                    }
                    libdeflate_sys::libdeflate_result_LIBDEFLATE_INSUFFICIENT_SPACE => {
                        if capacity >= self.limit {
                            return Err(InflateError::OutputLimit { limit: self.limit });
                        }
                        let grown = capacity.saturating_mul(2).min(self.limit);
                        Self::grow(&mut self.buf, grown);
                    }
                    libdeflate_sys::libdeflate_result_LIBDEFLATE_BAD_DATA => {
                        return Err(InflateError::Corrupt {
                            member,
                            offset: body_start,
                        });
                    }
                    other => {
                        return Err(InflateError::Internal {
                            member,
                            status: other,
                        });
                    }
                }
            };

            let trailer_at = body_start.saturating_add(in_used);
            let trailer = input
                .get(trailer_at..)
                .and_then(|t| t.get(..GZIP_TRAILER))
                .ok_or(InflateError::Truncated {
                    member,
                    offset: input.len(),
                    part: "trailer",
                })?;
            let data = self
                .buf
                .get(written..written.saturating_add(out_used))
                .unwrap_or_default();
            let expected_crc = le32(trailer.get(..4)).unwrap_or_default();
            let actual_crc = crc32(data);
            if expected_crc != actual_crc {
                return Err(InflateError::BadCrc {
                    member,
                    offset: trailer_at,
                    expected: expected_crc,
                    actual: actual_crc,
                });
            }
            let expected_size = le32(trailer.get(4..)).unwrap_or_default();
            // ISIZE is the length mod 2^32 by definition, so truncation is intended.
            #[allow(clippy::cast_possible_truncation)]
            let actual_size = out_used as u32;
            if expected_size != actual_size {
                return Err(InflateError::SizeMismatch {
                    member,
                    offset: trailer_at,
                    expected: expected_size,
                    actual: actual_size,
                });
            }

            Ok((trailer_at.saturating_add(GZIP_TRAILER), out_used))
        }
    }

    /// Makes the working size at least `capacity + PADDING` (never more than needed).
    fn ensure_capacity(&mut self, capacity: usize) {
        if self.buf.len() < capacity.saturating_add(PADDING) {
            Self::grow(&mut self.buf, capacity);
        }
    }

    /// Resizes `buf` to exactly `capacity + PADDING` bytes, reserving exactly that much so the
    /// allocation does not overshoot the limit through amortised growth.
    fn grow(buf: &mut Vec<u8>, capacity: usize) {
        let target = capacity.saturating_add(PADDING);
        if target > buf.len() {
            buf.reserve_exact(target - buf.len());
            buf.resize(target, 0);
        }
    }
}

/// Checks the 2-byte magic at `pos` (tolerating a short input that is a prefix of it, which is
/// then reported as truncated by [`parse_header`]).
fn check_magic(input: &[u8], pos: usize) -> Result<(), InflateError> {
    let rest = input.get(pos..).unwrap_or_default();
    let head = rest.get(..2).unwrap_or(rest);
    let magic: &[u8] = &[GZIP_ID1, GZIP_ID2];
    if magic.starts_with(head) {
        return Ok(());
    }
    Err(InflateError::NotGzip {
        offset: pos,
        found: head.to_vec(),
    })
}

/// Parses a gzip member header at the start of `rest` (which starts at absolute `offset`) and
/// returns its length.
fn parse_header(rest: &[u8], member: usize, offset: usize) -> Result<usize, InflateError> {
    let truncated = InflateError::Truncated {
        member,
        offset: offset.saturating_add(rest.len()),
        part: "header",
    };
    let fixed = rest.get(..GZIP_FIXED_HEADER).ok_or(truncated.clone())?;
    let (&id1, &id2, &cm, &flg) = match fixed {
        [a, b, c, d, ..] => (a, b, c, d),
        _ => return Err(truncated),
    };
    if id1 != GZIP_ID1 || id2 != GZIP_ID2 {
        return Err(InflateError::NotGzip {
            offset,
            found: vec![id1, id2],
        });
    }
    if cm != GZIP_CM_DEFLATE {
        return Err(InflateError::UnsupportedMethod {
            member,
            offset,
            method: cm,
        });
    }
    if flg & GZIP_FRESERVED != 0 {
        return Err(InflateError::BadHeader {
            member,
            offset,
            flags: flg,
        });
    }
    let mut at = GZIP_FIXED_HEADER;
    if flg & GZIP_FEXTRA != 0 {
        let xlen = match rest.get(at..at + 2) {
            Some([lo, hi]) => usize::from(u16::from_le_bytes([*lo, *hi])),
            _ => return Err(truncated),
        };
        at = at + 2 + xlen;
    }
    for flag in [GZIP_FNAME, GZIP_FCOMMENT] {
        if flg & flag != 0 {
            let field = rest.get(at..).ok_or(truncated.clone())?;
            let nul = memchr::memchr(0, field).ok_or(truncated.clone())?;
            at = at + nul + 1;
        }
    }
    if flg & GZIP_FHCRC != 0 {
        at += 2;
    }
    if at > rest.len() {
        return Err(truncated);
    }
    Ok(at)
}

/// Decompressed output borrowed from an [`Inflater`]'s buffer.
#[derive(Debug)]
pub struct Inflated<'b> {
    buf: &'b mut [u8],
    len: usize,
}

impl<'b> Inflated<'b> {
    /// Number of decompressed bytes.
    #[must_use]
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the decompressed data is empty (a valid gzip of nothing).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The decompressed bytes.
    #[must_use]
    pub fn bytes(&self) -> &[u8] {
        self.buf.get(..self.len).unwrap_or_default()
    }

    /// The whole buffer (at least `len + simd_json::INPUT_PADDING` bytes; the padding content is
    /// unspecified) and `len`, for in-place parsing with `simd_json::fill_tape_padded`.
    #[must_use]
    pub fn into_padded(self) -> (&'b mut [u8], usize) {
        (self.buf, self.len)
    }
}

#[cfg(test)]
mod tests;
