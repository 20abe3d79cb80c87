//! Forgeries recorded from a real MariaDB 10.11.14 with `server_audit` by the third
//! adversarial review (`corpus/mariadb/audit-review3-forgeries.log`): a failed login whose
//! 72-byte user name holds a whole QUERY record, nine short lines, a timestamp line that starts
//! no record and a fragment (F1); a database named `d⏎⏎20241231 23:59:59,vm,admin,...,WRITE,mysql`
//! with table `user` (F2). Before the fix each came out as a plain event (`DROP TABLE x` by `x`,
//! a `WRITE` on `mysql.user` by `admin`); every reading that names them must be flagged.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;

use rdsaudit::{AuditEvent, Decoder};

#[test]
fn forged_events_from_the_real_server_are_never_plain() {
    let path = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
        .join("corpus/mariadb/audit-review3-forgeries.log");
    let log = std::fs::read(path).expect("recorded log");
    let mut forged = 0;
    let mut root = 0;
    let report = Decoder::new()
        .decode(&log, &mut |e: &AuditEvent<'_>| {
            let text = e.object.unescaped();
            let named = e.username == "admin" || (e.username == "x" && &*text == b"DROP TABLE x");
            if named {
                forged += 1;
                assert!(e.ambiguity.is_ambiguous(), "a plain forged event: {e:?}");
            } else if e.username == "root" {
                root += 1;
            }
        })
        .expect("the log decodes");
    assert!(report.is_balanced());
    // Two forged DROP TABLE readings (FAILED_CONNECT and DISCONNECT of the same name) and two
    // forged admin WRITEs (the WRITE and its CREATE's neighbour), all flagged.
    assert!(forged >= 4, "the forged readings are still read: {forged}");
    // The workload's own events are read (those within `MAX_NAMES_BYTES` of the forged
    // names' lines flagged, the window rule).
    assert!(root > 0, "the workload's own events are read");
}
