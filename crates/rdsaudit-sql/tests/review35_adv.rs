//! Session 35's adversary: writes hidden from every reading (FINDINGS, checked on MariaDB
//! 10.11.14).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use rdsaudit_sql::{Analysis, Table, analyze, analyze_tokens};

fn named(list: &[Table], table: &str) -> bool {
    list.iter().map(ToString::to_string).any(|x| x == table)
}

/// `table` is among the tables and the written tables of `a`, or `a` says its tables are not
/// all told.
fn told(a: &Analysis, table: &str) -> bool {
    a.partial || (a.writes && named(&a.tables, table) && named(&a.written, table))
}

/// In a `gbk`, `big5` or `sjis` session, `0x5B` (`[`) is a trail byte too: a lead byte before
/// a `[` makes it part of a name, so under `MSSQL` it opens no bracket name. MariaDB 10.11.14,
/// `SET NAMES gbk; SET sql_mode='MSSQL'; UPDATE [q"] AS x<BF>[, w SET w.a = 7 -- "]` logged a
/// WRITE of `shop.w` alone (also with big5 and leads 0xBF, 0xA4, sjis and lead 0x81). Read as `q"`
/// written, `w` in no list, not partial: the default and ANSI_QUOTES readings see the `"` of
/// `[q"]` open a string or name that runs to the `"` in the comment, the MSSQL reading sees
/// `[, w SET ... "]` as a name. No lead byte before a `]` or a backslash: the gate stays shut,
/// and with it open (a `'<BF>\'` string added) the lexer still opens the bracket.
#[test]
fn a_lead_byte_before_an_opening_bracket_does_not_hide_a_write() {
    for lead in [0xBF_u8, 0x81, 0xA4] {
        let mut plain = b"UPDATE [q\"] AS x".to_vec();
        plain.push(lead);
        plain.extend_from_slice(b"[, w SET w.a = 7 -- \"]");
        let mut with_string = b"UPDATE [q\"] AS x".to_vec();
        with_string.push(lead);
        with_string.extend_from_slice(b"[, w SET w.a = LENGTH('");
        with_string.push(lead);
        with_string.extend_from_slice(b"\\') -- \"]");
        for sql in [plain, with_string] {
            let shown = String::from_utf8_lossy(&sql).into_owned();
            for a in [analyze(&sql), analyze_tokens(&sql)] {
                assert!(told(&a, "w"), "{shown}: w written, not told: {a:?}");
            }
        }
    }
}
