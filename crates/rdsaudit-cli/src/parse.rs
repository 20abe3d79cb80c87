//! `rdsaudit parse`: every event, filtered, in the chosen format, in input order.

use std::io::Write as _;

use bumpalo::Bump;
use rdsaudit::AuditEvent;
use rdsaudit::pipeline::Pipeline;

use super::accounting::Accounting;
use super::args::ParseArgs;
use super::format::{self, Chunk};
use super::input::Reader;

pub fn run(args: &ParseArgs, quiet: bool) -> anyhow::Result<u8> {
    let filter = super::filter(&args.filter)?;
    let format = args.format;
    let visit = |e: &AuditEvent<'_>, _: &Bump, out: &mut Chunk| {
        if filter.matches(e) {
            out.write(format, e);
        }
    };
    let reader = Reader {
        pipeline: Pipeline::new(),
        kind: args.input.kind,
        visit: &visit,
        progress: !quiet,
    };
    let mut out = super::output(None)?;
    out.write_all(&format::header(format))?;
    let mut acc = Accounting::default();
    let mut kept = 0;
    let inputs = super::read_all(&args.input.paths, &reader, &mut acc, &mut |chunk: Chunk| {
        kept += chunk.events;
        out.write_all(&chunk.into_bytes())
    })?;
    out.flush()?;
    if !quiet {
        eprint!("{}", acc.summary("rdsaudit: summary", inputs, kept));
    }
    Ok(super::exit_status(&acc))
}
