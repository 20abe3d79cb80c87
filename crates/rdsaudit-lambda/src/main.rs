//! The Lambda function: CloudWatch Logs -> Kinesis (or a direct subscription) -> the
//! destination `RDSAUDIT_DESTINATION` names. See the crate's README.

// The future of `run` nests the AWS SDK's futures of every destination deeply.
#![recursion_limit = "256"]

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), rdsaudit_lambda::Error> {
    rdsaudit_lambda::run().await
}
