//! awsQuery request decoding: form parsing, key conventions, scalar conversion and errors.

mod protocol_toy;

use guardrail_api::generated::cloudwatch::{self as cw, Operation};
use guardrail_api::protocol::query::{QueryError, QueryRequest};
use guardrail_api::protocol::shapes::StructShape;
use proptest::prelude::*;
use serde_json::{json, Value};

fn decode(body: &str, shape: &StructShape) -> Result<Value, QueryError> {
    QueryRequest::parse(body.as_bytes())?.to_json(shape)
}

fn alarm(body: &str) -> Result<Value, QueryError> {
    decode(
        &format!("Action=PutMetricAlarm&{body}"),
        cw::input_shape(Operation::PutMetricAlarm),
    )
}

#[test]
fn form_fields_are_percent_decoded_and_action_version_split_off() {
    let req = QueryRequest::parse(
        b"Action=DescribeAlarms&Version=2010-08-01&AlarmNamePrefix=a+b%26c%3D%C3%BC&X=1&X=2",
    )
    .expect("parses");
    assert_eq!(req.action, "DescribeAlarms");
    assert_eq!(req.version.as_deref(), Some("2010-08-01"));
    assert_eq!(
        req.params.get("AlarmNamePrefix").map(String::as_str),
        Some("a b&c=ü")
    );
    assert_eq!(
        req.params.get("X").map(String::as_str),
        Some("2"),
        "last wins"
    );
    assert!(!req.params.contains_key("Action"));
}

#[test]
fn a_missing_or_empty_action_is_an_error() {
    for body in ["", "Version=2010-08-01", "Action=&AlarmName=x"] {
        let err = QueryRequest::parse(body.as_bytes()).expect_err(body);
        assert_eq!(err, QueryError::MissingAction);
        assert_eq!(err.code(), "MissingAction");
    }
}

#[test]
fn scalars_convert_by_the_member_kind() {
    let v = alarm(
        "AlarmName=a&Period=60&Threshold=1.5E-3&ActionsEnabled=TRUE&EvaluationPeriods=-2\
         &Dimensions.member.1.Name=n&Dimensions.member.1.Value=007",
    )
    .expect("decodes");
    assert_eq!(
        v,
        json!({"AlarmName": "a", "Period": 60, "Threshold": 0.0015, "ActionsEnabled": true,
               "EvaluationPeriods": -2, "Dimensions": [{"Name": "n", "Value": "007"}]})
    );
}

#[test]
fn timestamps_accept_iso8601_and_epoch_seconds() {
    let shape = cw::input_shape(Operation::GetMetricStatistics);
    let v = decode(
        "Action=GetMetricStatistics&StartTime=2023-11-14T22:13:20.123Z&EndTime=1700000100",
        shape,
    )
    .expect("decodes");
    assert_eq!(v["StartTime"], json!(1700000000.123));
    assert_eq!(v["EndTime"], json!(1700000100.0));
    let v = decode("Action=X&StartTime=2023-11-14T22:13:20Z", shape).expect("no fraction");
    assert_eq!(v["StartTime"], json!(1700000000.0));
}

#[test]
fn list_elements_are_ordered_by_index_with_gaps_and_junk_ignored() {
    let v = alarm(
        "AlarmActions.member.10=ten&AlarmActions.member.2=two&AlarmActions.member.0=zero\
         &AlarmActions.member.x=junk&AlarmActions.member.=empty&AlarmActions.member.3.Deep=no\
         &Dimensions.member.2.Name=b&Dimensions.member.1.Value=v1&Dimensions.member.1.Name=a",
    )
    .expect("decodes");
    assert_eq!(v["AlarmActions"], json!(["two", "ten"]));
    assert_eq!(
        v["Dimensions"],
        json!([{"Name": "a", "Value": "v1"}, {"Name": "b"}])
    );
}

#[test]
fn an_empty_value_without_elements_is_an_empty_list() {
    let v = alarm("OKActions=&AlarmActions.member.1=a&AlarmActions=&AlarmName=").expect("decodes");
    assert_eq!(v["OKActions"], json!([]));
    assert_eq!(
        v["AlarmActions"],
        json!(["a"]),
        "elements win over the marker"
    );
    assert_eq!(v["AlarmName"], json!(""), "an empty string stays a string");
    assert!(v.get("InsufficientDataActions").is_none());
}

#[test]
fn unknown_parameters_are_ignored() {
    let v = alarm("Bogus=1&Dimensions.member.1.Bogus=2&AlarmName.Sub=3&Period.member.1=4")
        .expect("decodes");
    assert_eq!(v, json!({"Dimensions": [{}]}));
}

#[test]
fn bad_values_name_the_parameter() {
    let cases = [
        (
            "Period=abc",
            "Value 'abc' for parameter Period is not a valid integer",
        ),
        (
            "Period=1.0",
            "Value '1.0' for parameter Period is not a valid integer",
        ),
        (
            "Period=99999999999999999999",
            "Value '99999999999999999999' for parameter Period is not a valid integer",
        ),
        (
            "Threshold=",
            "Value '' for parameter Threshold is not a valid double",
        ),
        (
            "ActionsEnabled=yes",
            "Value 'yes' for parameter ActionsEnabled is not a valid boolean",
        ),
    ];
    for (body, msg) in cases {
        let err = alarm(body).expect_err(body);
        assert_eq!(err.to_string(), msg);
        assert_eq!(err.code(), "InvalidParameterValue");
    }
    // NaN and the infinities arrive as awsJson spells them, for the service to refuse.
    for (raw, spelled) in [
        ("NaN", "NaN"),
        ("Infinity", "Infinity"),
        ("-Infinity", "-Infinity"),
        ("inf", "Infinity"),
    ] {
        let v = decode(
            &format!("Action=PutMetricData&MetricData.member.1.Value={raw}"),
            cw::input_shape(Operation::PutMetricData),
        )
        .expect(raw);
        assert_eq!(v["MetricData"][0]["Value"], spelled, "{raw}");
    }
    let err = decode(
        "Action=PutMetricData&MetricData.member.3.Timestamp=yesterday",
        cw::input_shape(Operation::PutMetricData),
    )
    .expect_err("bad timestamp");
    assert_eq!(
        err.to_string(),
        "Value 'yesterday' for parameter MetricData.member.3.Timestamp is not a valid timestamp"
    );
    let long = "x".repeat(1000);
    let err = alarm(&format!("Period={long}")).expect_err("long");
    assert!(err.to_string().len() < 400, "the echoed value is cut");
}

#[test]
fn maps_flattened_lists_and_location_names_follow_the_shape() {
    let body = "Action=Toy&Tags.entry.2.key=b&Tags.entry.2.value=2.5&Tags.entry.1.key=a\
                &Tags.entry.1.value=1&Tags.entry.3.value=orphan\
                &Attr.1.K=x&Attr.1.V=y\
                &Item.2=second&Item.1=first\
                &Names.Name.1=n1&Flat.1=f1&Renamed=r";
    let v = decode(body, &protocol_toy::TOY).expect("decodes");
    assert_eq!(
        v,
        json!({
            "Tags": {"a": 1.0, "b": 2.5},
            "Attrs": {"x": "y"},
            "Items": ["first", "second"],
            "Names": ["n1"],
            "Flat": ["f1"],
            "Plain": "r",
        })
    );
    let v = decode("Action=Toy&Tags=&Flat=", &protocol_toy::TOY).expect("decodes");
    assert_eq!(v, json!({"Tags": {}, "Flat": []}));
}

#[test]
fn nesting_is_bounded() {
    let key = |depth: usize| format!("{}Value", "Next.".repeat(depth));
    let ok = decode(&format!("Action=N&{}=v", key(10)), &protocol_toy::NODE).expect("shallow");
    assert_eq!(
        ok.pointer(&format!("{}/Value", "/Next".repeat(10))),
        Some(&json!("v"))
    );
    let err = decode(&format!("Action=N&{}=v", key(5000)), &protocol_toy::NODE).expect_err("deep");
    assert!(matches!(err, QueryError::TooDeep { .. }), "{err:?}");
}

proptest! {
    #[test]
    fn decoding_never_panics_on_arbitrary_bytes(body in proptest::collection::vec(any::<u8>(), 0..256)) {
        if let Ok(req) = QueryRequest::parse(&body) {
            for op in Operation::ALL {
                let _ = req.to_json(cw::input_shape(*op));
            }
        }
    }

    #[test]
    fn decoding_never_panics_on_plausible_keys(
        pairs in proptest::collection::vec(
            ("(MetricData|Dimensions|Values|member|entry|Timestamp|Value|Name|Period|1|2|0|99999999999999999999999|\\.){1,8}", ".{0,8}"),
            0..24,
        )
    ) {
        let mut body = String::from("Action=PutMetricData");
        for (k, v) in &pairs {
            body.push('&');
            body.push_str(&form(k));
            body.push('=');
            body.push_str(&form(v));
        }
        let req = QueryRequest::parse(body.as_bytes()).expect("has an action");
        for op in [Operation::PutMetricData, Operation::PutMetricAlarm, Operation::GetMetricData] {
            let _ = req.to_json(cw::input_shape(op));
        }
    }
}

fn form(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}
