//! Table names as (database, table) pairs, and how they are written and read back.
//!
//! A table or database name may hold any character, `.` and `|` too (`` `evil`.`shop.orders` ``
//! is a table of the database `evil`), so a name is never split on a character: it is kept as
//! its two parts from where it was read (the statement's tokens, or a TABLE event's database
//! and object fields). Written for people and other programs, [`Table`]'s `Display` gives
//! `db.table`, as before, and back-quotes a part the MySQL way (`` ` `` doubled) when it holds
//! a `.` or a back quote, so the text reads back one way only: `` evil.`shop.orders` ``.
//! [`TablePattern`] (`--table`, `RDSAUDIT_TABLES`) reads the same syntax.
//!
//! ```
//! use rdsaudit_sql::name::{Table, TablePattern};
//!
//! assert_eq!(Table::new("shop", "orders").to_string(), "shop.orders");
//! assert_eq!(Table::new("evil", "shop.orders").to_string(), "evil.`shop.orders`");
//! let wanted = TablePattern::parse("shop.orders")?;
//! assert!(wanted.matches(&Table::new("shop", "orders"), ""));
//! assert!(!wanted.matches(&Table::new("evil", "shop.orders"), ""));
//! assert!(TablePattern::parse("evil.`shop.orders`")?.matches(&Table::new("evil", "shop.orders"), ""));
//! # Ok::<(), rdsaudit_sql::name::TableNameError>(())
//! ```

use std::borrow::Cow;
use std::fmt;

/// A table: its database (empty when not known: a bare name with no current database) and
/// its name, each as the server spells it (quotes removed). Names are bytes to the server
/// (`` CREATE TABLE `\xff` ``, a database of bytes that are not UTF-8): a part that is not
/// UTF-8 is its lossy text here (U+FFFD for each sequence that is not), its bytes kept
/// beside it ([`Table::bytes`]), so two tables whose text is the same stay two tables
/// (session 34's adversary LOW-4: `rdsaudit stats` counted `\xff` and U+FFFD as one).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Table {
    /// The database; empty when the statement named none and none was selected.
    pub database: String,
    /// The table's name.
    pub name: String,
    /// The database's and the name's bytes, when either is not UTF-8; `None` when both
    /// are (their text is their bytes).
    raw: Option<Box<[Vec<u8>; 2]>>,
}

impl Table {
    /// The table `name` of `database` (empty: not known).
    pub fn new(database: impl Into<String>, name: impl Into<String>) -> Self {
        Table {
            database: database.into(),
            name: name.into(),
            raw: None,
        }
    }

    /// The table `name` of `database` (empty: not known) as the server spells them, in
    /// bytes: a part that is not UTF-8 is read as its lossy text, its bytes kept.
    pub fn from_bytes(database: &[u8], name: &[u8]) -> Self {
        let (db, text) = (
            String::from_utf8_lossy(database),
            String::from_utf8_lossy(name),
        );
        let utf8 = matches!((&db, &text), (Cow::Borrowed(_), Cow::Borrowed(_)));
        Table {
            database: db.into_owned(),
            name: text.into_owned(),
            raw: (!utf8).then(|| Box::new([database.to_vec(), name.to_vec()])),
        }
    }

    /// The database's and the name's bytes, as the server spells them.
    pub fn bytes(&self) -> (&[u8], &[u8]) {
        match self.raw.as_deref() {
            Some([database, name]) => (database, name),
            None => (self.database.as_bytes(), self.name.as_bytes()),
        }
    }

    /// Whether both parts are UTF-8 (else their text is lossy: [`Table::bytes`]).
    pub fn is_utf8(&self) -> bool {
        self.raw.is_none()
    }

    /// The same table in `database` (bytes, as the server spells it) when it names none (as
    /// the server resolves a bare name).
    pub fn in_database(mut self, database: &[u8]) -> Self {
        if !self.database.is_empty() || database.is_empty() {
            return self;
        }
        match (std::str::from_utf8(database), &self.raw) {
            (Ok(text), None) => {
                text.clone_into(&mut self.database);
                self
            }
            _ => Table::from_bytes(database, self.bytes().1),
        }
    }
}

/// Whether a part must be back-quoted to read back as one part.
fn needs_quotes(part: &str) -> bool {
    part.contains(['.', '`'])
}

fn write_part(f: &mut fmt::Formatter<'_>, part: &str) -> fmt::Result {
    if needs_quotes(part) {
        write!(f, "`{}`", part.replace('`', "``"))
    } else {
        f.write_str(part)
    }
}

impl fmt::Display for Table {
    /// `db.table`; a part holding `.` or `` ` `` back-quoted (`` ` `` doubled); `table` alone
    /// when the database is not known.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.database.is_empty() {
            write_part(f, &self.database)?;
            f.write_str(".")?;
        }
        write_part(f, &self.name)
    }
}

/// Compares with the written form (`"shop.orders"`, `` "evil.`shop.orders`" ``), for tests
/// and callers holding text.
impl PartialEq<&str> for Table {
    fn eq(&self, other: &&str) -> bool {
        written_as(self, other)
    }
}

impl PartialEq<str> for Table {
    fn eq(&self, other: &str) -> bool {
        written_as(self, other)
    }
}

/// Whether `table` is written `text`, compared as it is written (no string built).
fn written_as(table: &Table, text: &str) -> bool {
    /// What is left of the text to match.
    struct Rest<'a>(&'a str);
    impl fmt::Write for Rest<'_> {
        fn write_str(&mut self, s: &str) -> fmt::Result {
            self.0 = self.0.strip_prefix(s).ok_or(fmt::Error)?;
            Ok(())
        }
    }
    let mut rest = Rest(text);
    fmt::write(&mut rest, format_args!("{table}")).is_ok() && rest.0.is_empty()
}

/// A `--table` value that does not read as `table` or `db.table`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "table {value:?}: {why}; expected `table` or `db.table`, a part holding `.` or a back quote back-quoted (`` evil.`shop.orders` ``, a back quote doubled)"
)]
pub struct TableNameError {
    /// The value as given.
    pub value: String,
    /// What is wrong with it.
    pub why: &'static str,
}

/// A table wanted by `--table` / `RDSAUDIT_TABLES`: `orders` (in any database) or
/// `shop.orders`, each part plain or back-quoted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TablePattern {
    /// The database, when given.
    pub database: Option<String>,
    /// The table's name.
    pub name: String,
}

impl TablePattern {
    /// Reads `table`, `db.table`, `` `db.x`.`t``q` ``: parts separated by `.`, a back-quoted
    /// part running to its closing back quote (two back quotes inside are one).
    pub fn parse(value: &str) -> Result<Self, TableNameError> {
        let err = |why| TableNameError {
            value: value.to_owned(),
            why,
        };
        let mut parts = Vec::new();
        let mut rest = value;
        loop {
            let (part, after) = read_part(rest).map_err(err)?;
            if part.is_empty() {
                return Err(err("an empty name"));
            }
            parts.push(part);
            match after.strip_prefix('.') {
                Some(next) => rest = next,
                None if after.is_empty() => break,
                None => return Err(err("text after a back-quoted name")),
            }
        }
        match <[String; 2]>::try_from(parts) {
            Ok([database, name]) => Ok(TablePattern {
                database: Some(database),
                name,
            }),
            Err(parts) => match <[String; 1]>::try_from(parts) {
                Ok([name]) => Ok(TablePattern {
                    database: None,
                    name,
                }),
                Err(_) => Err(err("more than two parts")),
            },
        }
    }

    /// Whether `table` is this one (names compared case-insensitively: the same statement
    /// may spell a name either way); a table whose database is not known is taken in
    /// `database`, the event's.
    pub fn matches(&self, table: &Table, database: &str) -> bool {
        let same = |a: &str, b: &str| a.eq_ignore_ascii_case(b);
        same(&self.name, &table.name)
            && self.database.as_deref().is_none_or(|wanted| {
                let db = if table.database.is_empty() {
                    database
                } else {
                    &table.database
                };
                same(wanted, db)
            })
    }
}

impl fmt::Display for TablePattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        Table::new(self.database.clone().unwrap_or_default(), self.name.clone()).fmt(f)
    }
}

/// One part at the start of `text` and what follows it.
fn read_part(text: &str) -> Result<(String, &str), &'static str> {
    let Some(quoted) = text.strip_prefix('`') else {
        let end = text.find('.').unwrap_or(text.len());
        let (part, rest) = text.split_at(end);
        if part.contains('`') {
            return Err("a back quote inside a name that is not back-quoted");
        }
        return Ok((part.to_owned(), rest));
    };
    let mut part = String::new();
    let mut chars = quoted.char_indices();
    while let Some((i, c)) = chars.next() {
        if c != '`' {
            part.push(c);
        } else if quoted.get(i + 1..).is_some_and(|r| r.starts_with('`')) {
            part.push('`');
            chars.next();
        } else {
            return Ok((part, quoted.get(i + 1..).unwrap_or_default()));
        }
    }
    Err("a back quote that is not closed")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_that_could_be_split_otherwise_is_back_quoted_and_reads_back() {
        for (db, name, text) in [
            ("shop", "orders", "shop.orders"),
            ("evil", "shop.orders", "evil.`shop.orders`"),
            ("evil", "x|shop.orders", "evil.`x|shop.orders`"),
            ("a.b", "c", "`a.b`.c"),
            ("d", "t`q", "d.`t``q`"),
            ("", "shop.orders", "`shop.orders`"),
            ("", "orders", "orders"),
            ("sem", "a|b", "sem.a|b"),
        ] {
            let t = Table::new(db, name);
            assert_eq!(t.to_string(), text);
            let p = TablePattern::parse(text).unwrap();
            assert_eq!(p.name, name, "{text}");
            assert_eq!(p.database.as_deref().unwrap_or(""), db, "{text}");
            assert!(p.matches(&t, ""), "{text}");
        }
    }

    #[test]
    fn compares_with_its_written_form() {
        assert_eq!(Table::new("evil", "shop.orders"), "evil.`shop.orders`");
        assert_ne!(Table::new("evil", "shop.orders"), "evil.shop.orders");
        assert_ne!(Table::new("shop", "orders"), "shop.order");
        assert_ne!(Table::new("shop", "orders"), "shop.orders2");
        assert!(Table::new("shop", "orders") == *"shop.orders");
    }

    #[test]
    fn matching_is_by_pair() {
        let p = |s| TablePattern::parse(s).unwrap();
        assert!(p("orders").matches(&Table::new("shop", "orders"), "x"));
        assert!(p("shop.orders").matches(&Table::new("", "orders"), "shop"));
        assert!(!p("shop.orders").matches(&Table::new("", "orders"), "other"));
        assert!(p("Shop.Orders").matches(&Table::new("shop", "orders"), ""));
        assert!(!p("order").matches(&Table::new("shop", "orders"), "shop"));
        assert!(!p("shop.orders").matches(&Table::new("evil", "shop.orders"), "evil"));
        assert!(!p("shop.orders").matches(&Table::new("", "shop.orders"), "evil"));
        assert!(!p("orders").matches(&Table::new("evil", "shop.orders"), ""));
    }

    /// Session 34's adversary LOW-4: a table named `\xff` and one named U+FFFD were one.
    #[test]
    fn tables_whose_text_is_the_same_are_told_apart_by_their_bytes() {
        let ff = Table::from_bytes(b"shop", b"\xff");
        let fffd = Table::from_bytes(b"shop", "\u{FFFD}".as_bytes());
        assert_eq!(ff.to_string(), fffd.to_string());
        assert_ne!(ff, fffd);
        assert_ne!(ff, Table::from_bytes(b"shop", b"\xfe"));
        assert_eq!(ff.bytes(), (&b"shop"[..], &b"\xff"[..]));
        assert!(!ff.is_utf8() && fffd.is_utf8());
        // UTF-8 read from bytes is the table of its text.
        assert_eq!(fffd, Table::new("shop", "\u{FFFD}"));
        // The database resolved for a bare name keeps its bytes too.
        let bare = Table::from_bytes(b"", b"t");
        let db = bare.clone().in_database(b"\xff");
        assert_eq!(db.bytes(), (&b"\xff"[..], &b"t"[..]));
        assert_ne!(db, bare.clone().in_database("\u{FFFD}".as_bytes()));
        assert_eq!(bare.clone().in_database(b"shop"), Table::new("shop", "t"));
        assert_eq!(
            Table::from_bytes(b"", b"\xff").in_database(b"shop").bytes(),
            (&b"shop"[..], &b"\xff"[..])
        );
        assert_eq!(ff.clone().in_database(b"other"), ff);
    }

    #[test]
    fn values_that_read_no_way_are_errors_naming_them() {
        for (bad, why) in [
            ("a.b.c", "more than two parts"),
            ("shop.", "an empty name"),
            (".orders", "an empty name"),
            ("`shop.orders", "a back quote that is not closed"),
            ("`a`b", "text after a back-quoted name"),
            ("a`b", "a back quote inside a name that is not back-quoted"),
        ] {
            let e = TablePattern::parse(bad).unwrap_err();
            assert_eq!(e.why, why, "{bad}");
            assert!(e.to_string().contains(&format!("{bad:?}")), "{e}");
        }
    }
}
