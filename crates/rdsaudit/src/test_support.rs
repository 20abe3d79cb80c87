//! Helpers shared by the unit tests of the pipeline stages: real gzip from real compressors
//! (flate2, independent of the libdeflate we decode with, and the `gzip` binary), base64 as
//! Kinesis writes it, and the padding simd-json needs.

use base64::Engine as _;
use std::io::Write;

/// One gzip member compressed by flate2 at level 6 (CloudWatch Logs' level).
pub(crate) fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(6));
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

/// Compresses with the real `gzip` binary and `args` (e.g. `["-9", "-c"]`); `None` if it is not
/// installed or fails, so callers skip that check instead of failing.
pub(crate) fn gzip_cli(data: &[u8], args: &[&str]) -> Option<Vec<u8>> {
    let mut child = std::process::Command::new("gzip")
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .ok()?;
    let mut stdin = child.stdin.take()?;
    let data = data.to_vec();
    // Write from another thread: gzip's output pipe would fill up and block a single thread.
    let writer = std::thread::spawn(move || stdin.write_all(&data));
    let out = child.wait_with_output().ok()?;
    writer.join().ok()?.ok()?;
    out.status.success().then_some(out.stdout)
}

/// STANDARD base64 with padding, as Kinesis `data` and `awslogs.data` carry it.
pub(crate) fn base64(data: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(data)
}

/// `json` followed by `simd_json::INPUT_PADDING` zero bytes, and the JSON length: the
/// `(buf, len)` pair the in-place parsers take.
pub(crate) fn padded(json: &[u8]) -> (Vec<u8>, usize) {
    let mut buf = json.to_vec();
    buf.resize(json.len() + simd_json::INPUT_PADDING, 0);
    (buf, json.len())
}

/// Compiles only if `T` is `Send`: one parser per worker thread must be movable into it.
pub(crate) fn assert_send<T: Send>() {}
