//! `rdsaudit gen`: a synthetic corpus from [`rdsaudit_synth`], packaged as asked.

use std::io::Write as _;

use anyhow::Context as _;
use rdsaudit::Dialect;
use rdsaudit_synth::delivery::{awslogs_event, gzip};
use rdsaudit_synth::{Corpus, Spec};

use super::args::{DialectArg, GenArgs, GenOutput, Preset};

pub fn run(args: &GenArgs) -> anyhow::Result<u8> {
    let corpus = Corpus::generate(&spec(args));
    if args.output == GenOutput::Gzip
        && let Some(dir) = args.out.as_deref()
    {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        for (i, record) in corpus.records.iter().enumerate() {
            let path = dir.join(format!("record-{:05}.gz", i + 1));
            std::fs::write(&path, gzip(&record.envelope()))
                .with_context(|| format!("writing {}", path.display()))?;
        }
        return Ok(super::OK);
    }
    let bytes = package(&corpus, args.output)?;
    let mut out = super::output(args.out.as_deref())?;
    out.write_all(&bytes)?;
    out.flush()?;
    Ok(super::OK)
}

fn spec(args: &GenArgs) -> Spec {
    let dialect = match args.dialect {
        DialectArg::Aurora => Dialect::Aurora,
        DialectArg::Mariadb => Dialect::MariaDb,
        DialectArg::RdsMysql => Dialect::RdsMySql,
    };
    let sized = match args.preset {
        Some(Preset::MaxLambdaBatch) => Spec::max_lambda_batch(dialect),
        Some(Preset::MaxLambdaPayload) => Spec::max_lambda_payload(dialect),
        None => Spec {
            records: args.records,
            lines_per_record: args.lines_per_record,
            ..Spec::new(dialect)
        },
    };
    Spec {
        seed: args.seed,
        hard_percent: args.hard,
        ..sized
    }
}

fn package(corpus: &Corpus, output: GenOutput) -> anyhow::Result<Vec<u8>> {
    Ok(match output {
        GenOutput::Kinesis => corpus.kinesis_event(),
        GenOutput::Awslogs => match corpus.records.as_slice() {
            [record] => awslogs_event(&gzip(&record.envelope())),
            _ => anyhow::bail!("--output awslogs holds one CloudWatch payload: use --records 1"),
        },
        GenOutput::Gzip => corpus
            .records
            .iter()
            .flat_map(|r| gzip(&r.envelope()))
            .collect(),
        GenOutput::Envelope => corpus
            .records
            .iter()
            .flat_map(|r| {
                let mut json = r.envelope();
                json.push(b'\n');
                json
            })
            .collect(),
        GenOutput::Lines => corpus.plain_text(),
        GenOutput::LinesGz => gzip(&corpus.plain_text()),
    })
}
