//! Which files the command line names: files as given, `-` for standard input, directories
//! walked (every file below them), and glob patterns expanded by us when the shell did not
//! (`'logs/**/*.gz'` quoted, or a shell without globbing).
//!
//! Order: arguments in the order given; the files of a directory or a pattern in natural name
//! order (`audit.log.2` before `audit.log.10`, as RDS numbers rotated files). A file reached
//! twice (a directory and a pattern inside it, a symbolic or hard link to it) is read once. Hidden entries (`.name`) below a
//! directory are skipped: a downloaded folder's `.DS_Store` is not an audit log. A pattern that
//! matches nothing and an unreadable directory entry are errors naming them, like a missing
//! file.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

/// One input to read: a path (`-` is standard input), or why an argument gave none.
pub type Input = Result<PathBuf, Unusable>;

/// An argument, or an entry below it, that names nothing readable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unusable {
    /// The argument or entry, as the user would write it.
    pub name: String,
    /// What is wrong with it.
    pub reason: String,
}

/// The inputs `args` name, in order (standard input when there are none).
pub fn expand(args: &[PathBuf]) -> Vec<Input> {
    if args.is_empty() {
        return vec![Ok(PathBuf::from("-"))];
    }
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    for arg in args {
        for input in expand_one(arg) {
            let first = match &input {
                Ok(path) if path != Path::new("-") => seen.insert(identity(path)),
                _ => true,
            };
            if first {
                out.push(input);
            }
        }
    }
    out
}

/// Refuses to write `output` (named by `flag`) when it is one of `inputs` (after following
/// links: `./a.log`, a symbolic link): creating it would empty an audit log before it is read
/// (`parse --rejects gl/*.log`, the rejects file name forgotten before a glob; review 8, F17).
pub fn refuse_overwrite(flag: &str, output: &Path, inputs: &[Input]) -> anyhow::Result<()> {
    for input in inputs.iter().flatten() {
        if input != Path::new("-") && same_file::is_same_file(output, input).unwrap_or(false) {
            anyhow::bail!(
                "{flag} {}: that file is also an input ({}); writing it would destroy it",
                output.display(),
                input.display()
            );
        }
    }
    Ok(())
}

/// What makes two names one file.
#[derive(Debug, PartialEq, Eq, Hash)]
enum Identity {
    /// The device and inode (Unix): a hard link is the file it links to.
    Inode(u64, u64),
    /// The canonical path when the file exists (so `./a.log` and `a.log` are one file).
    Path(PathBuf),
}

fn identity(path: &Path) -> Identity {
    #[cfg(unix)]
    if let Ok(meta) = std::fs::metadata(path) {
        use std::os::unix::fs::MetadataExt as _;
        return Identity::Inode(meta.dev(), meta.ino());
    }
    Identity::Path(std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf()))
}

fn expand_one(arg: &Path) -> Vec<Input> {
    if arg == Path::new("-") || arg.exists() {
        return walk(arg);
    }
    let text = arg.to_string_lossy();
    if !text.contains(['*', '?', '[']) {
        // Opening it reports the error, with the operating system's words.
        return vec![Ok(arg.to_path_buf())];
    }
    let unusable = |reason: String| Unusable {
        name: text.clone().into_owned(),
        reason,
    };
    let matches = match glob::glob(&text) {
        Ok(paths) => paths,
        Err(e) => return vec![Err(unusable(format!("bad pattern: {e}")))],
    };
    let mut found: Vec<Input> = Vec::new();
    let mut files = Vec::new();
    for m in matches {
        match m {
            Ok(path) => files.push(path),
            Err(e) => found.push(Err(Unusable {
                name: e.path().display().to_string(),
                reason: e.error().to_string(),
            })),
        }
    }
    files.sort_by(|a, b| natural(a, b));
    found.extend(files.iter().flat_map(|p| walk(p)));
    if found.is_empty() {
        found.push(Err(unusable("no file matches this pattern".to_owned())));
    }
    found
}

/// `path` itself, or every file below it when it is a directory.
fn walk(path: &Path) -> Vec<Input> {
    if !path.is_dir() {
        return vec![Ok(path.to_path_buf())];
    }
    walkdir::WalkDir::new(path)
        .follow_links(true)
        .sort_by(|a, b| {
            natord::compare(
                &a.file_name().to_string_lossy(),
                &b.file_name().to_string_lossy(),
            )
        })
        .into_iter()
        .filter_entry(|e| e.depth() == 0 || !e.file_name().to_string_lossy().starts_with('.'))
        .filter_map(|entry| match entry {
            Ok(e) if e.file_type().is_dir() => None,
            Ok(e) if e.file_type().is_file() => Some(Ok(e.into_path())),
            // A named pipe below a directory would block the run for ever (review 8, F8); a
            // special file named on the command line is read as asked.
            Ok(e) => Some(Err(Unusable {
                name: e.path().display().to_string(),
                reason: "not a regular file (a pipe, socket or device): skipped".to_owned(),
            })),
            Err(e) => Some(Err(Unusable {
                name: e
                    .path()
                    .map_or_else(|| path.display().to_string(), |p| p.display().to_string()),
                reason: e
                    .io_error()
                    .map_or_else(|| e.to_string(), ToString::to_string),
            })),
        })
        .collect()
}

/// Natural order of whole paths (digit runs compared as numbers).
fn natural(a: &Path, b: &Path) -> std::cmp::Ordering {
    natord::compare(&a.to_string_lossy(), &b.to_string_lossy())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(inputs: &[Input], root: &Path) -> Vec<String> {
        inputs
            .iter()
            .map(|i| match i {
                Ok(p) => p.strip_prefix(root).unwrap_or(p).display().to_string(),
                Err(u) => format!("ERR {}", u.reason),
            })
            .collect()
    }

    fn tree() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("i1/sub")).unwrap();
        std::fs::create_dir_all(root.join(".git")).unwrap();
        for f in [
            "i1/audit.log",
            "i1/audit.log.10",
            "i1/audit.log.2",
            "i1/.DS_Store",
            "i1/sub/x.gz",
            ".git/HEAD",
            "top.log",
        ] {
            std::fs::write(root.join(f), b"x").unwrap();
        }
        dir
    }

    #[test]
    fn directories_are_walked_in_natural_order_without_hidden_entries() {
        let dir = tree();
        let root = dir.path();
        let got = expand(&[root.join("i1")]);
        assert_eq!(
            names(&got, root),
            [
                "i1/audit.log",
                "i1/audit.log.2",
                "i1/audit.log.10",
                "i1/sub/x.gz"
            ]
        );
    }

    #[test]
    fn patterns_expand_and_a_file_is_read_once() {
        let dir = tree();
        let root = dir.path();
        let pattern = root.join("i1/audit.log*");
        let got = expand(&[pattern, root.join("i1/audit.log.2"), root.join("top.log")]);
        assert_eq!(
            names(&got, root),
            [
                "i1/audit.log",
                "i1/audit.log.2",
                "i1/audit.log.10",
                "top.log"
            ]
        );
        let recursive = expand(&[root.join("**/*.gz")]);
        assert_eq!(names(&recursive, root), ["i1/sub/x.gz"]);
    }

    #[cfg(unix)]
    #[test]
    fn a_hard_or_symbolic_link_to_an_input_is_the_same_input() {
        // Review 30: `parse a.log hard.log` read the log twice (its events twice).
        let dir = tree();
        let root = dir.path();
        std::fs::hard_link(root.join("top.log"), root.join("hard.log")).unwrap();
        std::os::unix::fs::symlink(root.join("top.log"), root.join("soft.log")).unwrap();
        let got = expand(&[
            root.join("top.log"),
            root.join("hard.log"),
            root.join("soft.log"),
        ]);
        assert_eq!(names(&got, root), ["top.log"]);
    }

    #[test]
    fn nothing_matched_and_missing_files_are_reported() {
        let dir = tree();
        let root = dir.path();
        let got = expand(&[root.join("nope*.log"), root.join("missing.log")]);
        assert_eq!(
            names(&got, root),
            ["ERR no file matches this pattern", "missing.log"]
        );
        assert_eq!(expand(&[]), [Ok(PathBuf::from("-"))]);
    }
}
