use super::*;

const LOG: &[u8] = b"20240615 10:31:00,h,app,l,1,2,QUERY,,'SELECT 1',0\r\n\
    \r\n\
    20240615 10:31:01,h,odd\nuser\nname,l,1,0,CONNECT,,,0\n\
    \n\
    1653053459680124,c731,admin,1.2.3.4,35,698024,WRITE,testdb,test2,0";

#[test]
fn rejoins_and_skips_blanks() {
    let r: Vec<_> = records(LOG).collect();
    assert_eq!(r.len(), 3);
    assert_eq!(
        r.iter().map(|r| r.line_number).collect::<Vec<_>>(),
        [1, 3, 7]
    );
    assert_eq!(
        r[1].bytes,
        b"20240615 10:31:01,h,odd\nuser\nname,l,1,0,CONNECT,,,0"
    );
    for rec in r {
        crate::audit::scanner::parse_line(rec.bytes).unwrap();
    }
}

#[test]
fn junk_after_a_broken_record_stays_line_by_line() {
    let mut log = b"20240615 10:31:00,x\n".to_vec();
    for _ in 0..100_000 {
        log.extend_from_slice(b"a,b,c,d,e,f,g,h\n");
    }
    let r: Vec<_> = records(&log).collect();
    assert_eq!(r.len(), 100_001);
    assert_eq!(r[0].bytes, b"20240615 10:31:00,x");
    assert_eq!(r[100_000].line_number, 100_001);
    // A record split over more lines than the cap is not rejoined.
    let mut split = b"20240615 10:31:01,h,u".to_vec();
    for _ in 0..=MAX_CONTINUATIONS {
        split.extend_from_slice(b"\nx");
    }
    split.extend_from_slice(b",l,1,0,CONNECT,,,0\n");
    assert_eq!(records(&split).count() as u64, MAX_CONTINUATIONS + 2);
}

#[test]
fn junk_after_a_complete_record_is_not_absorbed() {
    let log = b"20240615 10:31:00,h,u,l,1,2,QUERY,,'x',0,,\njunk\n";
    let r: Vec<_> = records(log).collect();
    assert_eq!(r.len(), 2);
    assert_eq!(r[1].bytes, b"junk");
    assert_eq!(r[1].line_number, 2);
}

/// Issue 11, case 2: a failed login whose user name holds a newline and a forged line.
/// The first line stays unparsed (with its reason); the forged-looking second line is
/// never a plain event: flagged, with the true reading listed.
#[test]
fn a_forged_line_inside_a_user_name_is_flagged() {
    let user = "x\n20250101 00:00:00,db1,admin,h,1,2,QUERY,db,'DROP TABLE t',0";
    let log = format!(
        "20261130 04:00:00,db1,{user},10.0.0.9,5,0,FAILED_CONNECT,,,1045\n\
         20261130 04:00:00,db1,{user},10.0.0.9,5,0,DISCONNECT,,,0\n"
    );
    let parsed: Vec<_> = std::iter::from_fn({
        let mut r = records(log.as_bytes());
        move || r.next_parsed()
    })
    .collect();
    assert_eq!(parsed.len(), 4);
    for (i, op) in [(0, "FAILED_CONNECT"), (2, "DISCONNECT")] {
        assert_eq!(parsed[i].1, Err(LineError::Header));
        let e = parsed[i + 1].1.as_ref().unwrap();
        assert_eq!(parsed[i + 1].0.line_number, i as u64 + 2);
        assert_eq!(e.operation.as_str(), op);
        assert!(e.ambiguity.is_ambiguous());
        let alternatives = e.ambiguity.alternatives();
        assert!(
            alternatives
                .iter()
                .any(|a| a.username == user && a.operation.as_str() == op),
            "{alternatives:?}"
        );
    }
}

/// A name holding a complete forged record before its newline: the line parses alone,
/// but the rest of the record follows; one record, the forged reading listed.
#[test]
fn a_complete_forged_record_before_a_newline_is_not_an_event() {
    let log = b"20261130 04:00:00,db1,a,h,1,2,QUERY,,'GRANT ALL ON *.* TO a',0\n\
                x,10.0.0.9,5,0,FAILED_CONNECT,,,1045\n";
    let mut r = records(log);
    let (rec, event) = r.next_parsed().unwrap();
    assert!(r.next().is_none());
    let e = event.unwrap();
    assert_eq!(rec.bytes.len(), log.len() - 1);
    assert_eq!(e.operation.as_str(), "FAILED_CONNECT");
    assert!(e.ambiguity.is_ambiguous());
    assert!(
        e.ambiguity
            .alternatives()
            .iter()
            .any(|a| a.object.text() == "GRANT ALL ON *.* TO a")
    );
}

/// Issue 11, case 5: records separated by a lone CR are two records.
#[test]
fn a_lone_cr_ends_a_line() {
    let log = b"20240615 10:31:00,h,u,l,1,2,QUERY,,'SELECT 1',0\r20240615 10:31:01,h,u,l,1,3,QUERY,,'DELETE FROM t',0\r";
    let r: Vec<_> = records(log).collect();
    assert_eq!(r.len(), 2);
    assert_eq!(r[1].line_number, 2);
}

/// `n` QUERY records, each a line, with `extra` after every `every`-th (from the first).
fn queries_with(n: usize, every: usize, extra: &[u8]) -> Vec<u8> {
    let mut log = Vec::new();
    for i in 0..n {
        log.extend_from_slice(
            format!("20240615 10:31:00,h,u{i},l,1,{i},QUERY,,'SELECT {i}',0\n").as_bytes(),
        );
        if i % every == 0 {
            log.extend_from_slice(extra);
        }
    }
    log
}

/// The parses stay in slots reused record after record: handed out in place or moved
/// out, the records and parses are the same, and the slots never outnumber the records
/// held at once (plus the look-ahead's).
#[test]
fn parse_slots_are_reused_and_bounded() {
    let log = queries_with(
        2000,
        97,
        b"junk\n\n20240615 10:31:00,h,x\ny,l,1,0,CONNECT,,,0\n",
    );
    let moved: Vec<_> = std::iter::from_fn({
        let mut r = records(&log);
        move || r.next_parsed()
    })
    .collect();
    let mut r = records(&log);
    let mut most_held = 0;
    let mut n = 0;
    while let Some((record, parsed)) = r.next_in_place() {
        assert_eq!((record, parsed.clone()), moved[n]);
        n += 1;
        most_held = most_held.max(r.held.len());
    }
    assert_eq!(n, moved.len());
    assert!(r.parses.len() <= most_held + 1, "{} slots", r.parses.len());
}

proptest::proptest! {
    /// The search made once finds what `memchr2` finds, at every offset of texts of every
    /// length around the vector widths.
    #[test]
    fn the_break_search_is_memchr2(
        text in proptest::collection::vec(
            proptest::sample::select(vec![b'a', b'\n', b'\r', b',', 0xff]),
            0..200,
        ),
    ) {
        let search = BreakSearch::new();
        for from in 0..=text.len() {
            let rest = &text[from..];
            proptest::prop_assert_eq!(search.find(rest), memchr::memchr2(b'\n', b'\r', rest));
        }
    }
}

/// [`Records::record_at`] asks whether a line is the marker alone only when it ends with
/// the marker: the first must imply the second.
#[test]
fn the_marker_alone_ends_with_the_marker() {
    for line in [
        &b"[Your log message was truncated]"[..],
        b" [Your log message was truncated]",
        b"\t[Your log message was truncated] \x0c",
        b"  [Your log message was truncated]  ",
    ] {
        assert!(is_marker(line) && ends_with_marker(line));
    }
}

#[test]
fn a_first_line_without_timestamp_is_its_own_record() {
    let r: Vec<_> = records(b"garbage\n20240615 10:31:00,h,u,l,1,2,QUERY,,'x',0").collect();
    assert_eq!(r.len(), 2);
    assert_eq!(r[0].bytes, b"garbage");
}

#[test]
fn boundaries_preserve_records_and_line_numbers() {
    let log = queries_with(500, 7, b"\n");
    let whole: Vec<_> = records(&log).collect();
    for piece in [1, 100, 4000, 1 << 20] {
        let (mut joined, mut rest, mut first) = (Vec::new(), &log[..], 1);
        while !rest.is_empty() {
            let (piece, after) = rest.split_at(boundary_after(rest, piece));
            let mut read = records(piece);
            joined.extend(read.by_ref().map(|r| TextRecord {
                line_number: r.line_number + first - 1,
                ..r
            }));
            assert_eq!(read.breaks_passed(), count_lines(piece));
            first += count_lines(piece);
            rest = after;
        }
        assert_eq!(joined, whole, "piece={piece}");
    }
}

/// [`Records::breaks_passed`] once every record is read is [`count_lines`]: LF, CRLF, lone
/// CR, blank lines, records joined over raw breaks, and a last line with or without a break.
#[test]
fn the_breaks_passed_are_the_lines_counted() {
    for text in [LOG, b"", b"\n", b"\r", b"\r\n\r\n", b"x", b"x\ry\r\n\nz\n"] {
        let mut read = records(text);
        read.by_ref().for_each(drop);
        assert_eq!(read.breaks_passed(), count_lines(text), "{text:?}");
    }
}
