//! What the AWS destinations share: the SDK configuration and what an SDK error means for a
//! retry.

use std::time::Duration;

use aws_config::{ConfigLoader, SdkConfig};
use aws_runtime::retries::classifiers::{THROTTLING_ERRORS, TRANSIENT_ERRORS};
use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use aws_smithy_types::retry::RetryConfig;
use aws_smithy_types::timeout::TimeoutConfig;

use super::batch::CallError;

/// Error codes of internal failures, which the services document as safe to retry
/// (`InternalFailure` in a Kinesis `PutRecords` or EventBridge `PutEvents` entry,
/// `ServiceUnavailableException` in a Firehose `PutRecordBatch` entry, S3's `InternalError`).
const INTERNAL_ERRORS: &[&str] = &[
    "InternalFailure",
    "InternalError",
    "InternalErrorException",
    "InternalServerError",
    "ServiceUnavailable",
    "ServiceUnavailableException",
    "KMSThrottlingException",
];

/// How long one attempt of a call may take before it is abandoned and retried: without it a
/// service that accepts the connection and never answers would hold the invocation until
/// Lambda's timeout, and the batch could not report which records are delivered.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long connecting may take (the SDK's default).
const CONNECT_TIMEOUT: Duration = Duration::from_millis(3_100);

/// The configuration every destination client is built from: what `loader` gives (region,
/// credentials and endpoint; `aws_config::defaults` reads `AWS_REGION`, `AWS_ENDPOINT_URL`,
/// `AWS_ENDPOINT_URL_SQS`, ... from the environment), HTTPS through rustls with ring, each
/// attempt bounded in time, and the SDK's own retries off: the destinations retry themselves,
/// count their retries and also retry the failed entries of a partly accepted batch. Use it
/// for other clients of the function (a quarantine bucket) to get the same behaviour.
pub async fn config(loader: ConfigLoader) -> SdkConfig {
    let http = aws_smithy_http_client::Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::Ring))
        .build_https();
    loader
        .http_client(http)
        .retry_config(RetryConfig::disabled())
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(CONNECT_TIMEOUT)
                .operation_attempt_timeout(ATTEMPT_TIMEOUT)
                .build(),
        )
        .load()
        .await
}

/// `config` for a client of the queue, topic, stream or bus at `address`: in the region the
/// address names (an SQS queue URL's host, an ARN's fourth field), which may not be the
/// function's own (`AWS_REGION`): the call must go to the region that holds the resource.
/// An address naming no region (a plain name, a URL on `AWS_ENDPOINT_URL`'s local server)
/// keeps the configuration's region.
pub(crate) fn for_address(config: &SdkConfig, address: &str) -> SdkConfig {
    match address_region(address) {
        Some(region)
            if config
                .region()
                .is_none_or(|r| AsRef::<str>::as_ref(r) != region) =>
        {
            config
                .to_builder()
                .region(aws_config::Region::new(region.to_owned()))
                .build()
        }
        _ => config.clone(),
    }
}

/// The region named by an ARN (`arn:aws:sns:eu-west-1:123456789012:audit`) or an SQS queue URL
/// (`https://sqs.eu-west-1.amazonaws.com/...`, the legacy
/// `https://eu-west-1.queue.amazonaws.com/...`, or a VPC endpoint's
/// `https://vpce-0a1b-c2d3.sqs.eu-west-1.vpce.amazonaws.com/...`).
fn address_region(address: &str) -> Option<&str> {
    if let Some(rest) = address.strip_prefix("arn:") {
        // partition:service:region:account:resource
        return rest.split(':').nth(2).filter(|r| !r.is_empty());
    }
    let host = address.split_once("://")?.1.split(['/', ':']).next()?;
    if !host.contains(".amazonaws.com") {
        return None;
    }
    let labels: Vec<&str> = host.split('.').collect();
    let after_sqs = labels
        .iter()
        .position(|l| *l == "sqs")
        .and_then(|i| labels.get(i + 1));
    let before_queue = match labels.as_slice() {
        [region, "queue", ..] => Some(region),
        _ => None,
    };
    after_sqs
        .or(before_queue)
        .copied()
        .filter(|r| r.contains('-'))
}

/// Throttling codes of one batch entry that the SDK's list (of call errors) lacks: SQS
/// `SendMessageBatch`'s `KmsThrottled` (the queue's KMS key throttled), SNS `PublishBatch`'s
/// `Throttled` and `KMSThrottling`.
const ENTRY_THROTTLING_ERRORS: &[&str] = &["KmsThrottled", "Throttled", "KMSThrottling"];

/// Whether a code says the service (or its KMS key) was throttled: it passes on a retry.
fn throttling_code(code: &str) -> bool {
    THROTTLING_ERRORS.contains(&code)
        || ENTRY_THROTTLING_ERRORS.contains(&code)
        || code == "KMSThrottlingException"
}

/// Whether a service error code (of a call or of one batch entry) may pass on a retry.
pub(super) fn retryable_code(code: &str) -> bool {
    throttling_code(code) || TRANSIENT_ERRORS.contains(&code) || INTERNAL_ERRORS.contains(&code)
}

/// A failed call: retryable when throttled, on 5xx, on a timeout or when the request could not
/// be sent or its answer read (a connection refused or reset).
pub(super) fn call_error<E>(e: &SdkError<E, HttpResponse>) -> CallError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let retryable = match e {
        SdkError::ServiceError(ctx) => {
            let status = ctx.raw().status().as_u16();
            status >= 500 || status == 429 || ctx.err().code().is_some_and(retryable_code)
        }
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            true
        }
        _ => false,
    };
    CallError {
        retryable,
        message: DisplayErrorContext(e).to_string(),
    }
}

#[cfg(any(
    feature = "sqs",
    feature = "sns",
    feature = "eventbridge",
    feature = "kinesis",
    feature = "firehose"
))]
/// One entry's failure as reported inside a batch answer (`code`, `message`): retried when the
/// code says so and the sender is not at fault, and always when it was throttled (SQS and SNS
/// may count a throttled request as the sender's: sending again later is the cure); a failure
/// of the destination's own configuration stops the delivery ([`unusable_code`]); any other
/// refusal is the entry's, which is set aside.
pub(super) fn entry_failure(
    code: &str,
    message: Option<&str>,
    sender_fault: bool,
) -> super::batch::Entry {
    let reason = format!("{code}: {}", message.unwrap_or_default());
    if throttling_code(code) || (retryable_code(code) && !sender_fault) {
        super::batch::Entry::Retry(reason)
    } else if unusable_code(code) {
        super::batch::Entry::Unusable(reason)
    } else {
        super::batch::Entry::Refused(reason)
    }
}

#[cfg(any(
    feature = "sqs",
    feature = "sns",
    feature = "eventbridge",
    feature = "kinesis",
    feature = "firehose"
))]
/// Whether an entry's error code says the destination cannot take *any* entry until its
/// configuration is fixed: access denied (to it or its KMS key), a KMS key disabled, missing,
/// in a wrong state or not opted in, a resource not found. SQS `KmsAccessDenied`,
/// `KmsDisabled`, `KmsNotFound`, `KmsInvalidState`, `KmsInvalidKeyUsage`, `KmsOptInRequired`;
/// SNS `KMSAccessDenied`, `AuthorizationError`, `NotFound`; Kinesis
/// `KMSAccessDeniedException`, ...; Firehose `KMS.AccessDeniedException`, ...; EventBridge
/// `AccessDeniedException`, `NotAuthorizedForSourceException`. Setting such entries aside
/// one by one would drain the whole stream into the quarantine.
fn unusable_code(code: &str) -> bool {
    const WORDS: [&str; 8] = [
        "accessdenied",
        "notauthorized",
        "authorizationerror",
        "disabled",
        "notfound",
        "invalidstate",
        "optinrequired",
        "invalidkeyusage",
    ];
    let folded: String = code
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect();
    // EventBridge's `NotAuthorizedForDetailTypeException` is the entry's own: its detail type
    // is the event's operation, and a bus policy may allow some (review 31: a bus taking only
    // `QUERY` stalled the shard at the first `CONNECT`).
    !folded.contains("detailtype") && WORDS.iter().any(|w| folded.contains(w))
}

#[cfg(any(feature = "sqs", feature = "sns", feature = "kinesis"))]
/// `value` as an id a service takes with at most `max` characters from `allowed` (SQS/SNS FIFO
/// group and de-duplication ids: 128 of ASCII `!`..`~`; a Kinesis partition key: 256 of any):
/// itself when it fits, else the hex SHA-256 of it (64 characters, stable across retries).
pub(super) fn fitted_id(value: &str, max: usize, allowed: impl Fn(char) -> bool) -> String {
    if !value.is_empty() && value.chars().count() <= max && value.chars().all(allowed) {
        return value.to_owned();
    }
    use sha2::Digest;
    sha2::Sha256::digest(value.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(any(feature = "sqs", feature = "sns"))]
/// The characters SQS and SNS allow in a FIFO `MessageGroupId` and `MessageDeduplicationId`.
pub(super) fn fifo_char(c: char) -> bool {
    c.is_ascii_graphic()
}

#[cfg(feature = "sqs")]
/// `value` as an SQS FIFO de-duplication id (the SQS quarantine's messages).
pub(crate) fn fifo_id(value: &str) -> String {
    fitted_id(value, 128, fifo_char)
}

/// What a function in us-east-1 is configured with (tests of clients built from it).
#[cfg(test)]
pub(super) fn function_config() -> SdkConfig {
    SdkConfig::builder()
        .region(aws_config::Region::new("us-east-1"))
        .behavior_version(aws_config::BehaviorVersion::latest())
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Adversarial review 30 (F4): SQS `KmsThrottled` and SNS `Throttled` / `KMSThrottling`
    /// entries were set aside as refused on their first failure.
    #[cfg(feature = "sqs")]
    #[test]
    fn throttled_entries_are_sent_again_and_refused_ones_set_aside() {
        use super::super::batch::Entry;
        for (code, sender_fault) in [
            ("KmsThrottled", false),
            ("KmsThrottled", true),
            ("Throttled", false),
            ("KMSThrottling", true),
            ("ThrottlingException", true),
            ("InternalError", false),
        ] {
            let entry = entry_failure(code, Some("m"), sender_fault);
            assert!(
                matches!(entry, Entry::Retry(_)),
                "{code} {sender_fault}: {entry:?}"
            );
        }
        for (code, sender_fault) in [
            ("InvalidParameterValue", true),
            ("InvalidMessageContents", true),
            ("MalformedDetail", false),
            ("InternalError", true),
            ("NotAuthorizedForDetailTypeException", true),
        ] {
            let entry = entry_failure(code, Some("m"), sender_fault);
            assert!(
                matches!(entry, Entry::Refused(_)),
                "{code} {sender_fault}: {entry:?}"
            );
        }
        // Session 30 (adv2): the destination's own configuration refused every entry, which
        // were all set aside in the quarantine and their records checkpointed.
        for code in [
            "KmsAccessDenied",
            "KmsDisabled",
            "KmsNotFound",
            "KMSAccessDenied",
            "AuthorizationError",
            "KMSAccessDeniedException",
            "KMS.AccessDeniedException",
            "KMS.InvalidStateException",
            "AccessDeniedException",
            "NotAuthorizedForSourceException",
            "ResourceNotFoundException",
        ] {
            let entry = entry_failure(code, Some("m"), true);
            assert!(matches!(entry, Entry::Unusable(_)), "{code}: {entry:?}");
        }
    }

    #[test]
    fn the_region_comes_from_the_url_or_arn() {
        for (address, region) in [
            (
                "https://sqs.eu-west-1.amazonaws.com/123456789012/audit",
                Some("eu-west-1"),
            ),
            (
                "https://sqs.cn-north-1.amazonaws.com.cn/123456789012/a.fifo",
                Some("cn-north-1"),
            ),
            (
                "https://eu-central-1.queue.amazonaws.com/123456789012/audit",
                Some("eu-central-1"),
            ),
            (
                "https://vpce-0a1b2c3d-e4f5.sqs.ap-south-1.vpce.amazonaws.com/123456789012/q",
                Some("ap-south-1"),
            ),
            (
                "arn:aws:sns:eu-west-1:123456789012:audit",
                Some("eu-west-1"),
            ),
            (
                "arn:aws-us-gov:kinesis:us-gov-west-1:123456789012:stream/s",
                Some("us-gov-west-1"),
            ),
            (
                "arn:aws:events:eu-west-2:123456789012:event-bus/audit",
                Some("eu-west-2"),
            ),
            (
                "arn:aws:firehose:us-west-2:123456789012:deliverystream/d",
                Some("us-west-2"),
            ),
            ("http://127.0.0.1:4566/123456789012/audit", None),
            ("https://queue.amazonaws.com/123456789012/audit", None),
            ("audit-events", None),
            ("default", None),
            ("arn:aws:s3:::bucket", None),
        ] {
            assert_eq!(address_region(address), region, "{address}");
        }
    }

    #[test]
    fn a_client_for_another_regions_resource_is_configured_in_that_region() {
        let config = function_config();
        let queue = "https://sqs.eu-west-1.amazonaws.com/123456789012/audit";
        let region = |c: &SdkConfig| c.region().map(|r| r.as_ref().to_owned());
        assert_eq!(
            region(&for_address(&config, queue)).as_deref(),
            Some("eu-west-1")
        );
        assert_eq!(
            region(&for_address(&config, "audit")).as_deref(),
            Some("us-east-1")
        );
    }
}
