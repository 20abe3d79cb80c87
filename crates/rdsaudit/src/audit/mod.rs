//! The audit line: its event model, the dialects, the scanner that splits it, timestamps and
//! the plugin's escapes.

pub mod dialect;
pub mod event;
pub mod iso_time;
pub mod reference;
pub mod scanner;
pub mod timestamp;
pub mod unescape;
