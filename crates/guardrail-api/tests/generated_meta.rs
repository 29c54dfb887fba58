//! Generated operation tables, bindings, enums and patterns.

use guardrail_api::generated::{cloudwatch, runtime, sagemaker, BOTOCORE_VERSION};
use guardrail_api::wire::{ErrorShape, Path};

#[test]
fn every_generated_pattern_compiles() {
    let all = [sagemaker::PATTERNS, runtime::PATTERNS, cloudwatch::PATTERNS];
    let mut n = 0;
    for p in all.into_iter().flatten() {
        assert!(
            p.compiled().is_ok(),
            "{p:?} does not compile: {:?}",
            p.compiled().err()
        );
        n += 1;
    }
    assert!(n > 20, "only {n} patterns");
}

#[test]
fn sagemaker_operations() {
    assert_eq!(sagemaker::OPERATIONS.len(), 17);
    assert_eq!(sagemaker::Operation::ALL.len(), sagemaker::OPERATIONS.len());
    for (op, name) in sagemaker::Operation::ALL.iter().zip(sagemaker::OPERATIONS) {
        assert_eq!(op.name(), *name);
        assert_eq!(sagemaker::Operation::from_name(name), Some(*op));
        assert_eq!(op.to_string(), *name);
    }
    let op = sagemaker::Operation::from_name("UpdateEndpoint").expect("known");
    assert_eq!(op, sagemaker::Operation::UpdateEndpoint);
    assert_eq!(op.input_shape(), Some("UpdateEndpointInput"));
    assert_eq!(op.output_shape(), Some("UpdateEndpointOutput"));
    assert_eq!(op.errors(), ["ResourceLimitExceeded"]);
    assert_eq!(sagemaker::Operation::DeleteEndpoint.output_shape(), None);
    assert_eq!(
        sagemaker::Operation::DescribeEndpoint.errors(),
        [] as [&str; 0]
    );
    assert_eq!(
        sagemaker::Operation::DescribeModel.errors(),
        sagemaker::DESCRIBE_MODEL_ERRORS
    );
    assert_eq!(sagemaker::Operation::from_name("CreateTrainingJob"), None);
    assert_eq!(sagemaker::Operation::from_name("createModel"), None);
    assert_eq!(sagemaker::TARGET_PREFIX, Some("SageMaker"));
    assert_eq!(sagemaker::SIGNING_NAME, "sagemaker");
    assert_eq!(sagemaker::JSON_VERSION, Some("1.1"));
    assert_eq!(
        sagemaker::ERROR_SHAPES,
        [ErrorShape {
            name: "ResourceLimitExceeded",
            code: "ResourceLimitExceeded",
            http_status: 400,
            fault: false
        }]
    );
}

#[test]
fn sagemaker_enums_match_the_reference() {
    assert_eq!(
        sagemaker::ENDPOINT_STATUS_VALUES,
        [
            "OutOfService",
            "Creating",
            "Updating",
            "SystemUpdating",
            "RollingBack",
            "InService",
            "Deleting",
            "Failed",
            "UpdateRollbackFailed"
        ]
    );
    assert_eq!(
        sagemaker::TRAFFIC_ROUTING_CONFIG_TYPE_VALUES,
        ["ALL_AT_ONCE", "CANARY", "LINEAR"]
    );
    assert_eq!(
        sagemaker::CAPACITY_SIZE_TYPE_VALUES,
        ["INSTANCE_COUNT", "CAPACITY_PERCENT"]
    );
    assert_eq!(
        sagemaker::VARIANT_PROPERTY_TYPE_VALUES,
        ["DesiredInstanceCount", "DesiredWeight", "DataCaptureConfig"]
    );
    assert!(sagemaker::PRODUCTION_VARIANT_INSTANCE_TYPE_VALUES.contains(&"ml.m5.large"));
    assert!(!sagemaker::PRODUCTION_VARIANT_INSTANCE_TYPE_VALUES.contains(&"ml.t3.medium"));
}

#[test]
fn runtime_operations_and_http_bindings() {
    let op = runtime::Operation::from_name("InvokeEndpoint").expect("known");
    assert_eq!(op.http_method(), "POST");
    assert_eq!(op.request_uri(), "/endpoints/{EndpointName}/invocations");
    assert_eq!(
        runtime::Operation::InvokeEndpointWithResponseStream.request_uri(),
        "/endpoints/{EndpointName}/invocations-response-stream"
    );
    assert_eq!(op.errors().len(), 6);
    let b = runtime::INVOKE_ENDPOINT_INPUT_BINDINGS;
    assert!(b.contains(&("EndpointName", "uri", "EndpointName")));
    assert!(b.contains(&("Body", "payload", "Body")));
    assert!(b.contains(&("ContentType", "header", "Content-Type")));
    assert!(b.contains(&("TargetVariant", "header", "X-Amzn-SageMaker-Target-Variant")));
    assert!(b.contains(&("InferenceId", "header", "X-Amzn-SageMaker-Inference-Id")));
    let out = runtime::INVOKE_ENDPOINT_OUTPUT_BINDINGS;
    assert!(out.contains(&(
        "InvokedProductionVariant",
        "header",
        "x-Amzn-Invoked-Production-Variant"
    )));
    let stream = runtime::INVOKE_ENDPOINT_WITH_RESPONSE_STREAM_INPUT_BINDINGS;
    assert!(stream.contains(&("Accept", "header", "X-Amzn-SageMaker-Accept")));
    // The event-stream body is a plain blob.
    let o = runtime::InvokeEndpointWithResponseStreamOutput::default();
    let _: Option<guardrail_api::wire::Blob> = o.body;
    let model_error = runtime::ERROR_SHAPES
        .iter()
        .find(|e| e.name == "ModelError")
        .expect("ModelError");
    assert_eq!((model_error.http_status, model_error.fault), (424, false));
}

#[test]
fn cloudwatch_operations() {
    assert_eq!(cloudwatch::OPERATIONS.len(), 13);
    assert_eq!(
        cloudwatch::TARGET_PREFIX,
        Some("GraniteServiceVersion20100801")
    );
    assert_eq!(cloudwatch::SIGNING_NAME, "monitoring");
    assert_eq!(
        cloudwatch::PROTOCOLS,
        ["smithy-rpc-v2-cbor", "json", "query"]
    );
    let op = cloudwatch::Operation::DescribeAlarms;
    assert_eq!(op.result_wrapper(), Some("DescribeAlarmsResult"));
    assert_eq!(cloudwatch::Operation::PutMetricAlarm.output_shape(), None);
    assert_eq!(
        cloudwatch::Operation::PutMetricAlarm.errors(),
        ["LimitExceededFault"]
    );
    let e = cloudwatch::ERROR_SHAPES
        .iter()
        .find(|e| e.name == "LimitExceededFault")
        .expect("known");
    assert_eq!((e.code, e.http_status), ("LimitExceeded", 400));
    let e = cloudwatch::ERROR_SHAPES
        .iter()
        .find(|e| e.name == "ResourceNotFound")
        .expect("known");
    assert_eq!((e.code, e.http_status), ("ResourceNotFound", 404));
    let e = cloudwatch::ERROR_SHAPES
        .iter()
        .find(|e| e.name == "InternalServiceFault")
        .expect("known");
    assert_eq!(
        (e.code, e.http_status, e.fault),
        ("InternalServiceError", 500, true)
    );
    assert_eq!(
        cloudwatch::STATE_VALUE_VALUES,
        ["OK", "ALARM", "INSUFFICIENT_DATA"]
    );
}

#[test]
fn botocore_version_is_recorded() {
    assert!(!BOTOCORE_VERSION.is_empty());
    assert!(BOTOCORE_VERSION
        .chars()
        .all(|c| c.is_ascii_digit() || c == '.'));
}

#[test]
fn path_stack_renders_aws_paths() {
    let mut p = Path::new();
    p.push_member("deploymentConfig");
    p.push_member("autoRollbackConfiguration");
    p.push_member("alarms");
    p.push_index(0);
    p.push_member("alarmName");
    assert_eq!(
        p.as_str(),
        "deploymentConfig.autoRollbackConfiguration.alarms.1.member.alarmName"
    );
    p.pop();
    p.pop();
    p.push_index(9);
    assert_eq!(
        p.render(),
        "deploymentConfig.autoRollbackConfiguration.alarms.10.member"
    );
    p.pop();
    p.pop();
    p.push_member("environment");
    p.push_key("MY_VAR");
    assert_eq!(
        p.to_string(),
        "deploymentConfig.autoRollbackConfiguration.environment.MY_VAR"
    );
    for _ in 0..10 {
        p.pop();
    }
    assert_eq!(p.as_str(), "");
    assert_eq!(guardrail_api::wire::lower_camel("KMSKeyId"), "kMSKeyId");
}
