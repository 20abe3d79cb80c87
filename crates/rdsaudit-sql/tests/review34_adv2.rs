//! Session 34's adversary 2: a write hidden by a session's client character set where
//! session 33's readings do not look (FINDINGS HIGH-1, checked on MariaDB 10.11.14).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use rdsaudit_sql::{analyze, analyze_tokens};

/// In a `gbk` (or `big5`, `sjis`) session with `sql_mode=MSSQL`, `0x5D` (`]`) is a trail byte:
/// a lead byte before the `]` that would close a bracket name makes it part of the name, which
/// runs on to the next `]`. MariaDB 10.11.14, `SET NAMES gbk; SET sql_mode='MSSQL'; UPDATE t
/// AS [<BF>] SET a=1 -- ], w SET w.a=7` set `w.a` to 7 and left `t` alone. Read as `t`
/// written alone, not flagged: `w` hidden. The same with a `'<BF>\'` in the text, which turns
/// the `gbk` readings on (they read two-byte characters in strings only).
#[test]
fn a_lead_byte_before_the_closing_bracket_of_an_mssql_name_does_not_hide_a_write() {
    for lead in [0xBF_u8, 0x81, 0xA4] {
        let mut plain = b"UPDATE t AS [".to_vec();
        plain.push(lead);
        plain.extend_from_slice(b"] SET a=1 -- ], w SET w.a=7");
        let mut with_string = b"UPDATE t AS [".to_vec();
        with_string.push(lead);
        with_string.extend_from_slice(b"] SET a=1, b='");
        with_string.push(lead);
        with_string.extend_from_slice(b"\\' -- ], w SET w.a=7");
        for sql in [plain, with_string] {
            let shown = String::from_utf8_lossy(&sql).into_owned();
            for a in [analyze(&sql), analyze_tokens(&sql)] {
                let named = |list: &[rdsaudit_sql::Table]| {
                    list.iter().map(ToString::to_string).any(|x| x == "w")
                };
                assert!(a.writes, "{shown}: {a:?}");
                assert!(named(&a.tables), "{shown}: w not among the tables: {a:?}");
                assert!(named(&a.written), "{shown}: w not written: {a:?}");
            }
        }
    }
}
