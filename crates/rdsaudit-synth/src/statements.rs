//! What the synthetic clients do: ordinary traffic, `rdsadmin` health checks and the hard
//! cases a parser gets wrong (every escape pair, commas and quotes, multibyte and non-UTF-8
//! text, comments before a write, statements past the plugin's 1024-byte limit).

use super::rng::Rng;

/// One thing a client did, before it is given ids, a time and a dialect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Draft {
    pub user: &'static str,
    pub host: &'static str,
    pub database: &'static str,
    pub action: Action,
    pub retcode: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// A statement as the client sent it (raw bytes, before the plugin escapes or cuts it).
    Query(Vec<u8>),
    Connect,
    Disconnect,
    FailedConnect,
    /// A TABLE event (`READ`, `WRITE`, ...) on a table, as MariaDB's plugin and Aurora log them.
    Table(&'static str, &'static str),
}

const USERS: [(&str, &str); 4] = [
    ("app", "10.0.1.17"),
    ("app", "10.0.2.44"),
    ("report", "10.0.3.9"),
    ("etl", "10.0.4.120"),
];
const DATABASES: [&str; 3] = ["shop", "analytics", "shop"];
const TABLES: [&str; 4] = ["orders", "customers", "order_items", "sessions"];

fn client(rng: &mut Rng, action: Action) -> Draft {
    let (user, host) = rng.pick(&USERS);
    Draft {
        user,
        host,
        database: rng.pick(&DATABASES),
        action,
        retcode: 0,
    }
}

fn query(rng: &mut Rng, sql: String) -> Draft {
    client(rng, Action::Query(sql.into_bytes()))
}

/// Everyday traffic: point reads and writes whose literals vary, so statement shapes repeat.
pub fn ordinary(rng: &mut Rng) -> Draft {
    let n = rng.between(1, 99_999);
    let m = rng.between(1, 9_999);
    match rng.below(12) {
        0..=3 => query(rng, format!("SELECT * FROM orders WHERE id = {n}")),
        4 => query(
            rng,
            format!("SELECT name, email FROM customers WHERE email = 'user{n}@example.com'"),
        ),
        5 => query(
            rng,
            format!("INSERT INTO orders (customer_id, total) VALUES ({n}, {m}.50)"),
        ),
        6 => query(
            rng,
            format!("UPDATE orders SET status = 'shipped' WHERE id = {n}"),
        ),
        7 => query(rng, format!("DELETE FROM sessions WHERE expires_at < {n}")),
        8 => client(rng, Action::Connect),
        9 => client(rng, Action::Disconnect),
        10 => {
            let op = rng.pick(&["READ", "WRITE"]);
            let table = rng.pick(&TABLES);
            client(rng, Action::Table(op, table))
        }
        _ => query(rng, "COMMIT".to_owned()),
    }
}

/// The `rdsadmin` health check RDS runs every second.
pub fn heartbeat(rng: &mut Rng, now_ms: i64) -> Draft {
    let sql = match rng.below(3) {
        0 => "SELECT 1".to_owned(),
        1 => "SELECT @@aurora_version".to_owned(),
        _ => format!(
            "INSERT INTO mysql.rds_heartbeat2(id, value) values (1,{now_ms}) ON DUPLICATE KEY UPDATE value = {now_ms}"
        ),
    };
    Draft {
        user: "rdsadmin",
        host: "localhost",
        database: "",
        action: Action::Query(sql.into_bytes()),
        retcode: 0,
    }
}

/// Statements and events that break naive parsers.
pub fn hard(rng: &mut Rng) -> Draft {
    match rng.below(10) {
        // Every byte the plugin escapes: ' \ newline tab CR backspace form feed.
        0 => query(
            rng,
            "INSERT INTO notes (body) VALUES ('it''s a \\\\path\\\\ \n\tline\r\u{8}\u{c} it\\'s')"
                .to_owned(),
        ),
        // Quotes followed by commas inside the object: a parity-counting splitter breaks here.
        1 => query(
            rng,
            r#"SELECT "a,b", 'c,d', ',', '\',0,' FROM dual WHERE x IN (1,2,3)"#.to_owned(),
        ),
        2 => query(
            rng,
            "INSERT INTO messages (body) VALUES ('こんにちは, 世界 🎉 naïve café')".to_owned(),
        ),
        3 => query(
            rng,
            "/* app:checkout */ UPDATE carts SET total = 12.50 WHERE id = 5".to_owned(),
        ),
        4 => query(
            rng,
            "-- migration 42\nALTER TABLE orders ADD COLUMN note TEXT".to_owned(),
        ),
        // A latin1 client: the plugin copies its bytes without conversion.
        5 => client(
            rng,
            Action::Query(b"SELECT * FROM clients WHERE name = 'caf\xe9 cr\xe8me'".to_vec()),
        ),
        // A string literal that ends with a backslash: the object ends in `\\\'`.
        6 => query(rng, r"SELECT 'C:\' AS drive".to_owned()),
        7 => long_statement(rng),
        8 => Draft {
            retcode: 1045,
            ..client(rng, Action::FailedConnect)
        },
        _ => query(rng, String::new()),
    }
}

/// A multi-row INSERT of 900 to 1400 bytes with multibyte text and escapes, so the plugin's
/// 1024-byte cut lands in ASCII, inside a character or next to an escape.
fn long_statement(rng: &mut Rng) -> Draft {
    let target = rng.between(900, 1400) as usize;
    let mut sql = String::from("INSERT INTO events (id, payload) VALUES ");
    let mut row = 0;
    while sql.len() < target {
        row += 1;
        let text = rng.pick(&[
            "plain text",
            "grüße",
            "日本語テキスト",
            "🎉🎉",
            "it's",
            "a\\b",
        ]);
        sql.push_str(&format!("({row}, '{text} {row}'), "));
    }
    query(rng, sql)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hard_cases_cover_every_escaped_byte_and_long_statements() {
        let mut rng = Rng::new(1);
        let mut seen = Vec::new();
        let mut longest = 0;
        for _ in 0..500 {
            if let Action::Query(sql) = hard(&mut rng).action {
                longest = longest.max(sql.len());
                seen.extend(sql);
            }
        }
        for byte in [
            b'\'', b'\\', b'\n', b'\t', b'\r', 0x08, 0x0c, b',', b'"', 0xe9,
        ] {
            assert!(seen.contains(&byte), "byte {byte:#x} never generated");
        }
        assert!(longest > 1024, "longest statement {longest}");
    }
}
