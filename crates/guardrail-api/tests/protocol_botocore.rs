//! The awsQuery and rpc-v2-cbor codecs against botocore (fixtures from
//! `tests/fixtures/protocol/botocore_fixtures.py`):
//! * request bodies made by botocore's `query` and `smithy-rpc-v2-cbor` serializers decode to
//!   the input botocore's `json` serializer sends for the same parameters;
//! * Guardrail's XML and CBOR responses and errors parse, with botocore's own parsers, to the
//!   dicts the outputs were made from (run when the repository's `.venv` exists; required
//!   under CI, which creates it first).

mod protocol_toy;

use std::path::{Path, PathBuf};
use std::process::Command;

use guardrail_api::generated::cloudwatch::{self as cw, Operation};
use guardrail_api::protocol::{cbor, query::QueryRequest, xml};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

const REQUEST_ID: &str = "req-5f1e";

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/protocol")
}

fn load(name: &str) -> Vec<Value> {
    let path = fixtures().join(name);
    let text = std::fs::read_to_string(&path).expect("fixture readable");
    serde_json::from_str(&text).expect("fixture is JSON")
}

fn field<'a>(case: &'a Value, name: &str) -> &'a str {
    case[name].as_str().expect("string field")
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

/// The value as a handler sees it: deserialized into the generated struct and serialized back,
/// which normalizes `60` vs `60.0` and timestamp precision.
fn through<T: DeserializeOwned + Serialize>(v: Value) -> Value {
    let typed: T = serde_json::from_value(v).expect("deserializes into the generated struct");
    serde_json::to_value(&typed).expect("serializes")
}

fn typed_input(op: Operation, v: Value) -> Value {
    match op {
        Operation::PutMetricAlarm => through::<cw::PutMetricAlarmInput>(v),
        Operation::PutCompositeAlarm => through::<cw::PutCompositeAlarmInput>(v),
        Operation::DescribeAlarms => through::<cw::DescribeAlarmsInput>(v),
        Operation::DescribeAlarmsForMetric => through::<cw::DescribeAlarmsForMetricInput>(v),
        Operation::DeleteAlarms => through::<cw::DeleteAlarmsInput>(v),
        Operation::SetAlarmState => through::<cw::SetAlarmStateInput>(v),
        Operation::DescribeAlarmHistory => through::<cw::DescribeAlarmHistoryInput>(v),
        Operation::EnableAlarmActions => through::<cw::EnableAlarmActionsInput>(v),
        Operation::DisableAlarmActions => through::<cw::DisableAlarmActionsInput>(v),
        Operation::PutMetricData => through::<cw::PutMetricDataInput>(v),
        Operation::GetMetricData => through::<cw::GetMetricDataInput>(v),
        Operation::GetMetricStatistics => through::<cw::GetMetricStatisticsInput>(v),
        Operation::ListMetrics => through::<cw::ListMetricsInput>(v),
    }
}

fn typed_output(op: Operation, v: Value) -> Value {
    match op {
        Operation::DescribeAlarms => through::<cw::DescribeAlarmsOutput>(v),
        Operation::DescribeAlarmsForMetric => through::<cw::DescribeAlarmsForMetricOutput>(v),
        Operation::DescribeAlarmHistory => through::<cw::DescribeAlarmHistoryOutput>(v),
        Operation::GetMetricData => through::<cw::GetMetricDataOutput>(v),
        Operation::GetMetricStatistics => through::<cw::GetMetricStatisticsOutput>(v),
        Operation::ListMetrics => through::<cw::ListMetricsOutput>(v),
        other => panic!("{other} has no output"),
    }
}

fn operation(case: &Value) -> Operation {
    Operation::from_name(field(case, "operation")).expect("a served operation")
}

#[test]
fn query_bodies_from_botocore_decode_to_the_json_botocore_sends() {
    let cases = load("requests.json");
    assert!(cases.len() >= 10);
    for case in &cases {
        let name = field(case, "name");
        let op = operation(case);
        let req = QueryRequest::parse(field(case, "query").as_bytes()).expect(name);
        assert_eq!(req.action, op.name(), "{name}");
        assert_eq!(req.version.as_deref(), Some(cw::API_VERSION), "{name}");
        let got = req.to_json(cw::input_shape(op)).expect(name);
        assert_eq!(
            typed_input(op, got),
            typed_input(op, case["json"].clone()),
            "{name}"
        );
    }
}

#[test]
fn cbor_bodies_from_botocore_decode_to_the_json_botocore_sends() {
    for case in &load("requests.json") {
        let name = field(case, "name");
        let op = operation(case);
        let got = cbor::decode(&hex(field(case, "cbor_hex")), cw::input_shape(op)).expect(name);
        assert_eq!(
            typed_input(op, got),
            typed_input(op, case["json"].clone()),
            "{name}"
        );
    }
}

/// Equal JSON, with numbers compared as `f64` (`60` = `60.0`).
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same(x, y))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        _ => a == b,
    }
}

#[test]
fn toy_model_bodies_decode_with_flattening_location_names_maps_and_blobs() {
    let path = fixtures().join("toy.json");
    let toy: Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("read")).expect("JSON");
    let want = &toy["json"];
    let req = QueryRequest::parse(field(&toy, "query").as_bytes()).expect("parses");
    let got = req.to_json(&protocol_toy::TOY).expect("decodes");
    assert!(same(&got, want), "query: {got:#}\nwant {want:#}");
    let got = cbor::decode(&hex(field(&toy, "cbor_hex")), &protocol_toy::TOY).expect("decodes");
    assert!(same(&got, want), "cbor: {got:#}\nwant {want:#}");
}

/// Encodes every response and error fixture into `dir`; returns how many files it wrote.
fn encode_responses(dir: &Path) -> usize {
    std::fs::create_dir_all(dir).expect("mkdir");
    let mut n = 0;
    let mut write = |file: String, bytes: &[u8]| {
        std::fs::write(dir.join(file), bytes).expect("write");
        n += 1;
    };
    for case in &load("responses.json") {
        let name = field(case, "name");
        let op = operation(case);
        let (xml_body, cbor_body) = match cw::output_shape(op) {
            None => {
                assert!(case["output"].is_null(), "{name}");
                (
                    xml::response(cw::XML_NAMESPACE, op.name(), None, REQUEST_ID),
                    cbor::EMPTY_MAP.to_vec(),
                )
            }
            Some(shape) => {
                let out = typed_output(op, case["output"].clone());
                let encoded = cbor::encode(&out, shape);
                // Our own decoder reads our encoding back to the same output.
                let back = cbor::decode(&encoded, shape).expect(name);
                assert_eq!(typed_output(op, back), out, "{name}: CBOR round trip");
                (
                    xml::response(
                        cw::XML_NAMESPACE,
                        op.name(),
                        Some((&out, shape)),
                        REQUEST_ID,
                    ),
                    encoded,
                )
            }
        };
        write(format!("{name}.xml"), xml_body.as_bytes());
        write(format!("{name}.cbor"), &cbor_body);
    }
    let toy: Value =
        serde_json::from_str(&std::fs::read_to_string(fixtures().join("toy.json")).expect("read"))
            .expect("JSON");
    let out = &toy["json"];
    let body = xml::response(
        Some("urn:toy"),
        "Toy",
        Some((out, &protocol_toy::TOY)),
        REQUEST_ID,
    );
    write("toy.xml".to_owned(), body.as_bytes());
    write(
        "toy.cbor".to_owned(),
        &cbor::encode(out, &protocol_toy::TOY),
    );
    for case in &load("errors.json") {
        let name = field(case, "name");
        let fault = match field(case, "fault") {
            "Receiver" => xml::Fault::Receiver,
            _ => xml::Fault::Sender,
        };
        let (code, message) = (field(case, "code"), field(case, "message"));
        let body = xml::error(cw::XML_NAMESPACE, code, message, fault, REQUEST_ID);
        write(format!("{name}.xml"), body.as_bytes());
        write(
            format!("{name}.cbor"),
            &cbor::error(field(case, "type"), message),
        );
    }
    n
}

#[test]
fn responses_parse_with_botocores_parsers() {
    let dir = std::env::temp_dir().join(format!("guardrail-protocol-{}", std::process::id()));
    let written = encode_responses(&dir);
    assert_eq!(
        written,
        2 * (load("responses.json").len() + load("errors.json").len() + 1)
    );

    let python = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.venv/bin/python");
    if !python.exists() {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must run scripts/setup.sh (the .venv with botocore) before cargo test"
        );
        eprintln!("note: no .venv; skipping the botocore parser check (run scripts/setup.sh)");
        return;
    }
    let out = Command::new(&python)
        .arg(fixtures().join("botocore_fixtures.py"))
        .arg("check")
        .arg(&dir)
        .output()
        .expect("run python");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains(" passed, 0 failed"), "{stdout}");
    std::fs::remove_dir_all(&dir).expect("cleanup");
}

#[test]
fn xml_responses_render_lists_maps_timestamps_and_doubles() {
    let cases = load("responses.json");
    let case = cases
        .iter()
        .find(|c| field(c, "name") == "get_metric_statistics_out")
        .expect("case");
    let op = Operation::GetMetricStatistics;
    let out = typed_output(op, case["output"].clone());
    let shape = cw::output_shape(op).expect("has output");
    let body = xml::response(cw::XML_NAMESPACE, op.name(), Some((&out, shape)), "r1");
    assert!(body.starts_with(
        "<GetMetricStatisticsResponse xmlns=\"http://monitoring.amazonaws.com/doc/2010-08-01/\">\
         <GetMetricStatisticsResult><Label>ModelLatency</Label><Datapoints><member>\
         <Timestamp>2024-01-02T00:05:00.000Z</Timestamp><SampleCount>3.0</SampleCount>"
    ), "{body}");
    assert!(
        body.contains(
            "<ExtendedStatistics><entry><key>p50</key><value>2.0</value></entry>\
         <entry><key>p99</key><value>3.99</value></entry></ExtendedStatistics>"
        ),
        "{body}"
    );
    assert!(
        body.ends_with(
            "</GetMetricStatisticsResult><ResponseMetadata><RequestId>r1</RequestId>\
         </ResponseMetadata></GetMetricStatisticsResponse>"
        ),
        "{body}"
    );
}
