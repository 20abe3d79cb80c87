//! The Lambda function: CloudWatch Logs -> Kinesis (or a direct subscription) -> NDJSON on
//! stdout. See `lambda/README.md`.

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

mod config;
mod handler;
mod init_error;
mod lines;

use lambda_runtime::{Diagnostic, LambdaEvent, service_fn};
use serde_json::value::RawValue;

use crate::handler::Handler;

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    // The runtime's own messages go to stderr: stdout carries only our JSON lines.
    lambda_runtime::tracing::init_default_subscriber_with_writer(std::io::stderr);
    let handler: &'static Handler = match init() {
        Ok(h) => Box::leak(Box::new(h)),
        Err(e) => {
            let diagnostic = Diagnostic {
                error_type: "RdsAudit.InvalidConfiguration".into(),
                error_message: format!("{e:#}"),
            };
            init_error::report(&diagnostic).await;
            return Err(e);
        }
    };
    lambda_runtime::run(service_fn(|event: LambdaEvent<Box<RawValue>>| async move {
        handler.invoke(event.payload.get().as_bytes(), &event.context.request_id)
    }))
    .await
    .map_err(|e| anyhow::anyhow!(e))
}

/// Reads the configuration and sizes the worker pool, once per cold start.
fn init() -> anyhow::Result<Handler> {
    let config = config::Config::from_env()?;
    rayon::ThreadPoolBuilder::new()
        .num_threads(config.threads)
        .build_global()?;
    Ok(Handler::new(config))
}
