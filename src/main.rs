//! `rdsaudit`: structured events out of RDS / Aurora audit logs, from the command line.
//! See `rdsaudit --help`; the work is done by the `rdsaudit` library.

// Tests may unwrap and index: a failing test should panic.
#![cfg_attr(
    test,
    allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::indexing_slicing,
        clippy::panic
    )
)]

mod cli;

fn main() -> std::process::ExitCode {
    cli::run()
}
