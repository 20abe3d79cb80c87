//! SQL: each QUERY event's statement on one line, ending in `;`, for replaying or reading a
//! session. Other operations are not written.
//!
//! Line breaks inside a statement are turned into spaces (use NDJSON for the exact text).
//!
//! ```
//! let event = rdsaudit::parse_line(br"20240323 13:36:09,ip-172-17-4-137,app,10.0.0.5,4,149869,QUERY,shop,'UPDATE t SET a=1\nWHERE id=2',0,,")?;
//! let mut out = Vec::new();
//! assert!(rdsaudit::sink::sql::write(&event, &mut out));
//! assert_eq!(out, b"UPDATE t SET a=1 WHERE id=2;\n");
//! # Ok::<(), rdsaudit::LineError>(())
//! ```

use crate::audit::event::{AuditEvent, Operation};

/// Appends a QUERY's statement and `;\n` to `out`. Returns whether anything was written.
pub fn write(e: &AuditEvent<'_>, out: &mut Vec<u8>) -> bool {
    if e.operation != Operation::Query {
        return false;
    }
    let text = e.object.text();
    let statement = text.trim();
    if statement.is_empty() {
        return false;
    }
    out.extend(
        statement
            .bytes()
            .map(|b| if b == b'\n' || b == b'\r' { b' ' } else { b }),
    );
    if !statement.ends_with(';') {
        out.push(b';');
    }
    out.push(b'\n');
    true
}
