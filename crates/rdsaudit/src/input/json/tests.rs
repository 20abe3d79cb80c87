use super::*;
use crate::test_support::padded;

/// Parses `json` and returns what `walk` makes of its tape.
fn walk_tape<T>(json: &str, walk: impl FnOnce(&[Node<'_>]) -> T) -> Result<T, JsonError> {
    let (mut buf, len) = padded(json.as_bytes());
    TapeParser::default().parse_padded(&mut buf, len, usize::MAX, |tape| Ok(walk(tape)))
}

#[test]
fn entries_skip_nested_values_by_node_count() {
    let json = r#"{"logGroup":"g","x":{"deep":[[[{"a":[1,{"b":null}]}]]]},"logEvents":[{"id":"1"}],"n":5}"#;
    let seen = walk_tape(json, |tape| {
        object_entries(tape, 0)
            .unwrap()
            .map(|e| {
                let (key, at) = e.unwrap();
                (key.to_owned(), kind(&tape[at]))
            })
            .collect::<Vec<_>>()
    })
    .unwrap();
    assert_eq!(
        seen,
        [
            ("logGroup".to_owned(), "a string"),
            ("x".to_owned(), "an object"),
            ("logEvents".to_owned(), "an array"),
            ("n".to_owned(), "a number"),
        ]
    );
}

#[test]
fn elements_skip_nested_values_by_node_count() {
    let kinds = walk_tape(r#"[{"a":[1,2]},[[]],"s",true,null,1.5]"#, |tape| {
        array_elements(tape, 0)
            .unwrap()
            .map(|at| kind(&tape[at.unwrap()]))
            .collect::<Vec<_>>()
    })
    .unwrap();
    assert_eq!(
        kinds,
        [
            "an object",
            "an array",
            "a string",
            "a boolean",
            "null",
            "a number"
        ]
    );
}

#[test]
fn walking_the_wrong_container_is_a_bad_node() {
    walk_tape(r#"{"a":[1]}"#, |tape| {
        assert_eq!(array_elements(tape, 0).err(), Some(BadNode(0)));
        // Index 2 is the array, index 1 the key `a`, 9 is past the end.
        assert_eq!(object_entries(tape, 2).err(), Some(BadNode(2)));
        assert_eq!(object_entries(tape, 1).err(), Some(BadNode(1)));
        assert_eq!(object_entries(tape, 9).err(), Some(BadNode(9)));
        assert_eq!(array_elements(tape, 2).unwrap().count(), 1);
    })
    .unwrap();
}

#[test]
fn span_counts_the_subtree() {
    walk_tape(r#"[{"a":[1,2]},3]"#, |tape| {
        assert_eq!(span(&tape[0]), tape.len());
        // The object: itself, key, array, two numbers.
        assert_eq!(span(&tape[1]), 5);
        assert_eq!(span(&tape[tape.len() - 1]), 1);
    })
    .unwrap();
}

#[test]
fn invalid_json_reports_simd_json_offset_shifted_by_base() {
    let (mut buf, len) = padded(br#"{"a":}"#);
    let mut parser = TapeParser::default();
    let err = parser
        .parse_padded(&mut buf, len, usize::MAX, |_| Ok::<_, JsonError>(()))
        .unwrap_err();
    let JsonError::Invalid { offset, msg, .. } = &err else {
        panic!("{err:?}")
    };
    assert!(*offset <= len, "{offset}");
    assert!(!msg.is_empty());
    assert!(
        err.to_string().starts_with("invalid JSON at byte "),
        "{err}"
    );
    // The parser is still usable after an error, and keeps its tape allocation.
    let (mut buf, len) = padded(br#"{"a":"\u00e9"}"#);
    let value = parser
        .parse_padded(&mut buf, len, usize::MAX, |tape| match tape.get(2) {
            Some(Node::String(s)) => Ok::<_, JsonError>((*s).to_owned()),
            other => panic!("{other:?}"),
        })
        .unwrap();
    assert_eq!(value, "é");

    let mut scratch = Vec::new();
    let mut buffers = Buffers::default();
    let mut tape = Tape(Vec::new());
    scratch.extend_from_slice(b"[1,]");
    let err = simd_json::fill_tape(&mut scratch, &mut buffers, &mut tape).unwrap_err();
    match JsonError::from_simd(&err, 100) {
        JsonError::Invalid { offset, .. } => assert_eq!(offset, 100 + err.index()),
        other => panic!("{other:?}"),
    }
}

#[test]
fn padding_contract() {
    assert_eq!(check_padding(&[0; PADDING + 3], 3), Ok(()));
    let err = check_padding(&[0; PADDING + 2], 3).unwrap_err();
    assert_eq!(
        err,
        JsonError::InsufficientPadding {
            len: 3,
            buf_len: PADDING + 2
        }
    );
    assert!(err.to_string().contains("too small"), "{err}");
    assert!(check_padding(&[], usize::MAX).is_err());
    let mut short = b"{}".to_vec();
    let err = TapeParser::default()
        .parse_padded(&mut short, 2, usize::MAX, |_| Ok::<_, JsonError>(()))
        .unwrap_err();
    assert!(matches!(err, JsonError::InsufficientPadding { len: 2, .. }));
}

#[test]
fn whitespace_is_exactly_rfc_8259() {
    assert_eq!(skip_ws(b" \t\r\n{", 0), 4);
    assert_eq!(skip_ws(b"  ", 1), 2);
    assert_eq!(skip_ws(b"", 0), 0);
    assert_eq!(skip_ws(b"x", 5), 5);
    // Form feed and vertical tab are not JSON whitespace.
    assert_eq!(skip_ws(b"\x0c{", 0), 0);
    assert_eq!(skip_ws(b"\x0b{", 0), 0);
}

#[test]
fn strings_are_skipped_escape_aware() {
    assert_eq!(skip_string(br#""abc" x"#, 1), Some(5));
    assert_eq!(skip_string(br#""a\"b" x"#, 1), Some(6));
    assert_eq!(skip_string(br#""a\\" x"#, 1), Some(5));
    assert_eq!(skip_string(br#""}{" x"#, 1), Some(4));
    assert_eq!(skip_string(br#""" x"#, 1), Some(2));
    // Unterminated, or the escape is the last byte.
    assert_eq!(skip_string(br#""abc"#, 1), None);
    assert_eq!(skip_string(br#""a\"#, 1), None);
    assert_eq!(skip_string(br#""a\""#, 1), None);
    assert_eq!(skip_string(b"", 7), None);
}

#[test]
fn node_bound_is_an_upper_bound_and_ignores_string_contents() {
    let cases = [
        r#"{"a":[1,2,{"b":null}],"c":"x,y:{[\"z\"]"}"#,
        r#"[1,1,1,1,1,1]"#,
        r#"{"messageType":"DATA_MESSAGE","logEvents":[{"id":"1","timestamp":1,"message":"SELECT 'a,b'"}]}"#,
        r#"{}"#,
    ];
    for json in cases {
        let actual = walk_tape(json, |tape| tape.len()).unwrap();
        let bound = node_bound(json.as_bytes());
        assert!(bound >= actual, "{json}: bound {bound} < {actual} nodes");
        assert!(
            bound <= 3 * actual,
            "{json}: bound {bound} is loose for {actual} nodes"
        );
    }
    // Commas and braces inside a string count for nothing.
    let long = format!(r#"{{"message":"{}"}}"#, ",{[:".repeat(10_000));
    assert_eq!(node_bound(long.as_bytes()), 1 + 1 + 1 + 1 + 1);
}

#[test]
fn line_and_column_of_a_byte() {
    assert_eq!(line_column(b"{\"a\":1}\n{\"a\":1 \"b\":2}", 15), (2, 8));
    // Columns count characters, not bytes.
    assert_eq!(line_column("{\"é\": x".as_bytes(), 7), (1, 7));
    assert_eq!(line_column(b"a\nb\r\nc", 5), (3, 1));
}
