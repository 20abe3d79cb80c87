//! The CLI's output stays byte-identical: SHA-256 of stdout for every corpus file and
//! synthetic input, in every format, against `golden/outputs.sha256` (see `golden/README.md`).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

const MANIFEST: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden/outputs.sha256");

/// Input file name -> path: the synthetic inputs here and the corpus files.
fn inputs() -> BTreeMap<String, PathBuf> {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    let corpus = here.join("../../corpus");
    let mut files: Vec<PathBuf> = std::fs::read_dir(here.join("tests/golden/inputs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    for f in [
        "kinesis/kinesis-event.json",
        "kinesis/awslogs-event.json",
        "mariadb/audit-full.log",
        "mariadb/audit-limit1024.log",
        "aurora/derived-from-mariadb-full.log",
        "doc/doc_examples.txt",
    ] {
        files.push(corpus.join(f));
    }
    files
        .into_iter()
        .map(|p| (p.file_name().unwrap().to_string_lossy().into_owned(), p))
        .collect()
}

/// What the binary prints for `<input>.<format>` (`stats` for the stats command).
fn run(input: &Path, format: &str) -> Vec<u8> {
    let mut cmd = assert_cmd::Command::cargo_bin("rdsaudit").unwrap();
    if format == "stats" {
        cmd.args(["stats", "--threads", "2"]);
    } else {
        cmd.args(["parse", "-q", "--threads", "2", "-f", format]);
    }
    // Run where the input is and name it relatively: events carry the file name (`file`),
    // which must not depend on where the repository is checked out.
    cmd.current_dir(input.parent().unwrap())
        .arg(input.file_name().unwrap())
        .output()
        .unwrap()
        .stdout
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

#[test]
fn output_is_byte_identical_to_the_recorded_digests() {
    let inputs = inputs();
    let manifest = std::fs::read_to_string(MANIFEST).unwrap();
    let update = std::env::var_os("RDSAUDIT_GOLDEN_UPDATE").is_some();
    let (mut differ, mut updated, mut checked) = (Vec::new(), String::new(), 0);
    for line in manifest.lines() {
        let (digest, output) = line.split_once("  ").unwrap();
        let (name, format) = output.rsplit_once('.').unwrap();
        let input = inputs
            .get(name)
            .unwrap_or_else(|| panic!("no input {name}"));
        let actual = hex(&Sha256::digest(run(input, format)));
        if actual != digest {
            differ.push(output.to_owned());
        }
        let _ = writeln!(updated, "{actual}  {output}");
        checked += 1;
    }
    assert_eq!(
        checked,
        inputs.len() * 5,
        "every input in every format and stats"
    );
    if update {
        std::fs::write(MANIFEST, updated).unwrap();
        return;
    }
    assert!(
        differ.is_empty(),
        "output changed for {differ:?}; if intended, regenerate (tests/golden/README.md)"
    );
}
