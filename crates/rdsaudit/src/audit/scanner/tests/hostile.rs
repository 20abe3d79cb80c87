//! The forgeries of issue 11, each as the real server writes it.

use super::*;
use crate::audit::event::Operation;

const SRV: &str = "20261130 04:00:00,db1";

fn line(rest: &str) -> Vec<u8> {
    format!("{SRV},{rest}").into_bytes()
}

/// Every reading: the event first, then the alternatives.
fn readings(e: &AuditEvent<'_>) -> Vec<String> {
    std::iter::once(e.clone())
        .chain(e.ambiguity.alternatives())
        .map(|r| {
            format!(
                "{}|{}|{}|{}|{}|{}|{}|{:?}",
                r.username,
                r.host,
                r.connection_id,
                r.operation,
                r.database,
                r.object.text(),
                r.timestamp.dialect.as_str(),
                r.retcode
            )
        })
        .collect()
}

#[test]
fn a_failed_login_cannot_forge_a_statement() {
    for user in [
        "x,h,1,2,QUERY,db,'GRANT ALL ON *.* TO evil',0",
        "rdsadmin,localhost,1,2,QUERY,,'SELECT 1',0",
        "x,h,1,2,QUERY,db,'GRANT ALL ON *.* TO evil',0,,",
        "x,h,1,0,CONNECT,db,,0",
        "x,h,1,0,DISCONNECT,,,0,SSL",
        "x,h,1,2,READ,db,t,",
        "x,h,1,2,WRITE,db,t,0",
    ] {
        for tail in [",,,1045", ",,,1045,TCP/IP"] {
            let l = line(&format!("{user},10.0.0.9,5,0,FAILED_CONNECT{tail}"));
            let e = parse_line(&l).unwrap_or_else(|err| panic!("{user}{tail}: {err}"));
            assert_eq!(e.operation, Operation::FailedConnect, "{user}{tail}");
            assert_eq!(e.username, user);
            assert_eq!(e.host, "10.0.0.9");
            assert_eq!(e.retcode, Some(1045));
            // A forged connection header leaves a reading whose database absorbs the rest
            // (a database name is free text): flagged. A forged QUERY or TABLE tail cannot
            // end a connection line: no other reading.
            let forges_connection = user.contains("CONNECT,");
            assert_eq!(
                e.ambiguity.is_ambiguous(),
                forges_connection,
                "{user}{tail}"
            );
            let disconnect = line(&format!("{user},10.0.0.9,5,0,DISCONNECT,,,0"));
            let d = parse_line(&disconnect).unwrap();
            assert_eq!(
                (d.operation, &*d.username.text()),
                (Operation::Disconnect, user)
            );
        }
    }
}

#[test]
fn the_exclusion_target_is_the_whole_user_name() {
    let l = line("rdsadmin,localhost,1,2,QUERY,,'SELECT 1',0,10.0.0.9,5,0,FAILED_CONNECT,,,1045");
    let e = parse_line(&l).unwrap();
    assert_ne!(e.username, "rdsadmin");
    assert_eq!(e.operation, Operation::FailedConnect);
}

#[test]
fn a_raw_newline_and_a_forged_line_in_a_user_name_is_ambiguous() {
    let user = "x\n20250101 00:00:00,db1,admin,h,1,2,QUERY,db,'DROP TABLE t',0";
    let l = line(&format!("{user},10.0.0.9,5,0,FAILED_CONNECT,,,1045"));
    let e = parse_line(&l).unwrap();
    assert_eq!(e.operation, Operation::FailedConnect);
    assert_eq!(e.username, user);
    assert_eq!(
        e.timestamp.epoch_us,
        parse_line(&line("u,h,1,2,QUERY,,'x',0"))
            .unwrap()
            .timestamp
            .epoch_us
    );
    // The text after the newline reads as a record of its own: flagged, listed.
    assert!(e.ambiguity.is_ambiguous());
    let alternatives = e.ambiguity.alternatives();
    assert!(
        alternatives
            .iter()
            .any(|a| a.username.text().starts_with("admin")
                && a.timestamp.epoch_us == 1_735_689_600_000_000)
    );
}

#[test]
fn a_database_cannot_replace_the_statement() {
    let l = line("app,10.0.0.5,7,9,QUERY,d,'SELECT 1',0,'DELETE FROM users',0");
    let e = parse_line(&l).unwrap();
    assert_eq!(e.database, "d,'SELECT 1',0");
    assert_eq!(e.object.text(), "DELETE FROM users");
    assert_eq!(e.retcode, Some(0));
    assert!(e.extra.is_empty());
    assert!(!e.ambiguity.is_ambiguous());
}

#[test]
fn a_table_and_database_with_commas_are_ambiguous_not_rds_mysql() {
    let l = line("app,10.0.0.5,7,9,READ,a,b,t,1,");
    let e = parse_line(&l).unwrap();
    assert!(e.ambiguity.is_ambiguous());
    let r = readings(&e);
    assert_eq!(r.len(), 3);
    assert!(
        r.contains(&"app|10.0.0.5|7|READ|a,b|t,1|mariadb|None".to_owned()),
        "{r:?}"
    );
    assert!(r.iter().all(|x| x.ends_with("|mariadb|None")), "{r:?}");
}

#[test]
fn a_lone_cr_between_records_is_not_silently_merged() {
    let first = line("u,h,1,2,QUERY,,'SELECT 1',0");
    let second = line("u,h,1,3,QUERY,,'DELETE FROM t',0");
    let mut joined = first.clone();
    joined.push(b'\r');
    joined.extend_from_slice(&second);
    let e = parse_line(&joined).unwrap();
    assert!(e.ambiguity.is_ambiguous());
    let r = readings(&e);
    for want in [
        "u|h|1|QUERY||SELECT 1|mariadb|Some(0)",
        "u|h|1|QUERY||DELETE FROM t|mariadb|Some(0)",
    ] {
        assert!(r.iter().any(|x| x == want), "{want} not in {r:?}");
    }
}

#[test]
fn forged_anchors_in_a_logged_in_user_name_are_ambiguous() {
    // A user an administrator created with a forged header in its name.
    let l = line("evil,h,1,2,QUERY,db,10.0.0.5,9,9,QUERY,mydb,'SELECT 1',0");
    let e = parse_line(&l).unwrap();
    assert_eq!(e.ambiguity.readings(), 2);
    // The event is the reading with the longest user name.
    assert_eq!(e.username, "evil,h,1,2,QUERY,db");
    assert_eq!(e.database, "mydb");
    let alt = &e.ambiguity.alternatives()[0];
    assert_eq!(
        (&*alt.username.text(), &*alt.database.text()),
        ("evil", "db,10.0.0.5,9,9,QUERY,mydb")
    );
}

#[test]
fn numbers_out_of_range_name_the_field() {
    let at = SRV.len() + 1 + "u,h,".len();
    assert_eq!(
        parse_line(&line("u,h,18446744073709551616,2,QUERY,,'x',0")),
        Err(LineError::ConnectionIdRange { at })
    );
    assert_eq!(
        parse_line(&line("u,h,1,99999999999999999999,QUERY,,'x',0")),
        Err(LineError::QueryIdRange { at: at + 2 })
    );
    assert!(matches!(
        parse_line(&line("u,h,1,2,QUERY,,'x',9223372036854775808")),
        Err(LineError::RetcodeRange { .. })
    ));
    let l = line("u,h,18446744073709551615,2,QUERY,,'x',-9223372036854775808");
    let max = parse_line(&l).unwrap();
    assert_eq!((max.connection_id, max.retcode), (u64::MAX, Some(i64::MIN)));
}

#[test]
fn timestamps_of_the_wrong_width_or_past_9999_are_refused() {
    let rest = ",i1,u,h,1,2,QUERY,,'x',0";
    for (ts, want) in [
        ("1711200969", LineError::EpochWidth { digits: 10 }),
        ("1711200969123", LineError::EpochWidth { digits: 13 }),
        ("99991231 23:59:60", LineError::TimestampRange),
    ] {
        assert_eq!(
            parse_line(format!("{ts}{rest}").as_bytes()),
            Err(want),
            "{ts}"
        );
    }
}

#[test]
fn extra_is_only_what_the_dialect_has() {
    // Ten fields and one more that is not a connection type: not an event with a tail.
    assert!(parse_line(&line("u,h,1,0,CONNECT,db,,0,junk")).is_err());
    assert!(parse_line(&line("u,h,1,2,QUERY,db,'x',0,junk")).is_err());
    assert!(parse_line(&line("u,h,1,2,QUERY,db,'x',0,,,")).is_err());
    // The RDS fork's fields never follow an epoch timestamp.
    assert!(parse_line(b"1711200969123456,i1,u,h,1,2,QUERY,,'x',0,,").is_err());
}
