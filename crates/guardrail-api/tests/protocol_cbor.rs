//! rpc-v2-cbor decoding (every CBOR encoding clients may use, hostile input) and encoding (the
//! exact bytes the SDKs need).

mod protocol_toy;

use guardrail_api::generated::cloudwatch::{self as cw, Operation};
use guardrail_api::protocol::cbor::{self, CborError};
use proptest::prelude::*;
use serde_json::{json, Value};

fn toy(bytes: &[u8]) -> Result<Value, CborError> {
    cbor::decode(bytes, &protocol_toy::TOY)
}

/// `{"<key>": <value bytes>}` as a definite map of one entry.
fn one(key: &str, value: &[u8]) -> Vec<u8> {
    let mut b = vec![0xa1, 0x60 | u8::try_from(key.len()).expect("short key")];
    b.extend_from_slice(key.as_bytes());
    b.extend_from_slice(value);
    b
}

#[test]
fn empty_bodies_and_empty_maps_are_empty_objects() {
    for body in [&[][..], &[0xa0], &[0xbf, 0xff]] {
        assert_eq!(toy(body), Ok(json!({})), "{body:02x?}");
    }
}

#[test]
fn every_float_width_and_integer_reads_as_a_number() {
    assert_eq!(
        toy(&one("Ratio", &[0xf9, 0x3c, 0x00])),
        Ok(json!({"Ratio": 1.0}))
    );
    assert_eq!(
        toy(&one("Ratio", &[0xfa, 0x3f, 0x00, 0x00, 0x00])),
        Ok(json!({"Ratio": 0.5}))
    );
    let mut f64_bytes = vec![0xfb];
    f64_bytes.extend_from_slice(&0.1f64.to_be_bytes());
    assert_eq!(toy(&one("Ratio", &f64_bytes)), Ok(json!({"Ratio": 0.1})));
    assert_eq!(
        toy(&one("Ratio", &[0x18, 0x64])),
        Ok(json!({"Ratio": 100.0}))
    );
    assert_eq!(
        toy(&one("Count", &[0x38, 0x63])),
        Ok(json!({"Count": -100}))
    );
    assert_eq!(
        toy(&one("Count", &[0xf9, 0x3c, 0x00])),
        Ok(json!({"Count": 1})),
        "1.0"
    );
}

#[test]
fn timestamps_are_tag_1_epoch_seconds() {
    // 1(1700000000) and 1(1700000000.5)
    let int = [0xc1, 0x1a, 0x65, 0x53, 0xf1, 0x00];
    assert_eq!(toy(&one("When", &int)), Ok(json!({"When": 1700000000})));
    let mut float = vec![0xc1, 0xfb];
    float.extend_from_slice(&1700000000.5f64.to_be_bytes());
    assert_eq!(toy(&one("When", &float)), Ok(json!({"When": 1700000000.5})));
    assert_eq!(
        toy(&one("When", &int[1..])),
        Ok(json!({"When": 1700000000})),
        "untagged"
    );
    let err = toy(&one("When", &[0xc0, 0x61, 0x78])).expect_err("tag 0");
    assert_eq!(err.to_string(), "Member When must be a timestamp (tag 1)");
}

#[test]
fn indefinite_lengths_and_chunked_strings_are_accepted() {
    // {_ "Flat": [_ "a", (_ "b", "c")], "Data": (_ h'00', h'01')}
    let body = [
        0xbf, 0x64, b'F', b'l', b'a', b't', 0x9f, 0x61, b'a', 0x7f, 0x61, b'b', 0x61, b'c', 0xff,
        0xff, 0x64, b'D', b'a', b't', b'a', 0x5f, 0x41, 0x00, 0x41, 0x01, 0xff, 0xff,
    ];
    assert_eq!(toy(&body), Ok(json!({"Flat": ["a", "bc"], "Data": "AAE="})));
}

#[test]
fn nulls_and_unknown_members_are_dropped() {
    // {"Plain": null, "Bogus": [1], "On": true}
    let body = [
        0xa3, 0x65, b'P', b'l', b'a', b'i', b'n', 0xf6, 0x65, b'B', b'o', b'g', b'u', b's', 0x81,
        0x01, 0x62, b'O', b'n', 0xf5,
    ];
    assert_eq!(toy(&body), Ok(json!({"On": true})));
}

#[test]
fn malformed_documents_are_rejected() {
    assert_eq!(toy(&[0xa0, 0x00]), Err(CborError::TrailingData(1)));
    assert_eq!(toy(&[0x80]), Err(CborError::NotAMap));
    assert!(
        matches!(toy(&[0xa1, 0x61]), Err(CborError::Malformed(_))),
        "truncated"
    );
    assert!(
        matches!(toy(&[0xbf]), Err(CborError::Malformed(_))),
        "no break"
    );
    assert!(
        matches!(
            toy(&[0xa1, 0x62, 0xff, 0xfe, 0x01]),
            Err(CborError::Malformed(_))
        ),
        "utf-8"
    );
    // A byte string claiming 2^63 bytes must fail on the missing bytes, not allocate them.
    let huge = [
        0xa1, 0x64, b'D', b'a', b't', b'a', 0x5b, 0x80, 0, 0, 0, 0, 0, 0, 0,
    ];
    assert!(matches!(toy(&huge), Err(CborError::Malformed(_))));
}

#[test]
fn hostile_nesting_is_bounded() {
    let mut deep = vec![0xa1, 0x65, b'B', b'o', b'g', b'u', b's'];
    deep.extend(std::iter::repeat_n(0x81, 100_000));
    deep.push(0x01);
    let err = toy(&deep).expect_err("too deep");
    assert!(err.to_string().contains("nested more than 64"), "{err}");
    let mut ok = vec![0xa1, 0x65, b'B', b'o', b'g', b'u', b's'];
    ok.extend(std::iter::repeat_n(0x81, 30));
    ok.push(0x01);
    assert_eq!(toy(&ok), Ok(json!({})));
}

#[test]
fn type_mismatches_name_the_member() {
    let shape = cw::input_shape(Operation::PutMetricData);
    // {"MetricData": [{"Value": "x"}]}
    let body = [
        0xa1, 0x6a, b'M', b'e', b't', b'r', b'i', b'c', b'D', b'a', b't', b'a', 0x81, 0xa1, 0x65,
        b'V', b'a', b'l', b'u', b'e', 0x61, b'x',
    ];
    let err = cbor::decode(&body, shape).expect_err("text for a double");
    assert_eq!(
        err.to_string(),
        "Member MetricData[0].Value must be a number"
    );
    // NaN and the infinities arrive as awsJson spells them, for the service to refuse.
    let nan = one("Ratio", &[0xf9, 0x7e, 0x00]);
    assert_eq!(toy(&nan), Ok(json!({"Ratio": "NaN"})));
    let inf = one("Ratio", &[0xf9, 0x7c, 0x00]);
    assert_eq!(toy(&inf), Ok(json!({"Ratio": "Infinity"})));
    let neg_inf = one("Ratio", &[0xf9, 0xfc, 0x00]);
    assert_eq!(toy(&neg_inf), Ok(json!({"Ratio": "-Infinity"})));
    let big = one(
        "Count",
        &[0x1b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
    );
    assert_eq!(
        toy(&big).map_err(|e| e.to_string()),
        Err("Member Count must be an integer".to_owned())
    );
    let map_key = [0xa1, 0x64, b'T', b'a', b'g', b's', 0xa1, 0x01, 0x01];
    assert_eq!(
        toy(&map_key).map_err(|e| e.to_string()),
        Err("Member Tags must be a map with text keys".to_owned())
    );
}

#[test]
fn encoding_uses_the_forms_the_sdks_read() {
    let v = json!({"Ratio": 1, "When": 1700000000, "Count": -25, "On": false, "Data": "AAE=",
                   "Longs": [0, 23, 24, 256, 65536, 4294967296_u64, -1], "Plain": null});
    let mut want = vec![0xa6];
    want.extend_from_slice(&[0x64, b'D', b'a', b't', b'a', 0x42, 0x00, 0x01]);
    want.extend_from_slice(&[0x64, b'W', b'h', b'e', b'n', 0xc1, 0xfb]);
    want.extend_from_slice(&1700000000f64.to_be_bytes());
    want.extend_from_slice(&[0x65, b'C', b'o', b'u', b'n', b't', 0x38, 0x18]);
    want.extend_from_slice(&[0x62, b'O', b'n', 0xf4]);
    want.extend_from_slice(&[0x65, b'R', b'a', b't', b'i', b'o', 0xfb]);
    want.extend_from_slice(&1f64.to_be_bytes());
    want.extend_from_slice(&[
        0x65, b'L', b'o', b'n', b'g', b's', 0x87, 0x00, 0x17, 0x18, 0x18,
    ]);
    want.extend_from_slice(&[0x19, 0x01, 0x00, 0x1a, 0x00, 0x01, 0x00, 0x00]);
    want.extend_from_slice(&[0x1b, 0, 0, 0, 1, 0, 0, 0, 0, 0x20]);
    assert_eq!(cbor::encode(&v, &protocol_toy::TOY), want);
}

#[test]
fn empty_outputs_and_errors() {
    assert_eq!(cbor::encode(&json!({}), &protocol_toy::TOY), [0xa0]);
    assert_eq!(cbor::encode(&Value::Null, &protocol_toy::TOY), [0xa0]);
    assert_eq!(cbor::EMPTY_MAP, [0xa0]);
    let mut want = vec![0xa2, 0x66];
    want.extend_from_slice(b"__type");
    want.push(0x78);
    want.push(41);
    want.extend_from_slice(b"com.amazonaws.cloudwatch#ResourceNotFound");
    want.push(0x67);
    want.extend_from_slice(b"message");
    want.push(0x61);
    want.extend_from_slice(b"x");
    assert_eq!(
        cbor::error("com.amazonaws.cloudwatch#ResourceNotFound", "x"),
        want
    );
}

fn toy_value() -> impl Strategy<Value = Value> {
    (
        any::<i64>(),
        any::<f64>().prop_filter("finite", |f| f.is_finite()),
        -1.0e10f64..1.0e10,
        ".{0,12}",
        proptest::collection::vec(any::<i64>(), 0..5),
        proptest::collection::btree_map(".{0,4}", -1.0e6f64..1.0e6, 0..4),
    )
        .prop_map(|(count, ratio, when, plain, longs, tags)| {
            json!({"Count": count, "Ratio": ratio, "When": when, "Plain": plain, "Longs": longs,
                   "Tags": tags, "Child": {"Value": plain, "Next": {"Value": "x"}}})
        })
}

proptest! {
    #[test]
    fn decoding_never_panics(body in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = toy(&body);
        for op in Operation::ALL {
            let _ = cbor::decode(&body, cw::input_shape(*op));
        }
    }

    #[test]
    fn decoding_never_panics_inside_a_map(body in proptest::collection::vec(any::<u8>(), 0..256)) {
        for key in ["Tags", "Longs", "Child", "When", "Data", "Names"] {
            let _ = toy(&one(key, &body));
        }
        let _ = cbor::decode(&one("MetricData", &body), cw::input_shape(Operation::PutMetricData));
    }

    #[test]
    fn decode_reads_back_what_encode_wrote(v in toy_value()) {
        let bytes = cbor::encode(&v, &protocol_toy::TOY);
        let back = toy(&bytes).expect("decodes");
        prop_assert_eq!(back, v);
    }
}
