//! The reference reader of rdsaudit's TSV escapes, for tests of the TSV writer
//! (`rdsaudit::sink::csv`) and of the CLI's `--format tsv`.

/// Undoes the `mysql --batch` escapes the TSV writer uses: `\\`, `\t`, `\n`, `\r`, `\0`; any
/// other escaped character stands for itself. `None` when the cell ends in a lone backslash
/// (no writer output does).
///
/// ```
/// assert_eq!(rdsaudit_synth::tsv::unescape(r"a\tb\\c\n").as_deref(), Some("a\tb\\c\n"));
/// assert_eq!(rdsaudit_synth::tsv::unescape("x\\"), None);
/// ```
pub fn unescape(cell: &str) -> Option<String> {
    let mut out = String::with_capacity(cell.len());
    let mut chars = cell.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        out.push(match chars.next()? {
            't' => '\t',
            'n' => '\n',
            'r' => '\r',
            '0' => '\0',
            other => other,
        });
    }
    Some(out)
}
