//! Reports a failed init (a bad configuration) to the Runtime API's `/init/error`, so Lambda
//! shows the reason instead of a bare "Runtime exited". `lambda_runtime` 1.5 only does this for
//! SnapStart hooks, so the function posts it itself with the runtime's own API client.

use lambda_runtime::{Diagnostic, Error};
use lambda_runtime_api_client::{Client, body::Body, build_request};

/// Posts `diagnostic` to `/init/error`. Failures to report are written to stderr; the caller
/// exits non-zero either way.
pub async fn report(diagnostic: &Diagnostic) {
    if let Err(e) = post(diagnostic).await {
        eprintln!("rdsaudit: could not report the init error to the Runtime API: {e}");
    }
}

async fn post(diagnostic: &Diagnostic) -> Result<(), Error> {
    let api = std::env::var("AWS_LAMBDA_RUNTIME_API")?;
    let endpoint = http::Uri::try_from(api.as_str())?;
    let client = Client::builder().with_endpoint(endpoint).build()?;
    let request = build_request()
        .method("POST")
        .uri("/2018-06-01/runtime/init/error")
        .header("lambda-runtime-function-error-type", "Runtime.InitError")
        .body(Body::from(serde_json::to_vec(diagnostic)?))?;
    let response = client.call(request).await?;
    if !response.status().is_success() {
        return Err(format!("/init/error answered {}", response.status()).into());
    }
    Ok(())
}
