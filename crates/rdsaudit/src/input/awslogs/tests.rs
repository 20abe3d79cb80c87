//! The walk over the `awslogs` event against the simd-json tape walk it replaced
//! ([`super::reference`]).

use proptest::prelude::*;

use super::*;
use crate::input::json::walk::tests::{Tree, any_value, emit, extra, field, same_reading, string};
use crate::test_support::padded;

fn awslogs() -> BoxedStrategy<Tree> {
    proptest::collection::vec(
        prop_oneof![
            4 => field("data", string("[A-Za-z0-9+/]{0,24}={0,2}").boxed()),
            1 => extra(),
        ],
        0..4,
    )
    .prop_map(Tree::Object)
    .boxed()
}

fn event() -> impl Strategy<Value = Tree> {
    let top = proptest::collection::vec(
        prop_oneof![3 => field("awslogs", awslogs()), 1 => extra()],
        0..4,
    );
    prop_oneof![
        8 => top.prop_map(Tree::Object),
        1 => any_value().prop_map(Tree::Value),
    ]
}

/// Both readings of `text` ([`same_reading`]).
fn same_as_reference(text: &[u8]) -> Result<(), TestCaseError> {
    let (mut ours_buf, len) = padded(text);
    let (mut ref_buf, _) = padded(text);
    let ours = parse_awslogs_event(&mut ours_buf, len, &mut SourceParser::new());
    let oracle = reference::parse_awslogs_event(&mut ref_buf, len, &mut Default::default());
    same_reading(&ours, &oracle, text)
}

/// The case CI found at 10,000 cases: a lone number cut after its `e`.
#[test]
fn a_number_cut_after_its_exponent_mark_is_invalid() {
    let (mut buf, len) = padded(b"\t1.0375514983560707e");
    let ours = parse_awslogs_event(&mut buf, len, &mut SourceParser::new());
    assert!(
        matches!(ours, Err(SourceError::Json(JsonError::Invalid { .. }))),
        "{ours:?}"
    );
}

proptest! {
    #[test]
    fn reads_what_the_tape_walk_read(
        event in event(),
        seeds in proptest::collection::vec(any::<u8>(), 1..32),
        cut in any::<prop::sample::Index>(),
    ) {
        let mut style = seeds.iter().copied().cycle();
        let mut text = Vec::new();
        emit(&event, &mut || style.next().unwrap_or(0), &mut text);
        same_as_reference(&text)?;
        same_as_reference(&text[..cut.index(text.len() + 1)])?;
    }
}

/// Review 6 (R6-5): simd-json took `-0+1`, `1.5.e9` and `1.ee9` as numbers in this event
/// (the Kinesis event's walk refused them); the walk refuses them here too.
#[test]
fn numbers_outside_the_grammar_are_refused() {
    for number in ["-0+1", "1.5.e9", "1.ee9", "01", "+1"] {
        let text = format!(r#"{{"awslogs":{{"data":"aGk=","x":{number}}}}}"#);
        let (mut buf, len) = padded(text.as_bytes());
        let got = parse_awslogs_event(&mut buf, len, &mut SourceParser::new());
        assert!(
            matches!(got, Err(SourceError::Json(JsonError::Invalid { .. }))),
            "{number}: {got:?}"
        );
    }
    let text = br#"{"awslogs":{"data":"aGk=","x":1e400,"y":123456789012345678901234567890}}"#;
    let (mut buf, len) = padded(text);
    let got = parse_awslogs_event(&mut buf, len, &mut SourceParser::new()).unwrap();
    assert_eq!(got.payload, Payload::Base64(b"aGk="));
}
