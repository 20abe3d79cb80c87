use super::*;
use crate::input::text::records;
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

type Owned = Vec<(u64, Vec<u8>)>;

fn whole(log: &[u8]) -> Owned {
    records(log)
        .map(|r| (r.line_number, r.bytes.to_vec()))
        .collect()
}

fn streamed<R: Read>(stream: TextStream<R>) -> Owned {
    let mut out = Vec::new();
    for piece in stream {
        match piece.unwrap() {
            Piece::Records { first_line, bytes } => {
                assert!(!bytes.is_empty(), "empty piece");
                out.extend(
                    records(&bytes).map(|r| (first_line + r.line_number - 1, r.bytes.to_vec())),
                );
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    out
}

/// Lines a log holds: every dialect, statements with escaped quotes, commas and newlines,
/// records broken by raw newlines (rejoinable, and past the cap), truncated and forged lines,
/// blank lines, CRs, junk and random bytes.
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

fn log() -> impl Strategy<Value = Vec<u8>> {
    (
        prop::collection::vec((fragment(), any::<bool>()), 0..40),
        any::<bool>(),
    )
        .prop_map(|(lines, trailing)| {
            let mut log = Vec::new();
            for (i, (line, crlf)) in lines.iter().enumerate() {
                if i > 0 {
                    log.extend_from_slice(if *crlf { b"\r\n" } else { b"\n" });
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
    #[test]
    fn pieces_give_the_records_of_the_whole_text(
        log in log(),
        piece in 1usize..300,
        sizes in prop::collection::vec(1usize..64, 1..8),
        eager in any::<bool>(),
    ) {
        let reader = Trickle { data: &log, sizes, calls: 0 };
        let stream = TextStream::new(reader).piece_bytes(piece).eager(eager);
        prop_assert_eq!(streamed(stream), whole(&log));
    }

    #[test]
    fn full_reads_give_the_records_of_the_whole_text(log in log(), piece in 1usize..300) {
        prop_assert_eq!(streamed(TextStream::new(&log[..]).piece_bytes(piece)), whole(&log));
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
fn eager_hands_out_whole_records_before_the_input_ends() {
    let first =
        b"20240615 10:31:00,h,u,l,1,2,QUERY,,'x',0\n20240615 10:31:01,h,u,l,1,3,QUERY,,'y',0\n";
    let mut stream = TextStream::new(ThenFail(Some(first))).eager(true);
    let piece = stream.next_piece().unwrap().unwrap();
    assert_eq!(
        piece,
        Piece::Records {
            first_line: 1,
            bytes: first.to_vec()
        }
    );
    assert!(stream.next_piece().is_err());
}

#[test]
fn eager_holds_back_a_record_that_may_continue() {
    // The second line does not scan: the next line may complete it, so it waits.
    let first = b"20240615 10:31:00,h,u,l,1,2,QUERY,,'x',0\n20240615 10:31:01,h,odd\n";
    let mut stream = TextStream::new(ThenFail(Some(first))).eager(true);
    let Piece::Records { bytes, .. } = stream.next_piece().unwrap().unwrap() else {
        panic!()
    };
    assert_eq!(bytes, b"20240615 10:31:00,h,u,l,1,2,QUERY,,'x',0\n");
    // Prefixed or junk lines (no timestamp) stand alone: handed out at once.
    let junk = b"2024-05-01T12:00:00.123Z 20240615 10:31:00,h,u,l,1,2,QUERY,,'x',0\n";
    let mut stream = TextStream::new(ThenFail(Some(junk))).eager(true);
    let Piece::Records { bytes, .. } = stream.next_piece().unwrap().unwrap() else {
        panic!()
    };
    assert_eq!(bytes, junk);
}

#[test]
fn an_oversize_line_is_skipped_with_its_head_and_length() {
    let good = b"20240615 10:31:00,h,u,l,1,2,QUERY,,'x',0\n";
    let mut log = good.to_vec();
    log.extend(std::iter::repeat_n(b'z', 1000));
    log.push(b'\n');
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
    assert_eq!(
        pieces,
        [
            Piece::Records {
                first_line: 1,
                bytes: good.to_vec()
            },
            Piece::Oversize {
                line_number: 2,
                head: vec![b'z'; 64],
                len: 1000
            },
            Piece::Records {
                first_line: 3,
                bytes: good.to_vec()
            },
        ]
    );
}

#[test]
fn a_record_past_max_record_is_cut_after_its_first_line() {
    // A broken record whose continuation would make it scan, but too long to wait for.
    let log = b"20240615 10:31:01,h,odd\nuser\nname,l,1,0,CONNECT,,,0\n";
    let reader = Trickle {
        data: log,
        sizes: vec![10],
        calls: 0,
    };
    let lines: Vec<u64> = TextStream::new(reader)
        .max_record(30)
        .flat_map(|p| match p.unwrap() {
            Piece::Records { first_line, bytes } => records(&bytes)
                .map(|r| first_line + r.line_number - 1)
                .collect::<Vec<_>>(),
            other => panic!("{other:?}"),
        })
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
    let mut lines = 0u64;
    for p in TextStream::new(Generated {
        left: total,
        line,
        at: 0,
    })
    .piece_bytes(piece)
    {
        let Piece::Records { first_line, bytes } = p.unwrap() else {
            panic!()
        };
        assert!(bytes.len() <= piece + READ_BYTES, "{}", bytes.len());
        assert_eq!(first_line, lines + 1);
        lines += memchr::memchr_iter(b'\n', &bytes).count() as u64;
        seen += bytes.len();
    }
    assert_eq!(seen, total);
}

#[test]
fn a_read_error_comes_after_what_was_read_before_it() {
    let first = b"20240615 10:31:00,h,u,l,1,2,QUERY,,'x',0\n20240615 10:31:01,h,u";
    let mut stream = TextStream::new(ThenFail(Some(first)));
    let piece = stream.next_piece().unwrap().unwrap();
    assert_eq!(
        piece,
        Piece::Records {
            first_line: 1,
            bytes: first.to_vec()
        }
    );
    assert!(stream.next_piece().is_err());
    assert!(stream.next_piece().unwrap().is_none());
}
