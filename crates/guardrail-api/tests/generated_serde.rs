//! Serde behaviour of the generated shapes: what stock clients send must parse, what we send
//! must look like AWS's output.

use guardrail_api::generated::{cloudwatch, runtime, sagemaker};
use guardrail_api::wire::{self, Blob, Timestamp, WireError};
use serde_json::json;

/// What SDK v2 `Model.deploy` sends (docs/sagemaker-api.md#client-compatibility), plus things a lenient server must
/// tolerate: unknown members (top level and nested), `null` members, integers for floats and
/// `1.0` for integers.
const CREATE_ENDPOINT_CONFIG: &str = r#"{
    "EndpointConfigName": "ep",
    "ProductionVariants": [
        {
            "VariantName": "AllTraffic",
            "ModelName": "pytorch-inference-2024-01-01-00-00-00-000",
            "InitialVariantWeight": 1,
            "InitialInstanceCount": 1.0,
            "InstanceType": "ml.m5.large",
            "VolumeSizeInGB": null,
            "SomeFutureMember": {"Nested": [1, 2, 3]}
        }
    ],
    "DataCaptureConfig": {
        "EnableCapture": true,
        "InitialSamplingPercentage": 50,
        "DestinationS3Uri": "s3://bucket/capture",
        "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}]
    },
    "Tags": [{"Key": "team", "Value": "ml"}],
    "KmsKeyId": null,
    "AnotherUnknownMember": "ignored"
}"#;

#[test]
fn create_endpoint_config_round_trips() {
    let input: sagemaker::CreateEndpointConfigInput =
        serde_json::from_str(CREATE_ENDPOINT_CONFIG).expect("parses");

    assert_eq!(input.endpoint_config_name.as_deref(), Some("ep"));
    let variants = input.production_variants.as_ref().expect("variants");
    assert_eq!(variants.len(), 1);
    let v = &variants[0];
    assert_eq!(v.variant_name.as_deref(), Some("AllTraffic"));
    assert_eq!(
        v.initial_variant_weight,
        Some(1.0),
        "integer accepted for a float"
    );
    assert_eq!(
        v.initial_instance_count,
        Some(1),
        "1.0 accepted for an integer"
    );
    assert_eq!(v.instance_type.as_deref(), Some("ml.m5.large"));
    assert_eq!(v.volume_size_in_gb, None, "null is absent");
    assert_eq!(input.kms_key_id, None, "null is absent");
    let capture = input.data_capture_config.as_ref().expect("capture");
    assert_eq!(capture.enable_capture, Some(true));
    assert_eq!(capture.initial_sampling_percentage, Some(50));
    assert_eq!(capture.capture_options.as_ref().map(Vec::len), Some(2));
    assert_eq!(wire::validate_input(&input), Ok(()));

    // Serialized form: model member names, absent members omitted (never null), unknown
    // members gone, numbers in their canonical types.
    let out = serde_json::to_value(&input).expect("serializes");
    assert_eq!(
        out,
        json!({
            "EndpointConfigName": "ep",
            "ProductionVariants": [{
                "VariantName": "AllTraffic",
                "ModelName": "pytorch-inference-2024-01-01-00-00-00-000",
                "InitialVariantWeight": 1.0,
                "InitialInstanceCount": 1,
                "InstanceType": "ml.m5.large"
            }],
            "DataCaptureConfig": {
                "EnableCapture": true,
                "InitialSamplingPercentage": 50,
                "DestinationS3Uri": "s3://bucket/capture",
                "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}]
            },
            "Tags": [{"Key": "team", "Value": "ml"}]
        })
    );
    let again: sagemaker::CreateEndpointConfigInput =
        serde_json::from_value(out).expect("parses again");
    assert_eq!(again, input);
}

#[test]
fn integers_reject_fractions_and_strings() {
    for bad in [json!(1.5), json!("1"), json!(true), json!([1])] {
        let body = json!({"EndpointConfigName": "ep", "ProductionVariants": [
            {"VariantName": "v", "InitialInstanceCount": bad}
        ]});
        let r = serde_json::from_value::<sagemaker::CreateEndpointConfigInput>(body);
        assert!(r.is_err(), "{bad} must not parse as an integer");
    }
    let ok = json!({"MaxResults": 10.0});
    let parsed: sagemaker::ListEndpointsInput = serde_json::from_value(ok).expect("10.0");
    assert_eq!(parsed.max_results, Some(10));
}

#[test]
fn wrong_json_types_are_serialization_errors() {
    let r = wire::from_json_body::<sagemaker::CreateEndpointInput>(br#"{"EndpointName": 5}"#);
    assert!(matches!(r, Err(WireError::Serialization(_))), "{r:?}");
    let r = wire::from_json_body::<sagemaker::CreateEndpointInput>(b"not json");
    assert!(matches!(r, Err(WireError::Serialization(_))), "{r:?}");
    // serde's derive would take a JSON array as a struct's fields in order; AWS would not.
    let r = wire::from_json_body::<sagemaker::CreateEndpointInput>(b"[]");
    assert!(matches!(r, Err(WireError::Serialization(_))), "{r:?}");
    let r = wire::from_json_body::<sagemaker::CreateEndpointInput>(br#"["ep", "c"]"#);
    assert!(matches!(r, Err(WireError::Serialization(_))), "{r:?}");
    for body in [
        json!({"EndpointName": "ep", "EndpointConfigName": "c", "DeploymentConfig": []}),
        json!({"EndpointName": "ep", "EndpointConfigName": "c", "Tags": [["k", "v"]]}),
        json!({"EndpointName": "ep", "EndpointConfigName": "c", "Tags": {"Key": "k"}}),
    ] {
        let r = serde_json::from_value::<sagemaker::CreateEndpointInput>(body.clone());
        assert!(r.is_err(), "{body} must not parse");
    }
}

#[test]
fn empty_body_counts_as_an_empty_object() {
    let r = wire::from_json_body::<sagemaker::ListEndpointsInput>(b"");
    assert_eq!(r, Ok(sagemaker::ListEndpointsInput::default()));
    let r = wire::from_json_body::<sagemaker::DescribeEndpointInput>(b"  ");
    match r {
        Err(WireError::Validation(v)) => assert_eq!(v[0].path, "endpointName"),
        other => panic!("expected a validation error, got {other:?}"),
    }
}

#[test]
fn timestamps_parse_numbers_and_iso8601_and_serialize_as_epoch_seconds() {
    let out: sagemaker::DescribeEndpointOutput = serde_json::from_value(json!({
        "EndpointName": "ep",
        "CreationTime": 1700000000.123,
        "LastModifiedTime": "2023-11-14T22:13:20.5Z"
    }))
    .expect("parses");
    assert_eq!(
        out.creation_time,
        Some(Timestamp::from_millis(1_700_000_000_123))
    );
    assert_eq!(
        out.last_modified_time.map(|t| t.as_millis()),
        Some(1_700_000_000_500)
    );

    let s = serde_json::to_string(&out).expect("serializes");
    assert!(s.contains(r#""CreationTime":1700000000.123"#), "{s}");
    assert!(s.contains(r#""LastModifiedTime":1700000000.5"#), "{s}");

    let whole = serde_json::to_string(&Timestamp::from_millis(1_700_000_000_000)).expect("ser");
    assert_eq!(whole, "1700000000.0");
    // Sub-millisecond noise is rounded away.
    let noisy = serde_json::to_string(&Timestamp::from_secs_f64(1700000000.1234567)).expect("ser");
    assert_eq!(noisy, "1700000000.123");

    let int: Timestamp = serde_json::from_str("1700000000").expect("integer seconds");
    assert_eq!(int.as_secs_f64(), 1_700_000_000.0);
    let no_offset: Timestamp = serde_json::from_str(r#""2023-11-14T22:13:20""#).expect("no offset");
    assert_eq!(no_offset.as_millis(), 1_700_000_000_000);
    let offset: Timestamp = serde_json::from_str(r#""2023-11-15T00:13:20+02:00""#).expect("offset");
    assert_eq!(offset.as_millis(), 1_700_000_000_000);
    assert!(serde_json::from_str::<Timestamp>(r#""yesterday""#).is_err());
    assert_eq!(
        Timestamp::from_millis(1_700_000_000_123).to_iso8601(),
        "2023-11-14T22:13:20.123Z"
    );
}

#[test]
fn cloudwatch_timestamp_lists_and_double_lists_parse() {
    let input: cloudwatch::PutMetricDataInput = serde_json::from_value(json!({
        "Namespace": "Custom/App",
        "MetricData": [{
            "MetricName": "Latency",
            "Timestamp": 1700000000,
            "Values": [1, 2.5, 3],
            "Counts": [1, 1, 2.0],
            "StorageResolution": 60.0
        }]
    }))
    .expect("parses");
    let d = &input.metric_data.as_ref().expect("data")[0];
    assert_eq!(d.values.as_deref(), Some(&[1.0, 2.5, 3.0][..]));
    assert_eq!(d.counts.as_deref(), Some(&[1.0, 1.0, 2.0][..]));
    assert_eq!(d.storage_resolution, Some(60));
    assert_eq!(wire::validate_input(&input), Ok(()));
}

#[test]
fn blobs_are_base64_in_json() {
    let input: runtime::InvokeEndpointInput =
        serde_json::from_value(json!({"EndpointName": "ep", "Body": "aGVsbG8="})).expect("parses");
    assert_eq!(input.body, Some(Blob(b"hello".to_vec())));
    let out = serde_json::to_value(&input).expect("serializes");
    assert_eq!(out, json!({"EndpointName": "ep", "Body": "aGVsbG8="}));
    assert!(serde_json::from_value::<runtime::InvokeEndpointInput>(json!({"Body": "!!"})).is_err());
}

#[test]
fn keyword_members_use_raw_identifiers() {
    let c: sagemaker::CapacitySize =
        serde_json::from_value(json!({"Type": "INSTANCE_COUNT", "Value": 1})).expect("parses");
    assert_eq!(c.r#type.as_deref(), Some("INSTANCE_COUNT"));
    assert_eq!(c.value, Some(1));
}
