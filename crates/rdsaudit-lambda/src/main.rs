//! The Lambda function: CloudWatch Logs -> Kinesis (or a direct subscription) -> the
//! destination `RDSAUDIT_DESTINATION` names. See the crate's README.

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), rdsaudit_lambda::Error> {
    rdsaudit_lambda::run().await
}
