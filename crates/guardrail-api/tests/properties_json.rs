//! Properties of the JSON decoders and the validation layer over hostile input: any bytes, and
//! any JSON document shaped roughly like a request, decode to a value or a clean error — never
//! a panic — and a validation failure always renders AWS's "N validation error(s) detected"
//! message with the right count.

use guardrail_api::generated::{cloudwatch, runtime, sagemaker};
use guardrail_api::wire::{
    from_json_body, validate_input, validation_message, Validate, WireError,
};
use proptest::prelude::*;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

/// Member names the generated inputs use, so random documents often hit real members.
const NAMES: &[&str] = &[
    "ModelName",
    "EndpointName",
    "EndpointConfigName",
    "PrimaryContainer",
    "Image",
    "Environment",
    "ProductionVariants",
    "VariantName",
    "InitialInstanceCount",
    "InstanceType",
    "DeploymentConfig",
    "BlueGreenUpdatePolicy",
    "TrafficRoutingConfiguration",
    "Type",
    "WaitIntervalInSeconds",
    "CanarySize",
    "Value",
    "AutoRollbackConfiguration",
    "Alarms",
    "AlarmName",
    "Tags",
    "Key",
    "MaxResults",
    "NextToken",
    "Namespace",
    "MetricName",
    "Dimensions",
    "Name",
    "Period",
    "Threshold",
    "Statistic",
    "MetricData",
    "Values",
    "Counts",
    "Timestamp",
    "StartTime",
    "EndTime",
    "ExtendedStatistics",
    "MetricDataQueries",
    "Id",
];

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        "\\PC{0,40}".prop_map(Value::String),
    ];
    leaf.prop_recursive(6, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((prop::sample::select(NAMES), inner), 0..8).prop_map(|kv| {
                Value::Object(
                    kv.into_iter()
                        .map(|(k, v)| (k.to_string(), v))
                        .collect::<Map<_, _>>(),
                )
            }),
        ]
    })
}

/// Decodes and validates; checks the error is well formed.
fn check<T: DeserializeOwned + Validate>(body: &[u8]) {
    match from_json_body::<T>(body) {
        Ok(v) => assert!(validate_input(&v).is_ok()),
        Err(WireError::Serialization(detail)) => assert!(!detail.is_empty()),
        Err(WireError::Validation(violations)) => {
            assert!(!violations.is_empty());
            let msg = validation_message(&violations);
            let n = violations.len();
            let expect = if n == 1 {
                "1 validation error detected: ".to_string()
            } else {
                format!("{n} validation errors detected: ")
            };
            assert!(msg.starts_with(&expect), "{msg}");
        }
    }
}

fn check_all(body: &[u8]) {
    check::<sagemaker::CreateModelInput>(body);
    check::<sagemaker::CreateEndpointConfigInput>(body);
    check::<sagemaker::UpdateEndpointInput>(body);
    check::<sagemaker::ListEndpointsInput>(body);
    check::<runtime::InvokeEndpointInput>(body);
    check::<cloudwatch::PutMetricAlarmInput>(body);
    check::<cloudwatch::PutMetricDataInput>(body);
    check::<cloudwatch::GetMetricDataInput>(body);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn arbitrary_bytes_never_panic(body in prop::collection::vec(any::<u8>(), 0..512)) {
        check_all(&body);
    }

    #[test]
    fn request_shaped_documents_never_panic(doc in json_value()) {
        check_all(doc.to_string().as_bytes());
    }

    #[test]
    fn validation_is_deterministic(doc in json_value()) {
        let body = doc.to_string();
        let a = from_json_body::<sagemaker::UpdateEndpointInput>(body.as_bytes()).map_err(|e| format!("{e:?}"));
        let b = from_json_body::<sagemaker::UpdateEndpointInput>(body.as_bytes()).map_err(|e| format!("{e:?}"));
        prop_assert_eq!(a.map(|_| ()), b.map(|_| ()));
    }
}

#[test]
fn deep_nesting_is_an_error_not_a_crash() {
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    check_all(deep.as_bytes());
    let deep_obj = format!(
        "{{\"ModelName\":{}1{}}}",
        "{\"a\":".repeat(50_000),
        "}".repeat(50_000)
    );
    check_all(deep_obj.as_bytes());
}
