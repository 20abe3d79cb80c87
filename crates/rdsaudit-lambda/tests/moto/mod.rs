//! A real AWS API on 127.0.0.1 for the destination tests: moto's server mode, installed from
//! PyPI into a virtualenv when missing, started once per test binary and stopped when the test
//! process exits.
//!
//! The virtualenv is `RDSAUDIT_MOTO_VENV`, else `$CARGO_TARGET_DIR/moto-venv` (`target/` when
//! unset). `.ci/run` installs the same one ahead of the tests.

#![allow(dead_code)] // Each test binary uses its own part.

pub mod proxy;

use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use aws_config::{BehaviorVersion, ConfigLoader, SdkConfig};
use aws_sdk_sqs::config::{Credentials, Region};

/// A running moto server.
pub struct Moto {
    /// `http://127.0.0.1:<port>`.
    pub endpoint: String,
    /// `127.0.0.1:<port>`.
    pub address: String,
    /// The shell that runs moto and kills it once its stdin (our pipe) closes, i.e. when the
    /// test process exits, however it exits.
    _keeper: Child,
}

/// The moto server of this test binary, started on first use.
pub fn server() -> &'static Moto {
    static SERVER: OnceLock<Moto> = OnceLock::new();
    SERVER.get_or_init(start)
}

/// The AWS configuration a test gives [`rdsaudit_lambda::destination::Destination::from_spec_with`]:
/// `endpoint`, fake credentials, `us-east-1`.
pub fn loader(endpoint: &str) -> ConfigLoader {
    aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("testing", "testing", None, None, "moto"))
}

/// The configuration of the clients a test checks moto with.
pub async fn config() -> SdkConfig {
    rdsaudit_lambda::destination::sdk_config(loader(&server().endpoint)).await
}

/// A port nobody listens on (bound, then released).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port on 127.0.0.1")
}

fn start() -> Moto {
    let moto_server = install();
    let port = free_port();
    let log = target_dir().join(format!("moto-{port}.log"));
    let keeper = Command::new("sh")
        .args([
            "-c",
            r#""$0" -H 127.0.0.1 -p "$1" >"$2" 2>&1 & read _ ; kill $!"#,
        ])
        .arg(&moto_server)
        .arg(port.to_string())
        .arg(&log)
        .stdin(Stdio::piped())
        .spawn()
        .expect("start moto_server");
    let address = format!("127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(60);
    while TcpStream::connect(&address).is_err() {
        assert!(
            Instant::now() < deadline,
            "moto_server did not listen on {address} within 60 s; see {}",
            log.display()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    Moto {
        endpoint: format!("http://{address}"),
        address,
        _keeper: keeper,
    }
}

/// `moto_server` of the virtualenv, installed from PyPI when missing.
fn install() -> PathBuf {
    let venv = std::env::var_os("RDSAUDIT_MOTO_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| target_dir().join("moto-venv"));
    let moto_server = venv.join("bin/moto_server");
    if moto_server.exists() {
        return moto_server;
    }
    run(Command::new("python3").arg("-m").arg("venv").arg(&venv));
    run(Command::new(venv.join("bin/pip")).args([
        "install",
        "--quiet",
        "--disable-pip-version-check",
        "moto[server]",
    ]));
    assert!(
        moto_server.exists(),
        "{} missing after pip install",
        moto_server.display()
    );
    moto_server
}

fn run(command: &mut Command) {
    let out = command.output().expect("run the installer");
    assert!(
        out.status.success(),
        "{command:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target"))
}
