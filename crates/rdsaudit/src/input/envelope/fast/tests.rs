use super::*;
use crate::input::envelope::{DEFAULT_MAX_NODES, EnvelopeParser};
use crate::swar::lanes;
use crate::test_support::padded;
use proptest::prelude::*;

/// The fast path's result (`None`: declined) and the simd-json path's, as debug text.
fn both(text: &[u8]) -> (Option<String>, String) {
    let (mut fast_buf, len) = padded(text);
    let mut reader = FastReader::default();
    let fast = reader
        .read(&fast_buf[..len], DEFAULT_MAX_NODES)
        .ok()
        .map(|()| {
            format!(
                "{:?}",
                reader.finish(&mut fast_buf, len, &mut Spare::default())
            )
        });
    let (mut simd_buf, len) = padded(text);
    let simd = format!("{:?}", EnvelopeParser::new().parse_simd(&mut simd_buf, len));
    (fast, simd)
}

/// Whether the fast path reads `text`, and then reads it as the simd-json path does.
fn fast_reads(text: &str) -> bool {
    let (fast, simd) = both(text.as_bytes());
    if let Some(fast) = &fast {
        assert_eq!(fast, &simd, "{text}");
    }
    fast.is_some()
}

const HEAD: &str = r#""messageType":"DATA_MESSAGE","owner":"1","logGroup":"g","logStream":"s""#;

fn with_events(events: &str) -> String {
    format!(r#"{{{HEAD},"logEvents":[{events}]}}"#)
}

fn with_timestamp(ts: &str) -> String {
    with_events(&format!(r#"{{"id":"a","timestamp":{ts},"message":"m"}}"#))
}

#[test]
fn reads_a_payload_as_cloudwatch_writes_it() {
    assert!(fast_reads(&with_events(
        r#"{"id":"1","timestamp":1711200969000,"message":"a \"q\" \\ \n \/ \u00e9 \ud83d\ude00 caf\u00e9 é"},{"id":"2","timestamp":-5,"message":""}"#
    )));
    assert!(fast_reads(
        r#" {"messageType":"CONTROL_MESSAGE","owner":"CloudwatchLogs","logGroup":"","logStream":"","subscriptionFilters":[],"logEvents":[{"id":"","timestamp":0,"message":"CWL CONTROL MESSAGE"}]} "#
    ));
    assert!(fast_reads(r#"{"messageType":"CONTROL_MESSAGE"}"#));
    assert!(fast_reads(r#"{"messageType":"NEW_KIND","logEvents":[]}"#));
}

/// An envelope is `unbroken` when no message holds a line break, as both paths see it: the
/// fast one from the escapes it undoes (a JSON string holds a break only as one).
#[test]
fn an_envelope_without_line_breaks_says_so() {
    let unbroken = |messages: &[&str]| {
        let events: Vec<String> = messages
            .iter()
            .map(|m| format!(r#"{{"id":"1","timestamp":1,"message":"{m}"}}"#))
            .collect();
        let text = with_events(&events.join(","));
        assert!(fast_reads(&text), "{text}");
        let (mut buf, len) = padded(text.as_bytes());
        let mut parser = EnvelopeParser::new();
        parser.parse(&mut buf, len).unwrap()[0].unbroken()
    };
    assert!(unbroken(&[]));
    assert!(unbroken(&["a", r#"\\n \t \" \u0009 \\r \b \f \/"#, ""]));
    for broken in [r"a\nb", r"\r", r"x\u000Ay", r"\u000d", r"\\\n"] {
        assert!(!unbroken(&["a", broken]), "{broken}");
    }
}

#[test]
fn reads_other_layouts_and_unknown_values() {
    assert!(fast_reads(&format!(
        r#"{{ "zz" : {{"a":[1,{{"b":null}},[],{{}},true,false,"x\"}}"]}}, {HEAD}, "policyLevel" : null,
        "subscriptionFilters" : [ "f", "g" ], "logEvents" : [ {{ "message" : "m", "more": [[-0]], "timestamp" : 7, "id" : "i" }} ] }}"#
    )));
    // Repeated keys whose last value wins in the simd-json path.
    assert!(fast_reads(&format!(
        r#"{{{HEAD},"policyLevel":"P","policyLevel":null,"subscriptionFilters":["a"],"subscriptionFilters":["b","c"],"logEvents":[{{"id":"1","id":"2","timestamp":1,"timestamp":2,"message":"x","message":"y"}}]}}"#
    )));
    // Back to back, as Firehose writes them.
    let one = with_timestamp("1");
    assert!(fast_reads(&format!("{one}{one}\n{one} ")));
}

#[test]
fn declines_numbers_it_does_not_read_with_certainty() {
    for ts in [
        "1e3",
        "1.0",
        "-0.0",
        "1E3",
        "01",
        "-",
        "1234567890123456789",
        "1.5",
    ] {
        assert!(!fast_reads(&with_timestamp(ts)), "{ts}");
    }
    assert!(fast_reads(&with_timestamp("-0")));
    assert!(fast_reads(&with_timestamp("123456789012345678")));
    assert!(!fast_reads(&format!(
        r#"{{{HEAD},"x":1.5,"logEvents":[]}}"#
    )));
}

#[test]
fn declines_what_the_simd_json_path_fails() {
    let cases = [
        // Duplicates that fail.
        format!(r#"{{{HEAD},"owner":"2","logEvents":[]}}"#),
        format!(r#"{{{HEAD},"logEvents":[],"logEvents":[]}}"#),
        // Wrong types, missing fields.
        format!(r#"{{{HEAD},"logEvents":{{}}}}"#),
        format!(r#"{{{HEAD},"logEvents":[1]}}"#),
        format!(r#"{{{HEAD},"subscriptionFilters":[1],"logEvents":[]}}"#),
        format!(r#"{{{HEAD},"policyLevel":1,"logEvents":[]}}"#),
        with_events(r#"{"id":1,"timestamp":1,"message":"m"}"#),
        with_events(r#"{"timestamp":1,"message":"m"}"#),
        with_events(r#"{"id":"a","timestamp":"1","message":"m"}"#),
        r#"{"messageType":"DATA_MESSAGE","logEvents":[]}"#.to_owned(),
        r#"{"owner":"1"}"#.to_owned(),
        r#"{"messageType":1}"#.to_owned(),
        "[]".to_owned(),
        String::new(),
        " ".to_owned(),
        // Not JSON.
        with_events(r#"{"id":"a","timestamp":1,"message":"tab	here"}"#),
        with_events(r#"{"id":"a","timestamp":1,"message":"\x"}"#),
        with_events(r#"{"id":"a","timestamp":1,"message":"\ud800"}"#),
        with_events(r#"{"id":"a","timestamp":1,"message":"\u00g0"}"#),
        format!("{} x", with_timestamp("1")),
        format!("{}]", with_timestamp("1")),
        with_timestamp("1").replace(']', ""),
        format!(r#"{{{HEAD},"x":tru,"logEvents":[]}}"#),
        format!(r#"{{{HEAD},"x":[1,],"logEvents":[]}}"#),
        format!(r#"{{{HEAD},"x":{{"a"}},"logEvents":[]}}"#),
        format!(r#"{{{HEAD},,"logEvents":[]}}"#),
    ];
    for case in cases {
        assert!(!fast_reads(&case), "{case}");
        assert!(both(case.as_bytes()).1.starts_with("Err"), "{case}");
    }
    let mut bad_utf8 = with_timestamp("1").into_bytes();
    let at = bad_utf8.len() - 5;
    bad_utf8[at] = 0xff;
    assert_eq!(both(&bad_utf8).0, None);
}

#[test]
fn declines_what_it_leaves_to_simd_json() {
    // A key with an escape, a message type with one, nesting past its depth.
    assert!(!fast_reads(&format!(r#"{{{HEAD},"log\u0045vents":[]}}"#)));
    assert!(!fast_reads(
        r#"{"messageType":"DATA\u005fMESSAGE","owner":"1","logGroup":"g","logStream":"s","logEvents":[]}"#
    ));
    let deep = format!("{}{}", "[".repeat(70), "]".repeat(70));
    assert!(!fast_reads(&format!(
        r#"{{{HEAD},"x":{deep},"logEvents":[]}}"#
    )));
    let deep = format!("{}{}", "[".repeat(60), "]".repeat(60));
    assert!(fast_reads(&format!(
        r#"{{{HEAD},"x":{deep},"logEvents":[]}}"#
    )));
}

#[test]
fn the_value_cap_is_the_simd_json_paths() {
    let text = with_events(&vec![r#"{"id":"a","timestamp":1,"message":"m"}"#; 50].join(","));
    let mut reader = FastReader::default();
    assert_eq!(reader.read(text.as_bytes(), 100), Err(Decline));
    assert_eq!(reader.read(text.as_bytes(), text.len()), Ok(()));
}

#[test]
fn unescaping_leaves_spaces_behind() {
    let mut text = br#""a\"b\u00e9c""#.to_vec();
    let end = text.len() - 1;
    let (range, breaks) = unescape_in_place(&mut text, 1..end, &[2, 5]).unwrap();
    assert!(!breaks);
    assert_eq!(&text[range.clone()], "a\"béc".as_bytes());
    assert_eq!(&text[range.end..], b"     \"");
}

/// The masks are their byte-at-a-time references with every byte value in every lane.
#[test]
fn masks_are_their_references_in_every_lane() {
    use crate::input::json::walk::{special_mask_bytes, string_mask_bytes};
    for block in lanes::every_byte_in_every_lane::<16>(16) {
        assert_eq!(
            lanes::bits(string_mask(&block)),
            string_mask_bytes(&block),
            "{block:?}"
        );
        assert_eq!(
            lanes::bits(special_mask(&block)),
            special_mask_bytes(&block),
            "{block:?}"
        );
    }
}

/// Pieces of a string's JSON text: plain, escapes good and bad, raw bytes a string may not
/// hold.
fn string_text() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        30 => "[ -~&&[^\"\\\\]]{0,20}".prop_map(String::into_bytes),
        5 => Just(br#"\""#.to_vec()),
        5 => Just(br"\\".to_vec()),
        5 => Just(br"\n\t\r\b\f\/".to_vec()),
        5 => Just(br"\u00e9\u0000\u001F\uFFFF".to_vec()),
        2 => Just(br"\u000a\u000D".to_vec()),
        5 => Just(br"\ud83d\ude00".to_vec()),
        4 => Just("é日本🎉".as_bytes().to_vec()),
        1 => prop_oneof![
            Just(br"\ud800".to_vec()),
            Just(br"\udc00x".to_vec()),
            Just(br"\x".to_vec()),
            Just(br"\u12".to_vec()),
            Just(vec![0x01]),
            Just(vec![b'\n']),
            Just(vec![0xff]),
            Just(vec![0xe6, 0x97]),
            Just(vec![b'"']),
        ],
    ];
    proptest::collection::vec(piece, 0..6).prop_map(|p| p.concat())
}

fn quoted(s: Vec<u8>) -> Vec<u8> {
    [&b"\""[..], &s, b"\""].concat()
}

fn number() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        6 => (-1_000_000_000_000_000i64..1_000_000_000_000_000).prop_map(|n| n.to_string().into_bytes()),
        1 => any::<i64>().prop_map(|n| n.to_string().into_bytes()),
        1 => prop_oneof![
            Just(b"1e3".to_vec()),
            Just(b"-0".to_vec()),
            Just(b"1.0".to_vec()),
            Just(b"01".to_vec()),
            Just(b"99999999999999999999".to_vec()),
            Just(b"-".to_vec()),
            Just(b"null".to_vec()),
            Just(b"\"5\"".to_vec()),
        ],
    ]
}

/// An unknown value: scalars and shallow containers.
fn unknown() -> impl Strategy<Value = Vec<u8>> {
    let leaf = prop_oneof![
        string_text().prop_map(quoted),
        number(),
        Just(b"true".to_vec()),
        Just(b"null".to_vec()),
        Just(b"{}".to_vec()),
    ];
    leaf.prop_recursive(3, 12, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(|v| [
                &b"["[..],
                &v.join(&b","[..]),
                b"]"
            ]
            .concat()),
            proptest::collection::vec(inner, 0..4).prop_map(|v| {
                let entries: Vec<Vec<u8>> = v
                    .into_iter()
                    .enumerate()
                    .map(|(i, v)| [format!("\"k{i}\":").into_bytes(), v].concat())
                    .collect();
                [&b"{"[..], &entries.join(&b","[..]), b"}"].concat()
            }),
        ]
    })
}

/// `"key":value` entries, in the order given, some repeated or unknown.
fn object(entries: Vec<(String, Vec<u8>)>, spaced: bool) -> Vec<u8> {
    let sep: &[u8] = if spaced { b" , " } else { b"," };
    let body: Vec<Vec<u8>> = entries
        .into_iter()
        .map(|(k, v)| [format!("\"{k}\":").into_bytes(), v].concat())
        .collect();
    [&b"{"[..], &body.join(sep), b"}"].concat()
}

fn event() -> impl Strategy<Value = Vec<u8>> {
    let entry = prop_oneof![
        3 => string_text().prop_map(|s| ("id".to_owned(), quoted(s))),
        3 => number().prop_map(|n| ("timestamp".to_owned(), n)),
        3 => string_text().prop_map(|s| ("message".to_owned(), quoted(s))),
        1 => unknown().prop_map(|v| ("extra".to_owned(), v)),
    ];
    let compact = (string_text(), number(), string_text()).prop_map(|(i, n, m)| {
        object(
            vec![
                ("id".to_owned(), quoted(i)),
                ("timestamp".to_owned(), n),
                ("message".to_owned(), quoted(m)),
            ],
            false,
        )
    });
    prop_oneof![
        3 => compact,
        1 => (proptest::collection::vec(entry, 0..5), any::<bool>())
            .prop_map(|(e, spaced)| object(e, spaced)),
        1 => unknown(),
    ]
}

fn payload() -> impl Strategy<Value = Vec<u8>> {
    let message_type = prop_oneof![
        Just(b"\"DATA_MESSAGE\"".to_vec()),
        Just(b"\"CONTROL_MESSAGE\"".to_vec()),
        string_text().prop_map(quoted),
    ];
    let entry = prop_oneof![
        2 => message_type.prop_map(|v| ("messageType".to_owned(), v)),
        2 => string_text().prop_map(|s| ("owner".to_owned(), quoted(s))),
        2 => string_text().prop_map(|s| ("logGroup".to_owned(), quoted(s))),
        2 => string_text().prop_map(|s| ("logStream".to_owned(), quoted(s))),
        1 => prop_oneof![Just(b"null".to_vec()), string_text().prop_map(quoted)]
            .prop_map(|v| ("policyLevel".to_owned(), v)),
        1 => proptest::collection::vec(string_text().prop_map(quoted), 0..3)
            .prop_map(|v| ("subscriptionFilters".to_owned(), [&b"["[..], &v.join(&b","[..]), b"]"].concat())),
        2 => proptest::collection::vec(event(), 0..4)
            .prop_map(|v| ("logEvents".to_owned(), [&b"["[..], &v.join(&b","[..]), b"]"].concat())),
        1 => unknown().prop_map(|v| ("future".to_owned(), v)),
    ];
    // Often with the fields a data message needs first, so that more of them are read.
    let head = prop_oneof![
        Just(Vec::new()),
        string_text().prop_map(|s| vec![
            ("messageType".to_owned(), b"\"DATA_MESSAGE\"".to_vec()),
            ("owner".to_owned(), quoted(s.clone())),
            ("logGroup".to_owned(), quoted(s.clone())),
            ("logStream".to_owned(), quoted(s)),
        ]),
    ];
    let entries = proptest::collection::vec(entry, 0..6);
    (head, entries, any::<bool>()).prop_map(|(h, e, s)| object([h, e].concat(), s))
}

/// Mostly well-formed payloads: the usual shape, in order, with hostile strings.
fn usual() -> impl Strategy<Value = Vec<u8>> {
    let names = prop_oneof![Just(b"g".to_vec()), string_text()];
    usual_with(event().boxed(), names.boxed())
}

/// An event as CloudWatch writes it, with a hostile message (not always JSON).
fn cloudwatch_event() -> impl Strategy<Value = Vec<u8>> {
    (string_text(), 0i64..4_000_000_000_000).prop_map(|(m, ts)| {
        [
            format!(r#"{{"id":"{ts}","timestamp":{ts},"message":"#).into_bytes(),
            quoted(m),
            b"}".to_vec(),
        ]
        .concat()
    })
}

/// Payloads as CloudWatch Logs writes them ([`Reader::written`]): `names` for the owner,
/// group, stream, filters (any number) and `policyLevel` (or none).
fn usual_with(
    event: BoxedStrategy<Vec<u8>>,
    names: BoxedStrategy<Vec<u8>>,
) -> impl Strategy<Value = Vec<u8>> {
    let head = (
        any::<bool>(),
        proptest::collection::vec(names.clone(), 3),
        proptest::collection::vec(names.clone(), 0..3),
        proptest::option::of(names),
    );
    (proptest::collection::vec(event, 0..4), head).prop_map(
        |(events, (control, names, filters, policy))| {
            let kind = if control {
                "CONTROL_MESSAGE"
            } else {
                "DATA_MESSAGE"
            };
            let filters: Vec<Vec<u8>> = filters.into_iter().map(quoted).collect();
            let policy = policy
                .map(|p| [&br#","policyLevel":"#[..], &quoted(p)].concat())
                .unwrap_or_default();
            let mut names = names.into_iter().map(quoted);
            let mut name = || names.next().unwrap_or_default();
            [
                format!(r#"{{"messageType":"{kind}","owner":"#).into_bytes(),
                name(),
                br#","logGroup":"#.to_vec(),
                name(),
                br#","logStream":"#.to_vec(),
                name(),
                br#","subscriptionFilters":["#.to_vec(),
                filters.join(&b","[..]),
                b"]".to_vec(),
                policy,
                br#","logEvents":["#.to_vec(),
                events.join(&b","[..]),
                b"]}".to_vec(),
            ]
            .concat()
        },
    )
}

/// A string's JSON text as CloudWatch Logs writes it (always valid): ASCII runs of any length
/// up to a few blocks, each followed by an escape of every kind or a non-ASCII character, so
/// that escapes and characters fall at every offset of a 16-byte block, next to each other
/// (`\\\\`, `\\'` twice) and across block ends.
fn written_string_text() -> impl Strategy<Value = Vec<u8>> {
    let run = prop_oneof![
        6 => "[ -~&&[^\"\\\\]]{0,17}",
        1 => "[ -~&&[^\"\\\\]]{16,70}",
    ]
    .prop_map(String::into_bytes);
    let after = prop_oneof![
        4 => Just(br"\\'".to_vec()),
        2 => prop::sample::select(vec![r#"\""#, r"\\", r"\/", r"\b", r"\f", r"\n", r"\r", r"\t"])
            .prop_map(|e| e.as_bytes().to_vec()),
        2 => prop::sample::select(vec![r"\u00e9", r"\u0000", r"\u001f", r"\u000A", r"\uFFFF", r"\u2028", r"\ud83d\ude00"])
            .prop_map(|e| e.as_bytes().to_vec()),
        2 => prop::sample::select(vec!["é", "日本", "🎉", "\u{80}", "\u{7ff}", "\u{10ffff}"])
            .prop_map(|c| c.as_bytes().to_vec()),
        1 => Just(Vec::new()),
    ];
    (proptest::collection::vec((run.clone(), after), 0..12), run).prop_map(|(pieces, last)| {
        let mut text: Vec<u8> = pieces
            .into_iter()
            .flat_map(|(r, a)| [r, a])
            .flatten()
            .collect();
        text.extend(last);
        text
    })
}

/// Where each escape of a JSON `text` may start, counted as if every backslash outside the
/// one an escape stands for starts one (a surrogate pair counts twice): at least as many as
/// the reader notes.
fn escapes_at_most(text: &[u8]) -> usize {
    let (mut at, mut count) = (0, 0);
    while let Some(&b) = text.get(at) {
        count += usize::from(b == b'\\');
        at += if b == b'\\' { 2 } else { 1 };
    }
    count
}

/// One text, a few back to back, then maybe cut, a byte changed or one put in.
fn text() -> impl Strategy<Value = Vec<u8>> {
    let one = prop_oneof![usual(), payload()];
    let texts = proptest::collection::vec(one, 1..3).prop_map(|v| v.join(&b"\n"[..]));
    (texts, 0usize..8, any::<prop::sample::Index>(), any::<u8>()).prop_map(
        |(mut t, how, at, byte)| {
            let i = at.index(t.len() + 1);
            match how {
                0 => t.truncate(i),
                1 if i < t.len() => t[i] = byte,
                2 => t.insert(i, byte),
                _ => {}
            }
            t
        },
    )
}

/// [`scan_string`] a byte at a time, the string then checked whole by the standard
/// library: the reference.
fn scan_string_bytes(
    text: &[u8],
    start: usize,
    escapes: &mut Vec<u32>,
    most: usize,
) -> Read<usize> {
    let mut at = start;
    loop {
        match text.get(at) {
            Some(b'"') => {
                return match std::str::from_utf8(&text[start..at]) {
                    Ok(_) => Ok(at),
                    Err(_) => Err(Decline),
                };
            }
            Some(b'\\') => {
                let len = escape_len(&text[at..])?;
                if escapes.len() >= most {
                    return Err(Decline);
                }
                escapes.push(u32::try_from(at).unwrap());
                at += len;
            }
            Some(0..0x20) | None => return Err(Decline),
            Some(_) => at += 1,
        }
    }
}

proptest! {
    /// A string is scanned sixteen bytes at a time as a byte at a time: the same end, the same
    /// escapes noted, the same declines (escapes at every place of a block, runs of them).
    #[test]
    fn scan_string_is_its_reference(
        text in string_text(),
        lead in 0usize..40,
        most in prop_oneof![Just(usize::MAX), 0usize..8],
    ) {
        let mut text = [&vec![b'a'; lead][..], &text, b"\" tail"].concat();
        if most == 3 {
            // No closing quote: the text ends inside the string.
            text.truncate(text.len() - 6);
        }
        let (mut fast, mut slow) = (Vec::new(), Vec::new());
        let read = scan_string(&text, 0, &mut fast, most);
        prop_assert_eq!(read, scan_string_bytes(&text, 0, &mut slow, most));
        if read.is_ok() {
            prop_assert_eq!(fast, slow);
        }
    }

    /// A key ends where its string does when it has no escape, and declines when it has
    /// one or the string declines.
    #[test]
    fn key_end_is_scan_string_without_escapes(
        text in string_text(),
        lead in 0usize..40,
        cut in any::<bool>(),
    ) {
        let mut text = [&vec![b'a'; lead][..], &text, b"\" tail"].concat();
        if cut {
            text.truncate(text.len() - 6);
        }
        let mut escapes = Vec::new();
        let string = scan_string(&text, 0, &mut escapes, usize::MAX);
        let expected = string.ok().filter(|_| escapes.is_empty()).ok_or(Decline);
        prop_assert_eq!(key_end(&text, 0), expected);
    }

    /// A CloudWatch timestamp followed by `,` is read as [`Reader::integer`] reads it, and
    /// every integer of that form it reads is read (the others go to it).
    /// A run is moved back as `copy_within` moves it, for every length and distance (the
    /// words of a short run overlap each other, and the run's old place).
    #[test]
    fn move_back_is_copy_within(
        text in proptest::collection::vec(any::<u8>(), 0..48),
        start in 0usize..48,
        len in 0usize..40,
        back in 0usize..48,
    ) {
        let start = start.min(text.len());
        let end = (start + len).min(text.len());
        let to = start.saturating_sub(back);
        let mut moved = text.clone();
        move_back(&mut moved, start, end - start, to);
        let mut reference = text;
        reference.copy_within(start..end, to);
        prop_assert_eq!(moved, reference);
    }

    /// Freed bytes are filled with spaces as `fill` fills them, every length.
    #[test]
    fn fill_spaces_is_fill(text in proptest::collection::vec(any::<u8>(), 0..40)) {
        let mut filled = text.clone();
        fill_spaces(&mut filled);
        prop_assert_eq!(filled, vec![b' '; text.len()]);
    }

    #[test]
    fn plain_integers_are_integers(
        number in "-?[0-9]{0,22}",
        after in prop_oneof![Just(","), Just(".5,"), Just("e1,"), Just(" ,"), Just("")],
    ) {
        let text = format!("{number}{after}");
        let plain = plain_integer(text.as_bytes());
        let mut escapes = Vec::new();
        let mut reader = Reader {
            text: text.as_bytes(),
            at: 0,
            escapes: &mut escapes,
            most_escapes: 0,
        };
        let integer = reader.integer().ok().map(|v| (reader.at, v));
        // The caller reads on only when `,` follows.
        if let Some(read) = plain.filter(|(n, _)| text.as_bytes().get(*n) == Some(&b',')) {
            prop_assert_eq!(Some(read), integer);
        }
        let plain_form = !number.starts_with('-') && (number.len() < 2 || !number.starts_with('0'));
        if plain_form && after.starts_with(',') {
            prop_assert_eq!(plain, integer);
        }
    }

    /// The escapes unescaped without a call are [`unescape`]'s, and those [`escape_len`]
    /// steps over without one.
    #[test]
    fn simple_escapes_are_unescapes(letter in any::<u8>()) {
        let escape = [b'\\', letter];
        let read = unescape(&escape).ok().and_then(|(c, len)| u8::try_from(c).ok().filter(|_| len == 2));
        prop_assert_eq!(simple_escape(letter), read);
        prop_assert_eq!(escape_len(&escape).is_ok(), read.is_some());
    }

    /// The mask of sixteen bytes is its byte-at-a-time reference.
    #[test]
    fn string_mask_is_its_reference(block in any::<[u8; 16]>(), special in any::<[u8; 4]>()) {
        use crate::input::json::walk::string_mask_bytes;
        let mut block = block;
        for (i, b) in special.iter().enumerate() {
            block[usize::from(*b) % 16] = [b'"', b'\\', 0x1f, 0x80][i];
        }
        prop_assert_eq!(lanes::bits(string_mask(&block)), string_mask_bytes(&block));
    }

    /// The mask that also stops at non-ASCII bytes is its byte-at-a-time reference.
    #[test]
    fn special_mask_is_its_reference(block in any::<[u8; 16]>(), special in any::<[u8; 5]>()) {
        use crate::input::json::walk::special_mask_bytes;
        let mut block = block;
        for (i, b) in special.iter().enumerate() {
            block[usize::from(*b) % 16] = [b'"', b'\\', 0x1f, 0x7f, 0x80][i];
        }
        prop_assert_eq!(lanes::bits(special_mask(&block)), special_mask_bytes(&block));
    }

    /// A string's end and escapes are found as a byte at a time finds them, and it is
    /// declined exactly when the standard library finds it is not UTF-8 (or the reference
    /// declines it otherwise): characters of one to four bytes, cut, overlong, surrogate,
    /// past U+10FFFF, stray continuation bytes, next to escapes, after 0 to 47 ASCII bytes
    /// (every place of a block and of the next two).
    #[test]
    fn scan_string_checks_utf8(
        pieces in proptest::collection::vec(prop_oneof![
            4 => "[ -~&&[^\"\\\\]]{0,6}".prop_map(String::into_bytes),
            4 => Just("é日🎉".as_bytes().to_vec()),
            2 => Just(br#"\"\u00e9\\"#.to_vec()),
            1 => Just(vec![0x80]),
            1 => Just(vec![0xbf, 0x41]),
            1 => Just(vec![0xc3]),
            1 => Just(vec![0xe6, 0x97]),
            1 => Just(vec![0xf0, 0x9f, 0x8e]),
            1 => Just(vec![0xc0, 0x80]),
            1 => Just(vec![0xe0, 0x80, 0x80]),
            1 => Just(vec![0xed, 0xa0, 0x80]),
            1 => Just(vec![0xf4, 0x90, 0x80, 0x80]),
            1 => Just(vec![0xf5, 0x80, 0x80, 0x80]),
            1 => Just(vec![0xfe]),
            1 => any::<u8>().prop_map(|b| vec![b]),
        ], 0..8),
        lead in 0usize..48,
    ) {
        let body = [&vec![b'a'; lead][..], &pieces.concat()].concat();
        let text = [&body[..], b"\" tail"].concat();
        let (mut fast, mut slow) = (Vec::new(), Vec::new());
        let read = scan_string(&text, 0, &mut fast, usize::MAX);
        let reference = scan_string_bytes(&text, 0, &mut slow, usize::MAX);
        prop_assert_eq!(read, reference);
        if let Ok(end) = read {
            prop_assert_eq!(&fast, &slow);
            prop_assert!(std::str::from_utf8(&text[..end]).is_ok());
        }
        // A key reads as the same string with no escape allowed.
        let expected = reference.ok().filter(|_| slow.is_empty()).ok_or(Decline);
        prop_assert_eq!(key_end(&text, 0), expected);
    }

    /// The first special byte found sixteen at a time is the first a byte at a time finds,
    /// from any start (whole blocks, the last bytes, past the end).
    #[test]
    fn next_special_is_its_reference(
        text in proptest::collection::vec(prop_oneof![8 => 0x20u8..0x7f, 1 => any::<u8>()], 0..80),
        at in 0usize..90,
    ) {
        let reference = |high: bool| {
            let stops = |b: &u8| matches!(b, b'"' | b'\\' | 0..0x20) || (high && *b >= 0x80);
            text.get(at..).and_then(|rest| rest.iter().position(stops)).map(|i| at + i)
        };
        prop_assert_eq!(next_special::<true>(&text, at), reference(true));
        prop_assert_eq!(next_special::<false>(&text, at), reference(false));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(
        std::env::var("PROPTEST_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(256) * 16
    ))]

    /// The fast path declines, or reads exactly what the simd-json path reads.
    #[test]
    fn fast_path_is_the_simd_json_path(text in text()) {
        let (fast, simd) = both(&text);
        if let Some(fast) = fast {
            prop_assert_eq!(fast, simd);
        }
    }

    /// It does not decline payloads as CloudWatch writes them, however hostile the messages
    /// (as long as they are JSON).
    #[test]
    fn usual_payloads_take_the_fast_path(
        text in usual_with(cloudwatch_event().boxed(), "[ -~&&[^\"\\\\]]{0,30}".prop_map(String::into_bytes).boxed())
    ) {
        let (fast, simd) = both(&text);
        if simd.starts_with("Ok") {
            prop_assert_eq!(fast, Some(simd));
        }
    }

    /// The fast reader reads (does not decline) payloads as CloudWatch Logs writes them,
    /// one or several back to back, repeated, every name and message a valid string with
    /// escapes and characters at every offset of a block, and reads them as the simd-json path
    /// does. A misread the reader noticed would only decline (and the simd-json path read it
    /// right), which the test above lets pass: here a decline fails, unless the text holds
    /// more escapes than the reader notes ([`BYTES_PER_ESCAPE`]).
    #[test]
    fn written_payloads_are_read_fast_and_right(
        payloads in proptest::collection::vec(
            usual_with(
                (written_string_text(), 0i64..4_000_000_000_000, any::<bool>()).prop_map(|(m, ts, twice)| {
                    let event = [
                        format!(r#"{{"id":"{ts:056}","timestamp":{ts},"message":"#).into_bytes(),
                        quoted(m),
                        b"}".to_vec(),
                    ]
                    .concat();
                    if twice { [&event[..], b",", &event].concat() } else { event }
                }).boxed(),
                written_string_text().boxed(),
            ),
            1..4,
        ),
        repeat in any::<bool>(),
        newline in any::<bool>(),
    ) {
        let mut payloads = payloads;
        if repeat {
            payloads.push(payloads[0].clone());
        }
        let text = payloads.join(if newline { &b"\n"[..] } else { b"" });
        let (fast, simd) = both(&text);
        prop_assert!(simd.starts_with("Ok("), "{}", simd);
        if escapes_at_most(&text) <= text.len() / BYTES_PER_ESCAPE {
            prop_assert_eq!(fast, Some(simd));
        } else if let Some(fast) = fast {
            prop_assert_eq!(fast, simd);
        }
    }
}

#[test]
fn escapes_denser_than_the_cap_go_the_simd_json_way() {
    // One escape for every two bytes: noted, they would take four times the text's size.
    let dense = with_events(&format!(
        r#"{{"id":"1","timestamp":1,"message":"{}"}}"#,
        r"\n".repeat(4096)
    ));
    assert!(!fast_reads(&dense));
    let (fast, simd) = both(dense.as_bytes());
    assert!(fast.is_none() && simd.starts_with("Ok("), "{simd}");
    // A real statement's escapes (one in ~60 bytes) stay on the fast path.
    let usual = with_events(&format!(
        r#"{{"id":"1","timestamp":1,"message":"{}"}}"#,
        r"SELECT * FROM t WHERE a = \\'x\\' AND b = 1;".repeat(100)
    ));
    assert!(fast_reads(&usual));
}
