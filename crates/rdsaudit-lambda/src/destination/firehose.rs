//! `firehose:<delivery stream>` (skeleton: not built yet).

use super::{Delivery, DestinationError, Outgoing};

/// The `firehose` destination.
#[derive(Debug)]
pub struct Firehose {
    address: String,
}

impl Firehose {
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
            error: Some(DestinationError::NotBuilt { kind: "firehose" }),
        }
    }
}
