use super::*;
use crate::input::prefixed::Breaks;
use crate::input::text::{MAX_CONTINUATIONS, count_lines, records};
use proptest::prelude::*;

/// Returns at most `sizes[i]` bytes on the i-th read (cycling), as a pipe does.
struct Trickle<'a> {
    data: &'a [u8],
    sizes: Vec<usize>,
    calls: usize,
}

impl Read for Trickle<'_> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let size = self.sizes.get(self.calls % self.sizes.len()).copied();
        self.calls += 1;
        let n = size.unwrap_or(1).max(1).min(out.len()).min(self.data.len());
        out[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

/// Each record as the text reader makes it: line number, bytes, and what the scanner made of
/// it (events with their ambiguity and alternatives, or the reason), as text.
type Decoded = Vec<(u64, Vec<u8>, String)>;

fn decode(piece: &[u8], first_line: u64, out: &mut Decoded) {
    decode_records(records(piece), first_line, out);
}

fn decode_records(mut r: text::Records<'_>, first_line: u64, out: &mut Decoded) -> text::Edges {
    while let Some((rec, parsed)) = r.next_parsed() {
        let line = first_line + rec.line_number - 1;
        out.push((line, rec.bytes.to_vec(), format!("{parsed:?}")));
    }
    r.edges()
}

/// Pieces `(first line, records placed with `at`)` decoded as the decoder does: each alone, then again with
/// the dirty lines nearest to it in the other pieces when they flag one of its records.
fn decode_pieces(pieces: Vec<(u64, text::Records<'_>)>) -> Decoded {
    let alone: Vec<(Decoded, text::Edges)> = pieces
        .iter()
        .map(|(first, r)| {
            let mut out = Vec::new();
            let edges = decode_records(r.clone(), *first, &mut out);
            (out, edges)
        })
        .collect();
    let mut all = Vec::new();
    for (i, (first, r)) in pieces.into_iter().enumerate() {
        let around = text::Around {
            before: alone[..i].iter().rev().find_map(|(_, e)| e.last_dirty),
            after: alone[i + 1..].iter().find_map(|(_, e)| e.first_dirty),
        };
        if alone[i].1.needs(around) {
            decode_records(r.around(around), first, &mut all);
        } else {
            all.extend(alone[i].0.iter().cloned());
        }
    }
    all
}

fn whole(log: &[u8]) -> Decoded {
    let mut out = Vec::new();
    decode(log, 1, &mut out);
    out
}

fn streamed<R: Read>(stream: TextStream<R>) -> Decoded {
    streamed_reusing(stream, false)
}

/// `reuse`: each piece is given back to the stream once read.
fn streamed_reusing<R: Read>(mut stream: TextStream<R>, reuse: bool) -> Decoded {
    let mut pieces = Vec::new();
    while let Some(piece) = stream.next_piece().unwrap() {
        match &piece {
            Piece::Text(bytes) => assert!(!bytes.is_empty(), "empty piece"),
            Piece::Window { until, .. } => assert!(*until > 0, "empty piece"),
            other => panic!("unexpected {other:?}"),
        }
        pieces.push(piece.clone());
        if reuse {
            stream.reuse(piece);
        }
    }
    let (mut first_line, mut at) = (1, 0);
    let mut numbered = Vec::new();
    for piece in &pieces {
        let (records, own) = match piece {
            Piece::Text(bytes) => (records(bytes), &bytes[..]),
            Piece::Window { bytes, until } => (
                text::records_in_window(bytes).stop_at(*until),
                &bytes[..*until],
            ),
            Piece::TooLong { .. } => unreachable!(),
        };
        numbered.push((first_line, records.at(at)));
        first_line += count_lines(own);
        at += own.len() as u64;
    }
    decode_pieces(numbered)
}

/// Lines a log holds: every dialect, statements with escaped quotes, commas and newlines,
/// records broken by raw newlines (rejoinable, and past the cap), names holding a newline and a
/// whole forged audit line, truncated lines, blank lines, CRs, junk and random bytes.
fn fragment() -> impl Strategy<Value = Vec<u8>> {
    let continuation = |n: usize| {
        let mut v = b"20240615 10:31:01,h,u".to_vec();
        for _ in 0..n {
            v.extend_from_slice(b"\nx");
        }
        v.extend_from_slice(b",l,1,0,CONNECT,,,0");
        v
    };
    prop_oneof![
        Just(br"20240615 10:31:00,h,app,l,1,2,QUERY,db,'SELECT \'a,b\'\n1',0".to_vec()),
        Just(b"1653053459680124,c731,admin,1.2.3.4,35,698024,WRITE,testdb,test2,0".to_vec()),
        Just(b"20240323 13:36:08,ip-1,rdsadmin,localhost,4,149868,QUERY,,'SELECT 1',0,,".to_vec()),
        Just(b"20240615 10:31:01,h,odd\nuser\nname,l,1,0,CONNECT,,,0".to_vec()),
        Just(
            b"20261130 04:00:00,db1,x\n20250101 00:00:00,db1,admin,h,1,2,QUERY,db,'DROP TABLE t',0,10.0.0.9,5,0,FAILED_CONNECT,,,1045"
                .to_vec()
        ),
        Just(
            b"20261130 04:00:00,db1,a,h,1,2,QUERY,,'GRANT ALL ON *.* TO a',0\nx,10.0.0.9,5,0,FAILED_CONNECT,,,1045"
                .to_vec()
        ),
        Just(b"20261130 04:00:00,db1,x\r\n20250101 00:00:00,db1,a,h,1,2,QUERY,db,'x',0,h,5,0,DISCONNECT,,,0".to_vec()),
        (1..=MAX_CONTINUATIONS as usize + 2).prop_map(continuation),
        Just(b"20240615 10:31:01,h,odd".to_vec()),
        Just(b"name,l,1,0,CONNECT,,,0".to_vec()),
        Just(b"x".to_vec()),
        Just(b"20240615 10:31:00,x".to_vec()),
        Just(b"1653053459680124,".to_vec()),
        Just(Vec::new()),
        Just(b"\r".to_vec()),
        Just(b"a,b,c,d".to_vec()),
        prop::collection::vec(any::<u8>(), 0..40),
        prop::collection::vec(
            prop::sample::select(b"0123456789,' \\\n\r:QUERYx".to_vec()),
            0..40
        ),
    ]
}

/// A log of fragments joined by LF, CRLF or a lone CR.
fn log() -> impl Strategy<Value = Vec<u8>> {
    (
        prop::collection::vec((fragment(), 0..3u8), 0..40),
        any::<bool>(),
    )
        .prop_map(|(lines, trailing)| {
            let mut log = Vec::new();
            for (i, (line, brk)) in lines.iter().enumerate() {
                if i > 0 {
                    log.extend_from_slice(match brk {
                        0 => b"\n".as_slice(),
                        1 => b"\r\n",
                        _ => b"\r",
                    });
                }
                log.extend_from_slice(line);
            }
            if trailing && !log.is_empty() {
                log.push(b'\n');
            }
            log
        })
}

proptest! {
    /// Streaming with any piece size (down to 1 byte: every record cut) and any read sizes
    /// decodes exactly as the whole buffer does: records, parses, line numbers.
    #[test]
    fn pieces_give_the_records_of_the_whole_text(
        log in log(),
        piece in 1usize..300,
        sizes in prop::collection::vec(1usize..64, 1..8),
        eager in any::<bool>(),
        reuse in any::<bool>(),
    ) {
        let reader = Trickle { data: &log, sizes, calls: 0 };
        let stream = TextStream::new(reader).piece_bytes(piece).eager(eager);
        prop_assert_eq!(streamed_reusing(stream, reuse), whole(&log));
    }

    #[test]
    fn full_reads_give_the_records_of_the_whole_text(log in log(), piece in 1usize..300) {
        prop_assert_eq!(streamed(TextStream::new(&log[..]).piece_bytes(piece)), whole(&log));
    }

    /// The text reader's window: the records it hands out and its cut agree with the whole.
    #[test]
    fn a_window_cut_splits_the_records_exactly(log in log(), at in 0usize..2000) {
        let window = &log[..at.min(log.len())];
        let mut r = text::records_in_window(window);
        while r.next_parsed().is_some() {}
        let cut = r.cut();
        let split = decode_pieces(vec![
            (1, text::records_in_window(window).stop_at(cut)),
            (1 + count_lines(&log[..cut]), records(&log[cut..]).at(cut as u64)),
        ]);
        prop_assert_eq!(split, whole(&log));
    }
}

/// Hands out `first`, then fails: anything the stream returns came before the failure.
struct ThenFail<'a>(Option<&'a [u8]>);

impl Read for ThenFail<'_> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let Some(data) = self.0.take() else {
            return Err(io::Error::other("no more for now"));
        };
        out[..data.len()].copy_from_slice(data);
        Ok(data.len())
    }
}

#[test]
fn eager_hands_out_records_once_the_next_one_starts() {
    let first =
        b"20240615 10:31:00,h,u,l,1,2,QUERY,,'x',0\n20240615 10:31:01,h,u,l,1,3,QUERY,,'y',0\n";
    let mut stream = TextStream::new(ThenFail(Some(first))).eager(true);
    let piece = stream.next_piece().unwrap().unwrap();
    // The second record may still take a continuation line: it waits (here: for the end).
    assert_eq!(piece, Piece::Text(first[..41].to_vec()));
    assert_eq!(
        stream.next_piece().unwrap().unwrap(),
        Piece::Text(first[41..].to_vec())
    );
    assert!(stream.next_piece().is_err());
}

#[test]
fn eager_holds_back_records_the_next_lines_may_change() {
    // The second line does not parse: the lines after it may complete it, and whether they
    // do decides whether it starts a record: nothing is final until they come (here: the
    // end of the input, at the read error).
    let first = b"20240615 10:31:00,h,u,l,1,2,QUERY,,'x',0\n20240615 10:31:01,h,odd\nuser\n";
    let mut stream = TextStream::new(ThenFail(Some(first))).eager(true);
    assert_eq!(
        stream.next_piece().unwrap().unwrap(),
        Piece::Text(first.to_vec())
    );
    assert!(stream.next_piece().is_err());
}

/// A followed file: each read hands out the next of `reads`, `None` being nothing more for
/// now ([`io::ErrorKind::WouldBlock`]); then the end.
struct Followed(std::collections::VecDeque<Option<Vec<u8>>>);

impl Read for Followed {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        match self.0.pop_front() {
            Some(Some(data)) => {
                out[..data.len()].copy_from_slice(&data);
                Ok(data.len())
            }
            Some(None) => Err(io::ErrorKind::WouldBlock.into()),
            None => Ok(0),
        }
    }
}

/// Caught up with a followed file, the stream hands out the text read whole when it ends
/// with a line break (its last record too), whether the read was short or had filled a
/// piece; with a line not whole yet, an empty piece says that what was handed out before is
/// all there is.
#[test]
fn a_live_stream_hands_out_what_it_has_read_when_caught_up() {
    // Records of 43 bytes: 4 KiB are 95 of them and 11 bytes.
    let line = |id: u64| format!("20240615 10:31:00,h,u,l,1,{id},QUERY,,'x',0\n");
    let lines = |ids: std::ops::Range<u64>| ids.map(line).collect::<String>().into_bytes();
    let piece = lines(100..200);
    let (full, rest) = piece.split_at(4 << 10);
    let reads = [
        Some(lines(100..102)), // short: both records now
        None,
        Some(full.to_vec()), // full: cut before its last whole record
        Some(rest.to_vec()), // short, ends with a line break: all of it now
        None,
        Some(lines(200..300)[..4 << 10].to_vec()), // full, ends with half a line
        None,                                      // nothing to cut
        None,
    ];
    let mut stream = TextStream::new(Followed(reads.into_iter().collect()))
        .piece_bytes(4 << 10)
        .live(true);
    let mut got = Vec::new();
    while let Some(piece) = stream.next_piece().unwrap() {
        got.push((own(&piece).len(), stream.caught_up()));
    }
    let (cut, rest) = (94 * 43, 43 + 11);
    assert_eq!(
        got,
        [
            (86, true),
            (cut, false),
            (rest + 204, true),
            (cut, false),
            (0, true),
            (rest, true), // the end
        ]
    );
}

/// The text a piece adds (a window's up to its cut).
fn own(piece: &Piece) -> &[u8] {
    match piece {
        Piece::Text(b) => b,
        Piece::Window { bytes, until } => &bytes[..*until],
        Piece::TooLong { .. } => &[],
    }
}

#[test]
fn a_too_long_line_is_skipped_with_its_head_and_length() {
    let good = b"20240615 10:31:00,h,u,l,1,2,QUERY,,'x',0\n";
    let mut log = good.to_vec();
    log.extend(std::iter::repeat_n(b'z', 1000));
    log.push(b'\n');
    log.extend_from_slice(good);
    log.extend_from_slice(good);
    let pieces: Vec<Piece> = TextStream::new(Trickle {
        data: &log,
        sizes: vec![7, 100],
        calls: 0,
    })
    .piece_bytes(10)
    .max_record(64)
    .map(Result::unwrap)
    .collect();
    let mut rest = b"\n".to_vec();
    rest.extend_from_slice(good);
    rest.extend_from_slice(good);
    let texts: Vec<u8> = pieces.iter().skip(2).flat_map(own).copied().collect();
    assert_eq!(pieces[0], Piece::Text(good.to_vec()));
    assert_eq!(
        pieces[1],
        Piece::TooLong {
            head: vec![b'z'; 64],
            len: 1000
        }
    );
    // The line break after it comes next, so line numbers stay right.
    assert_eq!(texts, rest);
}

#[test]
fn a_record_past_max_record_is_cut_after_its_first_line() {
    // A broken record whose continuation would make it parse, but too long to wait for.
    let log = b"20240615 10:31:01,h,odd\nuser\nname,l,1,0,CONNECT,,,0\n";
    let reader = Trickle {
        data: log,
        sizes: vec![10],
        calls: 0,
    };
    let lines: Vec<u64> = streamed(TextStream::new(reader).max_record(30))
        .iter()
        .map(|r| r.0)
        .collect();
    assert_eq!(lines, [1, 2, 3]);
}

/// An endless-looking log produced on the fly: the stream never holds much of it.
struct Generated {
    left: usize,
    line: &'static [u8],
    at: usize,
}

impl Read for Generated {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let mut n = 0;
        while n < out.len() && self.left > 0 {
            let part = &self.line[self.at..];
            let k = part.len().min(out.len() - n).min(self.left);
            out[n..n + k].copy_from_slice(&part[..k]);
            self.at = (self.at + k) % self.line.len();
            self.left -= k;
            n += k;
        }
        Ok(n)
    }
}

#[test]
fn pieces_stay_bounded_on_a_large_input() {
    let line = b"1653053459680124,c731,admin,1.2.3.4,35,698024,QUERY,testdb,'SELECT 1',0\n";
    let total = 8 << 20;
    let piece = 64 << 10;
    let mut seen = 0;
    for p in TextStream::new(Generated {
        left: total,
        line,
        at: 0,
    })
    .piece_bytes(piece)
    {
        let p = p.unwrap();
        let bytes = own(&p);
        assert!(bytes.len() <= piece + READ_BYTES, "{}", bytes.len());
        seen += bytes.len();
    }
    assert_eq!(seen, total);
}

/// Junk that never parses has no quick cut: the window is read through and still cut.
#[test]
fn junk_is_cut_too() {
    let log = b"junk line\n".repeat(50_000);
    let pieces: Vec<Piece> = TextStream::new(&log[..])
        .piece_bytes(4096)
        .map(Result::unwrap)
        .collect();
    assert!(pieces.len() > 50, "{}", pieces.len());
    assert!(pieces.iter().all(|p| own(p).len() < 4096 + READ_BYTES));
    assert_eq!(
        pieces.iter().map(|p| own(p).len()).sum::<usize>(),
        log.len()
    );
}

#[test]
fn a_byte_order_mark_is_dropped() {
    let log = b"\xEF\xBB\xBF20240615 10:31:00,h,u,l,1,2,QUERY,,'x',0\n";
    let reader = Trickle {
        data: log,
        sizes: vec![1],
        calls: 0,
    };
    assert_eq!(streamed(TextStream::new(reader)), whole(&log[3..]));
}

#[test]
fn a_read_error_comes_after_what_was_read_before_it() {
    let first = b"20240615 10:31:00,h,u,l,1,2,QUERY,,'x',0\n20240615 10:31:01,h,u";
    let mut stream = TextStream::new(ThenFail(Some(first)));
    let piece = stream.next_piece().unwrap().unwrap();
    assert_eq!(piece, Piece::Text(first.to_vec()));
    assert!(stream.next_piece().is_err());
    assert!(stream.next_piece().unwrap().is_none());
}

type Events = Vec<(u64, Option<i64>, Option<String>, Vec<u8>)>;

fn prefixed_events(piece: &[u8], breaks: Breaks, first_line: u64, out: &mut Events) {
    let shape = crate::input::prefixed::Shape::CloudWatch;
    for e in crate::input::prefixed::events_in(piece, shape, breaks) {
        let stream = e.log_stream.map(str::to_owned);
        out.push((
            first_line + e.line_number - 1,
            e.time_us,
            stream,
            e.message.to_vec(),
        ));
    }
}

/// The events of prefixed text read whole, and read from `stream` a piece at a time (each
/// piece's events with the stream's breaks, line numbers moved on by its breaks).
fn prefixed_whole_and_streamed<R: Read>(log: &[u8], mut stream: TextStream<R>) -> (Events, Events) {
    let mut whole = Vec::new();
    prefixed_events(log, Breaks::of(log), 1, &mut whole);
    let (mut streamed, mut first_line) = (Vec::new(), 1);
    while let Some(p) = stream.next_piece().unwrap() {
        let Piece::Text(bytes) = p else {
            panic!("not text")
        };
        let breaks = stream.breaks();
        prefixed_events(&bytes, breaks, first_line, &mut streamed);
        first_line += breaks.count(&bytes);
    }
    (whole, streamed)
}

/// Lines of `aws logs tail` and CloudWatch export text: prefixed audit lines, continuation
/// lines of a message, blank lines, text without a prefix, a name's lone CR before a forged
/// prefixed line.
fn prefixed_line() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "2024-05-01T12:00:00.123Z 20240501 12:00:00,db1,app,10.0.0.5,7,9,QUERY,shop,'SELECT 1',0",
        "2024-05-01T12:00:01.123000+00:00 db1.audit.log 20240501 12:00:01,db1,app,h,7,9,CONNECT,,,0",
        "2024-05-01T12:00:02 20240501 12:00:02,db1,odd",
        "name,h,7,9,CONNECT,,,0",
        "",
        "\r",
        "not prefixed",
        "2024-05-01T12:00:03.1Z x",
        "2024-05-01T12:00:04Z 20240501 12:00:04,db1,na\r2024-05-01T12:00:05Z 20240501 12:00:05,db1,x,h,7,9,CONNECT,,,0",
    ])
}

proptest! {
    /// Lines joined by LF, CRLF or lone CRs (a text with no LF breaks at CRs, decided for the
    /// whole text before the first piece).
    #[test]
    fn prefixed_pieces_give_the_events_of_the_whole_text(
        lines in prop::collection::vec(prefixed_line(), 0..30),
        join in prop::sample::select(vec!["\n", "\r\n", "\r"]),
        piece in 1usize..300,
        sizes in prop::collection::vec(1usize..64, 1..8),
        eager in any::<bool>(),
    ) {
        let log = lines.join(join).into_bytes();
        let reader = Trickle { data: &log, sizes, calls: 0 };
        let stream = TextStream::new(reader).piece_bytes(piece).eager(eager).prefixed(true);
        let (whole, streamed) = prefixed_whole_and_streamed(&log, stream);
        prop_assert_eq!(streamed, whole);
    }
}

/// An export with CR line ends only, larger than the decision's 64 KiB and than several
/// pieces: CRs break its lines in every piece as in the whole text (before: one event
/// holding every line, the pieces not cut at all until the longest record).
#[test]
fn a_cr_only_export_is_cut_at_its_crs() {
    let line =
        "2024-05-01T12:00:00.123Z 20240501 12:00:00,db1,app,10.0.0.5,7,9,QUERY,shop,'SELECT 1',0\r";
    let log = line.repeat(3_000).into_bytes();
    assert!(log.len() > 3 * crate::input::prefixed::DECIDE_BYTES);
    for piece in [1, 4 << 10, 100 << 10] {
        let reader = Trickle {
            data: &log,
            sizes: vec![7_000],
            calls: 0,
        };
        let stream = TextStream::new(reader).piece_bytes(piece).prefixed(true);
        let (whole, streamed) = prefixed_whole_and_streamed(&log, stream);
        assert_eq!(whole.len(), 3_000);
        assert_eq!(whole[2_999].0, 3_000);
        assert_eq!(streamed, whole, "pieces of {piece}");
    }
}

/// An LF export whose first `\n` comes past 64 KiB (a first event holding a name's CR and a
/// long statement) is read as having no LF, streamed or whole; one whose first LF comes
/// before keeps a name's CR inside its event however small the pieces (the piece before
/// the LF holds none).
#[test]
fn the_breaks_are_decided_for_the_whole_stream() {
    let forged = "2024-05-01T12:00:01Z 20240501 12:00:01,db1,x,h,7,9,CONNECT,,,0";
    let event = |statement: usize| {
        format!(
            "2024-05-01T12:00:00Z 20240501 12:00:00,db1,na\r{forged}\r,h,7,9,QUERY,shop,'{}',0\n",
            "x".repeat(statement)
        )
    };
    // CR-ended export lines past `CR_REACH` before the first LF: CR text, whose name's CRs
    // break lines (the forged line is an event of its own). A first line longer than 64 KiB
    // makes no text CR text (adversarial review, session 29).
    let cr_lines = crate::input::prefixed::CR_REACH / forged.len() + 1;
    let filler = format!("{forged}\r").repeat(cr_lines);
    for (head, statement, events) in [
        ("", 10, 2),
        ("", 70 << 10, 2),
        (filler.as_str(), 10, cr_lines + 3),
    ] {
        let log = format!("{head}{}{forged}\n", event(statement)).into_bytes();
        for piece in [1, 50, 4 << 10] {
            let reader = Trickle {
                data: &log,
                sizes: vec![1, 30, 4_000],
                calls: 0,
            };
            let stream = TextStream::new(reader)
                .piece_bytes(piece)
                .eager(true)
                .prefixed(true);
            let (whole, streamed) = prefixed_whole_and_streamed(&log, stream);
            assert_eq!(whole.len(), events, "statement of {statement}");
            assert_eq!(
                streamed, whole,
                "statement of {statement}, pieces of {piece}"
            );
        }
    }
}

/// The blank lines `records` skips, read to the end.
fn blank_lines(mut records: text::Records<'_>) -> u64 {
    while records.next_parsed().is_some() {}
    records.blank_lines()
}

/// The blank lines the pieces skip, summed: each counted once, whatever the cuts.
fn streamed_blank_lines<R: Read>(stream: TextStream<R>) -> u64 {
    let mut blanks = 0;
    for piece in stream {
        blanks += match piece.unwrap() {
            Piece::Text(bytes) => blank_lines(records(&bytes)),
            Piece::Window { bytes, until } => {
                blank_lines(text::records_in_window(&bytes).stop_at(until))
            }
            other => panic!("unexpected {other:?}"),
        };
    }
    blanks
}

proptest! {
    /// Every blank line is counted once by a stream's pieces, as by the whole text.
    #[test]
    fn pieces_count_the_blank_lines_of_the_whole_text(
        log in log(),
        piece in 1usize..300,
        sizes in prop::collection::vec(1usize..64, 1..8),
    ) {
        let reader = Trickle { data: &log, sizes, calls: 0 };
        let stream = TextStream::new(reader).piece_bytes(piece);
        prop_assert_eq!(streamed_blank_lines(stream), blank_lines(records(&log)));
    }
}

/// Review 5 (R5-5): records each the possible head of the next (a record, then lines that
/// read no way, as a failed login's name can write them) formed a chain the stream could never
/// cut, so each read re-read the whole growing window. The chain is cut every
/// `MAX_NAME_BREAKS` lines: the pieces stay bounded, and the stream reads as the whole does.
#[test]
fn a_chain_of_possible_heads_is_cut() {
    let mut unit = b"20250101 00:00:00,srv,a,h,1,1,QUERY,db,'x',0\n".to_vec();
    unit.extend_from_slice(&b"1234567890,z\n".repeat(40));
    let log = unit.repeat(400);
    let piece = 16 << 10;
    let stream = TextStream::new(&log[..]).piece_bytes(piece);
    let pieces: Vec<Piece> = stream.map(Result::unwrap).collect();
    // 230 KB: one piece when the chain pinned the cut.
    assert!(pieces.len() > 3, "{}", pieces.len());
    assert_eq!(
        streamed(TextStream::new(&log[..]).piece_bytes(piece)),
        whole(&log)
    );
}

/// Caught up behind a line not whole yet, the stream says so ([`TextStream::waits_for_a_line`])
/// and cuts the records it can hand out in two: those within reach before that line (which
/// wait for it) apart from those before them (which then need not wait with them).
#[test]
fn a_live_stream_behind_a_partial_line_keeps_the_records_within_reach_apart() {
    let line = |id: u64| format!("20240615 10:31:00,h,u,l,1,{id},QUERY,,'x',0\n");
    let mut text = (100..400).map(line).collect::<String>().into_bytes();
    let whole = text.len();
    text.extend_from_slice(&line(400).as_bytes()[..20]);
    let reads = [Some(text.clone()), None, None];
    let mut stream = TextStream::new(Followed(reads.into_iter().collect())).live(true);
    let mut got = Vec::new();
    while let Some(piece) = stream.next_piece().unwrap() {
        got.push((
            own(&piece).len(),
            stream.caught_up(),
            stream.waits_for_a_line(),
        ));
    }
    // The last whole record waits with the partial line; the 2 * 4 KiB before it (cut at a
    // record, 43 bytes each) wait for it in the decoder; the rest goes out.
    let last = whole - 43;
    // The cut before the last record whole in the first `last - 8192` bytes.
    let early = ((last - 8192) / 43 - 1) * 43;
    assert_eq!(
        got,
        [
            (early, true, true),
            (last - early, true, true),
            (43 + 20, true, false), // the end
        ]
    );
}
