//! The rdsaudit AWS Lambda function, as a library: decode CloudWatch Logs audit records
//! (Kinesis or direct subscription events) and act on every event, without losing any.
//!
//! Two ways to use it:
//!
//! - the `bootstrap` binary of this crate ([`run`]): events go to the destination
//!   `RDSAUDIT_DESTINATION` names ([`destination`]);
//! - your own binary ([`run_handler`]): events go to your [`EventHandler`], typed and borrowed,
//!   and what it fails to handle becomes `batchItemFailures`. A worked example is
//!   `examples/on_writes.rs`.
//!
//! Either way the crate reads the configuration ([`config`]), decodes the batch in slices
//! bounded by memory, quarantines what cannot be decoded ([`quarantine`]), writes a summary
//! line in CloudWatch Embedded Metric Format ([`function_log`]), and answers Lambda with a
//! partial batch response.
//!
//! ```no_run
//! #[tokio::main(flavor = "current_thread")]
//! async fn main() -> Result<(), rdsaudit_lambda::Error> {
//!     rdsaudit_lambda::run().await
//! }
//! ```

// Tests may unwrap and index: a failing test should panic.
#![cfg_attr(
    test,
    allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::indexing_slicing,
        clippy::panic
    )
)]

mod capture;
pub mod config;
mod deadline;
pub mod destination;
pub mod events;
pub mod function_log;
mod handler;
mod init_error;
pub mod quarantine;
mod runtime;
mod target;

pub use config::{Config, ConfigError};
pub use events::{Event, EventHandler};
pub use rdsaudit::{AuditEvent, Operation};

use lambda_runtime::Diagnostic;

use crate::destination::Destination;
use crate::handler::Handler;
use crate::quarantine::Quarantine;
use crate::target::Own;

/// What [`run`] and [`run_handler`] return when the function cannot start or the Runtime API
/// fails.
pub type Error = lambda_runtime::Error;

/// Runs the function with the destination `RDSAUDIT_DESTINATION` names (the `bootstrap`
/// binary). A bad configuration is reported to the Runtime API's `/init/error` and returned.
pub async fn run() -> Result<(), Error> {
    init_logging();
    let (config, quarantine) = init().await?;
    let destination = match Destination::from_spec(&config.destination).await {
        Ok(d) => d,
        Err(e) => return Err(init_failed(&format!("RDSAUDIT_DESTINATION: {e}")).await),
    };
    runtime::serve(Handler::new(config, destination, quarantine)).await
}

/// Runs the function with your `handler` receiving the events (see [`events`]).
/// `RDSAUDIT_DESTINATION` must be unset (or `stdout`): your handler is the destination.
pub async fn run_handler<H: EventHandler + 'static>(handler: H) -> Result<(), Error> {
    init_logging();
    let (config, quarantine) = init().await?;
    if config.destination != "stdout" {
        return Err(init_failed(&format!(
            "RDSAUDIT_DESTINATION={:?}: this function hands its events to its own handler",
            config.destination
        ))
        .await);
    }
    runtime::serve(Handler::new(config, Own(handler), quarantine)).await
}

fn init_logging() {
    // The runtime's own messages go to stderr: stdout carries only our JSON lines.
    lambda_runtime::tracing::init_default_subscriber_with_writer(std::io::stderr);
}

/// Reads the configuration, sizes the worker pool and connects the quarantine, once per cold
/// start.
async fn init() -> Result<(Config, Quarantine), Error> {
    let config = match Config::from_env() {
        Ok(c) => c,
        Err(e) => return Err(init_failed(&e.to_string()).await),
    };
    if let Err(e) = rayon::ThreadPoolBuilder::new()
        .num_threads(config.threads)
        .build_global()
    {
        return Err(init_failed(&format!("worker threads: {e}")).await);
    }
    match Quarantine::connect(&config.quarantine).await {
        Ok(q) => Ok((config, q)),
        Err(e) => Err(init_failed(&format!("RDSAUDIT_QUARANTINE: {e}")).await),
    }
}

/// Reports a failed init on stderr and to the Runtime API, and returns the error.
async fn init_failed(message: &str) -> Error {
    eprintln!("rdsaudit: {message}");
    let diagnostic = Diagnostic {
        error_type: "RdsAudit.InvalidConfiguration".into(),
        error_message: message.to_owned(),
    };
    init_error::report(&diagnostic).await;
    message.into()
}
