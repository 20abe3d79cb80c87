//! `rdsaudit`: structured events out of RDS / Aurora audit logs, from the command line.
//! See `rdsaudit --help`; the work is done by the `rdsaudit` library.

mod cli;

fn main() -> std::process::ExitCode {
    cli::run()
}
