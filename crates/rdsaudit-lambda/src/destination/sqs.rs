//! `sqs:<queue url>` (skeleton: not built yet).

use super::{Delivery, DestinationError, Outgoing};

/// The `sqs` destination.
#[derive(Debug)]
pub struct Sqs {
    address: String,
}

impl Sqs {
    /// Parses the address after the destination kind.
    pub async fn new(address: &str) -> Result<Self, DestinationError> {
        Ok(Self {
            address: address.to_owned(),
        })
    }

    /// Not built yet: delivers nothing.
    pub async fn deliver(&self, _items: &[Outgoing<'_>]) -> Delivery {
        let _ = &self.address;
        Delivery {
            delivered: 0,
            retries: 0,
            oversized: Vec::new(),
            error: Some(DestinationError::NotBuilt { kind: "sqs" }),
        }
    }
}
