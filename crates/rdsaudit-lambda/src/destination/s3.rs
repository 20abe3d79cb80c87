//! `s3://<bucket>/<prefix>` (skeleton: not built yet).

use super::{Delivery, DestinationError, Outgoing};

/// The `s3` destination.
#[derive(Debug)]
pub struct S3 {
    address: String,
}

impl S3 {
    /// Parses the address after the destination kind.
    pub async fn new(address: &str) -> Result<Self, DestinationError> {
        Ok(Self {
            address: address.to_owned(),
        })
    }

    /// Not built yet: delivers nothing.
    pub async fn deliver(
        &self,
        _items: &[Outgoing<'_>],
        _info: &super::InvocationInfo<'_>,
    ) -> Delivery {
        let _ = &self.address;
        Delivery {
            delivered: 0,
            retries: 0,
            oversized: Vec::new(),
            error: Some(DestinationError::NotBuilt { kind: "s3" }),
        }
    }
}
