//! Fuzz body for the CloudWatch Logs envelope stage ([`rdsaudit::input::envelope`]).
//!
//! Shared by `fuzz/fuzz_targets/envelope.rs` and `tests/hostile_fuzz_stable.rs`. Properties:
//!
//! - any bytes give envelopes or a typed error, never a panic (simd-json runs in place over
//!   attacker bytes; our tape walk must not trust the tape);
//! - differential oracle: for a single accepted object that serde_json (an independent parser)
//!   also reads, every log event has the same `id`, `message` and `timestamp` in both, and
//!   every entry we could not read is kept whole in its place (`failed_events`). This catches
//!   unescaping mistakes (surrogate pairs, `\u0000`, `\/`) and duplicate-key handling.

use std::cell::RefCell;

use rdsaudit::input::envelope::{EnvelopeParser, LogEnvelope, parse_unpadded};
use serde_json::Value;

thread_local! {
    /// Reused across runs like a worker's parser, so stale tape/buffer state would show.
    static PARSER: RefCell<(EnvelopeParser, Vec<u8>)> = RefCell::new((EnvelopeParser::new(), Vec::new()));
}

pub fn run(data: &[u8]) {
    PARSER.with_borrow_mut(|(parser, scratch)| {
        if let Ok(envelopes) = parse_unpadded(parser, data, scratch)
            && let [envelope] = envelopes.as_slice()
            && let Ok(value) = serde_json::from_slice::<Value>(data)
        {
            agree_with_serde(envelope, &value);
        }
    });
}

fn agree_with_serde(envelope: &LogEnvelope<'_>, value: &Value) {
    let Some(events) = value.get("logEvents").and_then(Value::as_array) else {
        assert!(envelope.log_events.is_empty(), "events without `logEvents`");
        return;
    };
    // An entry that does not read fails alone (`failed_events`), kept whole: serde's value
    // of its raw JSON is the entry; the others are read, in order.
    assert_eq!(
        envelope.log_events.len() + envelope.failed_events.len(),
        events.len(),
        "event count"
    );
    let places: Vec<usize> = envelope.failed_events.iter().map(|f| f.index).collect();
    assert!(
        places.windows(2).all(|w| w[0] < w[1]),
        "failed places {places:?}"
    );
    for failed in &envelope.failed_events {
        let kept: Value = serde_json::from_slice(failed.raw).expect("a failed entry kept whole");
        assert_eq!(Some(&kept), events.get(failed.index), "failed entry");
        // Failed for a reason serde sees too: an entry it reads as a whole log event (this
        // document holds no lone surrogate, which serde refuses) would have been lost.
        // A field given twice fails its entry (serde keeps the last one).
        let doubled = serde_json::from_slice::<Keys>(failed.raw).is_ok_and(|keys| {
            ["id", "message", "timestamp"]
                .iter()
                .any(|name| keys.0.iter().filter(|k| k == name).count() > 1)
        });
        let readable = kept["id"].is_string()
            && kept["message"].is_string()
            && kept["timestamp"].as_i64().is_some()
            && !doubled;
        assert!(!readable, "a readable entry failed: {kept}");
    }
    let read = events
        .iter()
        .enumerate()
        .filter(|(i, _)| !envelope.failed_events.iter().any(|f| f.index == *i))
        .map(|(_, e)| e);
    for (ours, theirs) in envelope.log_events.iter().zip(read) {
        assert_eq!(Some(ours.id), theirs["id"].as_str(), "id");
        assert_eq!(Some(ours.message), theirs["message"].as_str(), "message");
        if let Some(ts) = theirs["timestamp"].as_i64() {
            assert_eq!(ours.timestamp, ts, "timestamp");
        }
    }
}

/// The keys of a JSON object as written, a key given twice kept twice (serde_json's `Value`
/// keeps the last).
struct Keys(Vec<String>);

impl<'de> serde::Deserialize<'de> for Keys {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = Keys;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Keys, A::Error> {
                let mut keys = Vec::new();
                while let Some(key) = map.next_key::<String>()? {
                    map.next_value::<serde::de::IgnoredAny>()?;
                    keys.push(key);
                }
                Ok(Keys(keys))
            }
        }
        d.deserialize_map(Visit)
    }
}
