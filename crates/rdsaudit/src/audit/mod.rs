//! The audit line: its event model, the dialects, the scanner that splits it, timestamps and
//! the plugin's escapes.

pub mod dialect;
pub mod event;
pub mod iso_time;
// The byte-at-a-time twin the scanner is checked against: a test oracle, not API.
#[doc(hidden)]
pub mod reference;
pub mod scanner;
pub mod timestamp;
pub mod unescape;
