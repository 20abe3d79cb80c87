//! A payload simd-json refused, read again by the validating walk ([`Walk`]) so that one
//! log event that cannot be read fails alone ([`FailedLogEvent`]), not its whole record.
//!
//! simd-json fails the whole text for a lone surrogate escape (`\ud800`) in one message, and
//! the tape walk fails the whole payload for one entry of `logEvents` without `id` or with a
//! `message` that is no string: every other log event of the record (every other user's, in
//! a Kinesis record) was then not read, only the record kept whole (session 32). The walk
//! knows where each entry lies in the text and reads a lone surrogate as U+FFFD and says so.
//!
//! Only a payload simd-json refused comes here, so whatever read before reads as it did. The
//! walk reads the payload's own fields by the rules [`super::EnvelopeParser::parse`] states
//! (the same type checks, the same fields once only, the last `subscriptionFilters`,
//! `policyLevel` and key of an event kept); anything wrong outside an entry of `logEvents`
//! (invalid JSON anywhere, a lone surrogate in a key or value of the payload itself, a
//! missing or doubled field) gives `None`, and the caller reports simd-json's error as
//! before. A failed entry's strings are put back as they were ([`Walk::restore_originals`]),
//! so its bytes are its JSON as it is in the payload.

use std::num::NonZeroU32;
use std::ops::Range;

use super::{EventField, FailedLogEvent, LogEnvelope, LogEvent, LogEventError, MessageType};
use crate::input::json::walk::{Kind, Walk};

/// An entry of `logEvents` as walked: its fields, or where it lies and why it fails.
enum RawEvent {
    Read {
        id: Range<usize>,
        timestamp: i64,
        message: Range<usize>,
    },
    Failed {
        span: Range<usize>,
        error: LogEventError,
    },
}

/// A payload's fields as ranges of the text.
#[derive(Default)]
struct RawEnvelope {
    message_type: Option<Range<usize>>,
    owner: Option<Range<usize>>,
    log_group: Option<Range<usize>>,
    log_stream: Option<Range<usize>>,
    filters: Vec<Range<usize>>,
    policy_level: Option<Range<usize>>,
    events: Option<Vec<RawEvent>>,
}

/// The envelopes of `buf[..len]` (the text as it is in the input, one payload or several back
/// to back), their faults confined to entries of `logEvents`; `None` when anything else is
/// wrong. `open` is the walk's nesting stack; `max_values` the parser's cap per payload.
pub(super) fn salvage<'a>(
    buf: &'a mut [u8],
    len: usize,
    open: &mut Vec<u8>,
    max_values: usize,
) -> Option<Vec<LogEnvelope<'a>>> {
    let raw = {
        let text = buf.get_mut(..len)?;
        let mut walk = Walk::new(text, open, max_values)
            .lone_surrogates()
            .keeping_originals();
        let mut raw = Vec::new();
        loop {
            raw.push(envelope(&mut walk)?);
            if walk.at_end() {
                break;
            }
            // Firehose's payloads back to back: each held to the cap on its own.
            walk.next_page();
        }
        raw
    };
    let text: &'a [u8] = buf;
    // Several payloads: each failed entry names its own (1-based), or two entries of two
    // payloads were both `logEvents[1]` (session 34's adversary LOW-2).
    let several = raw.len() > 1;
    raw.into_iter()
        .enumerate()
        .map(|(i, r)| {
            let n = u32::try_from(i + 1).unwrap_or(u32::MAX);
            finish(r, text, NonZeroU32::new(n).filter(|_| several))
        })
        .collect()
}

/// The keys of a payload that are read.
#[derive(Clone, Copy)]
enum Top {
    MessageType,
    Owner,
    LogGroup,
    LogStream,
    PolicyLevel,
    SubscriptionFilters,
    LogEvents,
    Other,
}

impl Top {
    fn of(key: &[u8]) -> Self {
        match key {
            b"messageType" => Top::MessageType,
            b"owner" => Top::Owner,
            b"logGroup" => Top::LogGroup,
            b"logStream" => Top::LogStream,
            b"policyLevel" => Top::PolicyLevel,
            b"subscriptionFilters" => Top::SubscriptionFilters,
            b"logEvents" => Top::LogEvents,
            _ => Top::Other,
        }
    }
}

/// One payload's fields, walked to its end.
fn envelope(walk: &mut Walk<'_>) -> Option<RawEnvelope> {
    let kind = walk.value().ok()?;
    if kind != Kind::Object {
        return None;
    }
    // Its `{`: a lone surrogate's byte is counted from it.
    let start = walk.at();
    let mut env = RawEnvelope::default();
    walk.open(kind).ok()?;
    while let Some(key) = walk.next_key().ok()? {
        let key = Top::of(walk.bytes(&key));
        let kind = walk.value().ok()?;
        match key {
            Top::MessageType => once(walk, kind, &mut env.message_type)?,
            Top::Owner => once(walk, kind, &mut env.owner)?,
            Top::LogGroup => once(walk, kind, &mut env.log_group)?,
            Top::LogStream => once(walk, kind, &mut env.log_stream)?,
            Top::PolicyLevel => match kind {
                Kind::Null => {
                    walk.skip(kind).ok()?;
                    env.policy_level = None;
                }
                Kind::String => env.policy_level = Some(walk.string().ok()?),
                _ => return None,
            },
            Top::SubscriptionFilters => {
                env.filters.clear();
                match kind {
                    Kind::Null => walk.skip(kind).ok()?,
                    Kind::Array => {
                        walk.open(kind).ok()?;
                        while walk.next_element().ok()? {
                            if walk.value().ok()? != Kind::String {
                                return None;
                            }
                            env.filters.push(walk.string().ok()?);
                        }
                    }
                    _ => return None,
                }
            }
            Top::LogEvents if kind == Kind::Array && env.events.is_none() => {
                // A lone surrogate before the events is the payload's own.
                if walk.take_lone_surrogate().is_some() {
                    return None;
                }
                env.events = Some(events(walk, start)?);
            }
            Top::LogEvents => return None,
            Top::Other => walk.skip(kind).ok()?,
        }
    }
    // A lone surrogate outside the events (a key, a value of the payload itself).
    if walk.take_lone_surrogate().is_some() {
        return None;
    }
    Some(env)
}

/// Reads a string field that may appear once.
fn once(walk: &mut Walk<'_>, kind: Kind, slot: &mut Option<Range<usize>>) -> Option<()> {
    if kind != Kind::String || slot.is_some() {
        return None;
    }
    *slot = Some(walk.string().ok()?);
    Some(())
}

/// The entries of `logEvents` (the walk at its `[`) of the payload starting at `payload`,
/// each read or failed.
fn events(walk: &mut Walk<'_>, payload: usize) -> Option<Vec<RawEvent>> {
    walk.open(Kind::Array).ok()?;
    let mut out = Vec::new();
    while walk.next_element().ok()? {
        let index = out.len();
        walk.forget_originals();
        let kind = walk.value().ok()?;
        let start = walk.at();
        let read = match (event(walk, kind, index)?, walk.take_lone_surrogate()) {
            (_, Some(lone)) => Err(LogEventError::LoneSurrogate {
                index,
                unit: lone.unit,
                offset: lone.offset.saturating_sub(payload),
                payload: None,
            }),
            (read, None) => read,
        };
        out.push(match read {
            Ok((id, timestamp, message)) => RawEvent::Read {
                id,
                timestamp,
                message,
            },
            Err(error) => {
                // Its strings as they are in the payload again (all kept, or refused).
                if !walk.originals_whole() {
                    return None;
                }
                walk.restore_originals();
                RawEvent::Failed {
                    span: start..walk.at(),
                    error,
                }
            }
        });
    }
    Some(out)
}

/// The fields of an entry read whole.
type Fields = (Range<usize>, i64, Range<usize>);

/// One entry of `logEvents` (a value of `kind`, walked to its end): its fields, or why it
/// fails (the first field of a wrong type, as the tape walk tells it, else the first
/// missing). `None` when the text is no JSON.
fn event(walk: &mut Walk<'_>, kind: Kind, index: usize) -> Option<Result<Fields, LogEventError>> {
    if kind != Kind::Object {
        walk.skip(kind).ok()?;
        let found = kind.name();
        return Some(Err(LogEventError::NotAnObject {
            index,
            found,
            payload: None,
        }));
    }
    let field = |field, found| LogEventError::Field {
        index,
        field,
        found,
        payload: None,
    };
    let (mut id, mut timestamp, mut message) = (None, None, None);
    let mut wrong = None;
    walk.open(kind).ok()?;
    while let Some(key) = walk.next_key().ok()? {
        let name = match walk.bytes(&key) {
            b"id" => Some(EventField::Id),
            b"message" => Some(EventField::Message),
            b"timestamp" => Some(EventField::Timestamp),
            _ => None,
        };
        let kind = walk.value().ok()?;
        match (name, kind) {
            (Some(EventField::Id), Kind::String) => id = Some(walk.string().ok()?),
            (Some(EventField::Message), Kind::String) => message = Some(walk.string().ok()?),
            (Some(EventField::Timestamp), Kind::Number) => {
                let token = walk.number().ok()?;
                match millis(walk.bytes(&token)) {
                    Ok(ms) => timestamp = Some(ms),
                    Err(found) => wrong = wrong.or(Some(field(EventField::Timestamp, found))),
                }
            }
            (Some(name), kind) => {
                walk.skip(kind).ok()?;
                wrong = wrong.or(Some(field(name, kind.name())));
            }
            (None, kind) => walk.skip(kind).ok()?,
        }
    }
    if let Some(error) = wrong {
        return Some(Err(error));
    }
    let Some(id) = id else {
        return Some(Err(field(EventField::Id, "missing")));
    };
    let Some(timestamp) = timestamp else {
        return Some(Err(field(EventField::Timestamp, "missing")));
    };
    let Some(message) = message else {
        return Some(Err(field(EventField::Message, "missing")));
    };
    Some(Ok((id, timestamp, message)))
}

/// Epoch milliseconds from a JSON number token, as [`super::millis`] reads simd-json's
/// number: an integer in the `i64` range, or an integer-valued number within it (`1.7e12`).
fn millis(token: &[u8]) -> Result<i64, &'static str> {
    // 2^63 as f64; every f64 strictly below it (and >= -2^63) converts to i64 exactly.
    const LIMIT: f64 = 9_223_372_036_854_775_808.0;
    let token = std::str::from_utf8(token).map_err(|_| "a number")?;
    if let Ok(v) = token.parse::<i64>() {
        return Ok(v);
    }
    let integral = !token.contains(['.', 'e', 'E']);
    let f: f64 = token.parse().map_err(|_| "a number")?;
    if integral {
        return Err("an out-of-range number");
    }
    if f.is_finite() && f.fract() == 0.0 && (-LIMIT..LIMIT).contains(&f) {
        // Checked above: integer-valued and in range, so the cast is exact.
        #[allow(clippy::cast_possible_truncation)]
        Ok(f as i64)
    } else {
        Err("a non-integer number")
    }
}

/// The envelope of `raw`, its strings borrowed from `text` (the walk checked that each is
/// UTF-8: a lone surrogate fails its entry), the `payload`th of several (1-based; `None`
/// when the text holds one); `None` for a missing required field.
fn finish<'a>(
    raw: RawEnvelope,
    text: &'a [u8],
    payload: Option<NonZeroU32>,
) -> Option<LogEnvelope<'a>> {
    let string = |r: Range<usize>| std::str::from_utf8(text.get(r)?).ok();
    let message_type = MessageType::from_str(string(raw.message_type?)?);
    let strict = message_type == MessageType::Data;
    let required = |r: Option<Range<usize>>| match r {
        Some(r) => string(r),
        None if strict => None,
        None => Some(""),
    };
    let owner = required(raw.owner)?;
    let log_group = required(raw.log_group)?;
    let log_stream = required(raw.log_stream)?;
    let subscription_filters = raw
        .filters
        .into_iter()
        .map(string)
        .collect::<Option<Vec<_>>>()?;
    let policy_level = match raw.policy_level {
        Some(r) => Some(string(r)?),
        None => None,
    };
    let events = match raw.events {
        Some(events) => events,
        None if strict => return None,
        None => Vec::new(),
    };
    let mut log_events = Vec::with_capacity(events.len());
    let mut failed_events = Vec::new();
    for (index, e) in events.into_iter().enumerate() {
        match e {
            RawEvent::Read {
                id,
                timestamp,
                message,
            } => log_events.push(LogEvent {
                id: string(id)?,
                timestamp,
                message: string(message)?,
            }),
            RawEvent::Failed { span, error } => failed_events.push(FailedLogEvent {
                index,
                raw: text.get(span)?,
                error: error.in_payload(payload),
            }),
        }
    }
    // A control message's events are not read: one failing is the record's failure, as
    // before (never an event dropped without a word).
    if !strict && !failed_events.is_empty() {
        return None;
    }
    let unbroken = super::none_broken(&log_events);
    Some(LogEnvelope {
        message_type,
        owner,
        log_group,
        log_stream,
        subscription_filters,
        policy_level,
        log_events,
        failed_events,
        unbroken,
    })
}
