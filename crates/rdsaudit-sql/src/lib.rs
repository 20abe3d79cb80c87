//! Statement semantics for rdsaudit.
#![doc = "x"] pub mod fingerprint;
