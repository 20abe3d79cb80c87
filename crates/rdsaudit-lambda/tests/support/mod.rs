//! Runs the real `bootstrap` binary against [`runtime_api::RuntimeApi`].
//!
//! The binary is the one cargo built for this test, or `RDSAUDIT_LAMBDA_BIN` (e.g. the arm64
//! build of `cargo lambda build --arm64`), run through `RDSAUDIT_LAMBDA_RUNNER` when set
//! (e.g. `qemu-aarch64 -L /usr/aarch64-linux-gnu`).

// Each test binary uses part of the support code.
#![allow(dead_code)]

pub mod events;
pub mod runtime_api;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use runtime_api::RuntimeApi;

/// Generous: an arm64 binary under qemu starts and runs several times slower.
pub const TIMEOUT: Duration = Duration::from_secs(600);

/// The function process, its output captured.
pub struct Function {
    child: Child,
    stdout: Capture,
    stderr: Capture,
}

/// What the function printed once stopped.
#[derive(Debug)]
pub struct Output {
    pub stdout: String,
    pub stderr: String,
    pub status: ExitStatus,
    /// The event lines counted instead of kept ([`Function::start_counting`]).
    pub counted: EventStats,
}

struct Capture {
    buf: Arc<Mutex<Vec<u8>>>,
    stats: Arc<Mutex<EventStats>>,
    thread: JoinHandle<()>,
}

/// The event lines of a run too large to keep: counted, with their sequence numbers in
/// order (run-length).
#[derive(Debug, Default, Clone)]
pub struct EventStats {
    pub lines: u64,
    pub bytes: u64,
    pub by_sequence: Vec<(String, u64)>,
}

impl EventStats {
    fn add(&mut self, line: &[u8]) {
        self.lines += 1;
        self.bytes += line.len() as u64;
        let key = b"\"sequence_number\":\"";
        let seq = line
            .windows(key.len())
            .position(|w| w == key)
            .and_then(|at| {
                let rest = &line[at + key.len()..];
                rest.iter().position(|&b| b == b'"').map(|end| &rest[..end])
            })
            .map(|s| String::from_utf8_lossy(s).into_owned())
            .unwrap_or_default();
        match self.by_sequence.last_mut() {
            Some((last, n)) if *last == seq => *n += 1,
            _ => self.by_sequence.push((seq, 1)),
        }
    }
}

impl Capture {
    /// Keeps everything, or (`count_events`) only the lines with a `kind` key, counting the
    /// others.
    fn new(pipe: impl Read + Send + 'static, count_events: bool) -> Self {
        let buf = Arc::new(Mutex::new(Vec::new()));
        let stats = Arc::new(Mutex::new(EventStats::default()));
        let (b, st) = (Arc::clone(&buf), Arc::clone(&stats));
        let thread = thread::spawn(move || {
            let mut reader = std::io::BufReader::with_capacity(1 << 20, pipe);
            let mut line = Vec::new();
            loop {
                line.clear();
                match std::io::BufRead::read_until(&mut reader, b'\n', &mut line) {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {}
                }
                let is_event = count_events && !line.starts_with(b"{\"kind\"");
                if is_event {
                    st.lock().unwrap().add(&line);
                } else {
                    b.lock().unwrap().extend_from_slice(&line);
                }
            }
        });
        Capture { buf, stats, thread }
    }

    fn finish(self) -> (String, EventStats) {
        self.thread.join().unwrap();
        let text = String::from_utf8(self.buf.lock().unwrap().clone()).expect("output is UTF-8");
        (text, self.stats.lock().unwrap().clone())
    }
}

/// The function binary: the one cargo built for this test, or `RDSAUDIT_LAMBDA_BIN`.
pub fn bootstrap() -> PathBuf {
    // A relative RDSAUDIT_LAMBDA_BIN is taken from the workspace root, where the build put it
    // (tests run in `crates/rdsaudit-lambda/`).
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    std::env::var("RDSAUDIT_LAMBDA_BIN").map_or_else(
        |_| env!("CARGO_BIN_EXE_bootstrap").into(),
        |b| workspace.join(b),
    )
}

/// An example binary of this crate (`cargo test` builds the examples next to the test's
/// `deps/` directory), or `RDSAUDIT_LAMBDA_EXAMPLES_DIR/<name>` for another build.
pub fn example(name: &str) -> PathBuf {
    if let Ok(dir) = std::env::var("RDSAUDIT_LAMBDA_EXAMPLES_DIR") {
        return Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../..")
            .join(dir)
            .join(name);
    }
    let exe = std::env::current_exe().unwrap();
    let profile_dir = exe.parent().and_then(Path::parent).unwrap();
    let path = profile_dir.join("examples").join(name);
    assert!(
        path.is_file(),
        "no example binary at {}: run `cargo test -p rdsaudit-lambda` (it builds the examples) or `cargo build -p rdsaudit-lambda --examples`",
        path.display()
    );
    path
}

/// The command that runs the function binary `bin`.
pub fn function_command(bin: &Path) -> Command {
    assert!(bin.is_file(), "no function binary at {}", bin.display());
    let runner = std::env::var("RDSAUDIT_LAMBDA_RUNNER").unwrap_or_default();
    let mut words = runner.split_whitespace();
    let mut cmd = match words.next() {
        Some(program) => {
            let mut c = Command::new(program);
            c.args(words).arg(bin);
            c
        }
        None => Command::new(bin),
    };
    // Only what Lambda sets: the test's own RDSAUDIT_LAMBDA_* variables would be rejected as
    // unknown configuration.
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default());
    cmd
}

impl Function {
    /// Starts the function against `api` with the `RDSAUDIT_*` variables `config`.
    pub fn start(api: &RuntimeApi, config: &[(&str, &str)]) -> Self {
        Self::start_bin(&bootstrap(), api, config)
    }

    /// Starts the function binary `bin` (the bootstrap or an example).
    pub fn start_bin(bin: &Path, api: &RuntimeApi, config: &[(&str, &str)]) -> Self {
        Self::spawn(bin, api, config, false)
    }

    /// Starts the bootstrap, counting its event lines instead of keeping them (for batches
    /// whose output is larger than a test should hold).
    pub fn start_counting(api: &RuntimeApi, config: &[(&str, &str)]) -> Self {
        Self::spawn(&bootstrap(), api, config, true)
    }

    fn spawn(bin: &Path, api: &RuntimeApi, config: &[(&str, &str)], count_events: bool) -> Self {
        let mut cmd = function_command(bin);
        cmd.env("AWS_LAMBDA_RUNTIME_API", api.address())
            .env("AWS_LAMBDA_FUNCTION_NAME", "rdsaudit")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/rdsaudit")
            .env(
                "AWS_LAMBDA_LOG_STREAM_NAME",
                "2026/05/20/[$LATEST]0123456789abcdef",
            )
            .envs(config.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"));
        let stdout = Capture::new(child.stdout.take().unwrap(), count_events);
        let stderr = Capture::new(child.stderr.take().unwrap(), false);
        Function {
            child,
            stdout,
            stderr,
        }
    }

    /// Waits for the process to exit on its own (panics after [`TIMEOUT`]).
    pub fn wait_exit(mut self) -> Output {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            if self.child.try_wait().unwrap().is_some() {
                return self.finish_output();
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("function did not exit: {}", self.finish_output().stderr);
            }
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// The process's peak resident set (`VmHWM`, KiB): for a runner such as qemu, the
    /// emulator's, guest and emulator together.
    pub fn peak_rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        let line = status
            .lines()
            .find(|l| l.starts_with("VmHWM:"))
            .expect("VmHWM in /proc/pid/status");
        line.split_whitespace().nth(1).unwrap().parse().unwrap()
    }

    /// Waits for `count` posts to `api`; on timeout, stops the function and panics with its
    /// output.
    pub fn wait_posts(self, api: &RuntimeApi, count: usize) -> (Vec<runtime_api::Post>, Self) {
        match api.wait_posts(count, TIMEOUT) {
            Ok(posts) => (posts, self),
            Err(posts) => {
                let output = self.stop();
                panic!("timed out waiting for {count} posts, got {posts:#?}\n{output:#?}");
            }
        }
    }

    /// Stops the function (it would poll for the next event forever) and returns its output.
    pub fn stop(mut self) -> Output {
        let _ = self.child.kill();
        self.finish_output()
    }

    fn finish_output(mut self) -> Output {
        let status = self.child.wait().unwrap();
        let (stdout, counted) = self.stdout.finish();
        let (stderr, _) = self.stderr.finish();
        Output {
            stdout,
            stderr,
            status,
            counted,
        }
    }
}

impl Output {
    /// Every stdout line, parsed.
    pub fn lines(&self) -> Vec<serde_json::Value> {
        self.stdout
            .lines()
            .map(|l| {
                serde_json::from_str(l)
                    .unwrap_or_else(|e| panic!("stdout line is not JSON ({e}): {l}"))
            })
            .collect()
    }

    /// No function-log line is larger than a CloudWatch Logs event (the log pipeline would
    /// cut it).
    pub fn assert_log_lines_fit(&self) {
        assert!(
            self.stdout
                .lines()
                .all(|l| l.len() <= rdsaudit::quarantine::LOG_EVENT_MAX),
            "a function-log line is larger than a CloudWatch Logs event"
        );
    }

    /// The event lines (no `kind` key).
    pub fn events(&self) -> Vec<serde_json::Value> {
        self.lines()
            .into_iter()
            .filter(|v| v.get("kind").is_none())
            .collect()
    }

    /// The lines of one `kind`.
    pub fn kind(&self, kind: &str) -> Vec<serde_json::Value> {
        self.lines()
            .into_iter()
            .filter(|v| v["kind"] == kind)
            .collect()
    }
}
