//! Shared by the integration tests: where the recorded MariaDB corpus is.

use std::path::{Path, PathBuf};

/// The checked-in recording, or a fresh `record.sh` output named by `RDSAUDIT_FRESH_DIR`
/// (`.ci/run` records one from a real server).
pub fn corpus_dir() -> PathBuf {
    std::env::var_os("RDSAUDIT_FRESH_DIR").map_or_else(
        || Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../corpus/mariadb")).to_path_buf(),
        PathBuf::from,
    )
}
