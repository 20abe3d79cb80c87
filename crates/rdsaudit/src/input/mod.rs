//! Every delivery shape an audit line arrives in: Lambda events, gzip, CloudWatch Logs
//! envelopes, plain log files.

pub mod envelope;
pub mod gzip;
mod json;
pub mod source;
pub mod stream;
pub mod text;
