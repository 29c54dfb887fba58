//! awsQuery XML responses and errors: envelope, element naming, scalar text and escaping.

mod protocol_toy;

use guardrail_api::generated::cloudwatch::{self as cw, Operation};
use guardrail_api::protocol::xml::{self, Fault};
use serde_json::json;

const NS: Option<&str> = Some("http://monitoring.amazonaws.com/doc/2010-08-01/");

/// The contents of `<ToyResult>`.
fn toy(v: serde_json::Value) -> String {
    let body = xml::response(None, "Toy", Some((&v, &protocol_toy::TOY)), "r");
    let inner = body
        .strip_prefix("<ToyResponse><ToyResult>")
        .and_then(|b| {
            b.strip_suffix(
                "</ToyResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></ToyResponse>",
            )
        });
    inner
        .unwrap_or_else(|| panic!("unexpected envelope: {body}"))
        .to_owned()
}

#[test]
fn operations_without_output_answer_only_response_metadata() {
    assert_eq!(
        xml::response(cw::XML_NAMESPACE, "PutMetricAlarm", None, "id-1&"),
        "<PutMetricAlarmResponse xmlns=\"http://monitoring.amazonaws.com/doc/2010-08-01/\">\
         <ResponseMetadata><RequestId>id-1&amp;</RequestId></ResponseMetadata>\
         </PutMetricAlarmResponse>"
    );
    assert_eq!(
        xml::response(None, "X", None, "r"),
        "<XResponse><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></XResponse>"
    );
}

#[test]
fn an_empty_output_still_has_its_result_element() {
    let shape = cw::output_shape(Operation::ListMetrics).expect("output");
    assert_eq!(
        xml::response(NS, "ListMetrics", Some((&json!({}), shape)), "r"),
        "<ListMetricsResponse xmlns=\"http://monitoring.amazonaws.com/doc/2010-08-01/\">\
         <ListMetricsResult></ListMetricsResult>\
         <ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></ListMetricsResponse>"
    );
}

#[test]
fn errors_use_the_error_response_format() {
    assert_eq!(
        xml::error(
            NS,
            "ResourceNotFound",
            "Alarm my-alarm not found",
            Fault::Sender,
            "rid"
        ),
        "<ErrorResponse xmlns=\"http://monitoring.amazonaws.com/doc/2010-08-01/\"><Error>\
         <Type>Sender</Type><Code>ResourceNotFound</Code><Message>Alarm my-alarm not found\
         </Message></Error><RequestId>rid</RequestId></ErrorResponse>"
    );
    let body = xml::error(None, "InternalServiceError", "x < y", Fault::Receiver, "r");
    assert!(body.contains("<Type>Receiver</Type>"), "{body}");
    assert!(body.contains("<Message>x &lt; y</Message>"), "{body}");
}

#[test]
fn members_follow_shape_order_and_skip_nulls_and_unknown_keys() {
    let shape = cw::output_shape(Operation::DescribeAlarmHistory).expect("output");
    let v = json!({
        "NextToken": "n",
        "Bogus": 1,
        "AlarmHistoryItems": [{"HistorySummary": "s", "AlarmName": "a", "HistoryData": null}],
    });
    let body = xml::response(None, "DescribeAlarmHistory", Some((&v, shape)), "r");
    assert!(
        body.contains(
            "<DescribeAlarmHistoryResult><AlarmHistoryItems><member><AlarmName>a</AlarmName>\
         <HistorySummary>s</HistorySummary></member></AlarmHistoryItems><NextToken>n</NextToken>\
         </DescribeAlarmHistoryResult>"
        ),
        "{body}"
    );
}

#[test]
fn scalars_render_by_kind() {
    assert_eq!(
        toy(json!({"When": 1700000000.5, "Count": 7, "On": false, "Ratio": 5, "Data": "AAE="})),
        "<Data>AAE=</Data><When>2023-11-14T22:13:20.500Z</When><Count>7</Count><On>false</On>\
         <Ratio>5.0</Ratio>"
    );
    assert_eq!(
        toy(json!({"When": 0})),
        "<When>1970-01-01T00:00:00.000Z</When>"
    );
    assert_eq!(toy(json!({"Count": 60.0})), "<Count>60</Count>");
    for (f, text) in [
        (1.0, "1.0"),
        (0.5, "0.5"),
        (1e-5, "1e-5"),
        (-2.25, "-2.25"),
        (1e21, "1e21"),
    ] {
        assert_eq!(toy(json!({ "Ratio": f })), format!("<Ratio>{text}</Ratio>"));
        assert_eq!(text.parse::<f64>().ok(), Some(f), "round trips");
    }
}

#[test]
fn lists_and_maps_use_member_entry_and_location_names() {
    assert_eq!(
        toy(json!({
            "Tags": {"a": 1.5, "b": 2.0},
            "Attrs": {"k": "v"},
            "Items": ["i1", "i2"],
            "Names": ["n1"],
            "Flat": ["f1", "f2"],
            "Plain": "p",
            "Longs": [],
        })),
        "<Tags><entry><key>a</key><value>1.5</value></entry><entry><key>b</key><value>2.0</value>\
         </entry></Tags><Attr><K>k</K><V>v</V></Attr><Item>i1</Item><Item>i2</Item>\
         <Names><Name>n1</Name></Names><Flat>f1</Flat><Flat>f2</Flat><Renamed>p</Renamed>\
         <Longs></Longs>"
    );
}

#[test]
fn recursive_structures_render() {
    assert_eq!(
        toy(json!({"Child": {"Value": "a", "Next": {"Value": "b"}}})),
        "<Child><Next><Value>b</Value></Next><Value>a</Value></Child>"
    );
}

#[test]
fn text_is_escaped_and_kept_parseable() {
    let mut s = String::new();
    xml::escape_into(&mut s, "a&b<c>d\"e'f\r\n\tg\u{0}\u{1b}\u{FFFE}é😀");
    assert_eq!(
        s,
        "a&amp;b&lt;c&gt;d&quot;e&apos;f&#13;\n\tg\u{FFFD}\u{FFFD}\u{FFFD}é😀"
    );
}
