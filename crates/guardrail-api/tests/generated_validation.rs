//! Generated validation: AWS's constraint-violation messages (docs/sagemaker-api.md#validation-messages, #updateendpoint-rules).

use guardrail_api::generated::{cloudwatch, runtime, sagemaker};
use guardrail_api::wire::{self, Rendered, Violation, WireError};
use serde::de::DeserializeOwned;
use serde_json::{json, Value};

/// Parses `body` as `T` and returns the validation message (`None` when valid).
fn message<T: DeserializeOwned + wire::Validate>(body: Value) -> Option<String> {
    let input: T = serde_json::from_value(body).expect("body parses");
    wire::validate_input(&input)
        .err()
        .map(|v| wire::validation_message(&v))
}

fn violations<T: DeserializeOwned + wire::Validate>(body: Value) -> Vec<Violation> {
    let input: T = serde_json::from_value(body).expect("body parses");
    wire::validate_input(&input).err().unwrap_or_default()
}

const NAME_PATTERN: &str = "[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}";

fn update(deployment_config: Value) -> Value {
    json!({"EndpointName": "ep", "EndpointConfigName": "c2", "DeploymentConfig": deployment_config})
}

#[test]
fn bad_endpoint_name_fails_the_pattern() {
    let m = message::<sagemaker::CreateEndpointInput>(
        json!({"EndpointName": "bad_name!", "EndpointConfigName": "c"}),
    );
    assert_eq!(
        m.as_deref(),
        Some(
            "1 validation error detected: Value 'bad_name!' at 'endpointName' failed to satisfy \
             constraint: Member must satisfy regular expression pattern: \
             [a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}"
        )
    );
}

#[test]
fn empty_endpoint_name_fails_the_pattern_only() {
    // The model's min length is 0, so "" reaches the server and fails the pattern alone.
    let m = message::<sagemaker::DescribeEndpointInput>(json!({"EndpointName": ""}));
    assert_eq!(
        m,
        Some(format!(
            "1 validation error detected: Value '' at 'endpointName' failed to satisfy \
             constraint: Member must satisfy regular expression pattern: {NAME_PATTERN}"
        ))
    );
}

#[test]
fn long_and_hyphenated_names() {
    let long = "a".repeat(64);
    let v = violations::<sagemaker::DescribeEndpointInput>(json!({"EndpointName": long}));
    let phrases: Vec<&str> = v.iter().map(|v| v.constraint.as_str()).collect();
    assert_eq!(
        phrases,
        [
            "Member must have length less than or equal to 63".to_owned(),
            format!("Member must satisfy regular expression pattern: {NAME_PATTERN}"),
        ]
    );
    for bad in ["-ep", "ep-", "e.p", "ep\n"] {
        let v = violations::<sagemaker::DescribeEndpointInput>(json!({"EndpointName": bad}));
        assert_eq!(v.len(), 1, "{bad:?} must be rejected");
    }
    for good in ["ep", "my--ep-2", &"a".repeat(63)] {
        let v = violations::<sagemaker::DescribeEndpointInput>(json!({"EndpointName": good}));
        assert!(v.is_empty(), "{good:?} must be accepted: {v:?}");
    }
}

#[test]
fn instance_type_outside_the_enum() {
    let m = message::<sagemaker::CreateEndpointConfigInput>(json!({
        "EndpointConfigName": "c",
        "ProductionVariants": [{"VariantName": "AllTraffic", "InstanceType": "ml.t3.medium"}]
    }))
    .expect("invalid");
    let prefix = "1 validation error detected: Value 'ml.t3.medium' at \
                  'productionVariants.1.member.instanceType' failed to satisfy constraint: \
                  Member must satisfy enum value set: [ml.t2.medium, ";
    assert!(m.starts_with(prefix), "{m}");
    assert!(m.ends_with(']'), "{m}");
    assert!(m.contains(", ml.m5.large, "), "{m}");
    // The second variant gets index 2.
    let v = violations::<sagemaker::CreateEndpointConfigInput>(json!({
        "EndpointConfigName": "c",
        "ProductionVariants": [
            {"VariantName": "a", "InstanceType": "ml.m5.large"},
            {"VariantName": "b", "InstanceType": "ml.m5.huge"}
        ]
    }));
    assert_eq!(v.len(), 1);
    assert_eq!(v[0].path, "productionVariants.2.member.instanceType");
}

#[test]
fn wait_interval_above_3600() {
    let m = message::<sagemaker::UpdateEndpointInput>(update(json!({
        "BlueGreenUpdatePolicy": {
            "TrafficRoutingConfiguration": {"Type": "ALL_AT_ONCE", "WaitIntervalInSeconds": 4000}
        }
    })));
    assert_eq!(
        m.as_deref(),
        Some(
            "1 validation error detected: Value 4000 at \
             'deploymentConfig.blueGreenUpdatePolicy.trafficRoutingConfiguration.waitIntervalInSeconds' \
             failed to satisfy constraint: Member must have value less than or equal to 3600"
        )
    );
}

#[test]
fn execution_timeout_below_600_and_percentage_type_typo() {
    let v = violations::<sagemaker::UpdateEndpointInput>(update(json!({
        "BlueGreenUpdatePolicy": {
            "TrafficRoutingConfiguration": {
                "Type": "CANARY",
                "WaitIntervalInSeconds": 600,
                "CanarySize": {"Type": "CAPACITY_PERCENTAGE", "Value": 10}
            },
            "MaximumExecutionTimeoutInSeconds": 100
        }
    })));
    let items: Vec<String> = v.iter().map(ToString::to_string).collect();
    assert_eq!(
        items,
        [
            "Value 'CAPACITY_PERCENTAGE' at \
             'deploymentConfig.blueGreenUpdatePolicy.trafficRoutingConfiguration.canarySize.type' \
             failed to satisfy constraint: Member must satisfy enum value set: \
             [INSTANCE_COUNT, CAPACITY_PERCENT]",
            "Value 100 at 'deploymentConfig.blueGreenUpdatePolicy.maximumExecutionTimeoutInSeconds' \
             failed to satisfy constraint: Member must have value greater than or equal to 600",
        ]
    );
}

#[test]
fn alarms_follow_the_model() {
    // The model does NOT make Alarm.AlarmName required: `Alarms: [{}]` passes model
    // validation. Guardrail's "AlarmName present" rule (docs/sagemaker-api.md#updateendpoint-rules) must be enforced
    // by the semantic checks, not by generated validation.
    let v = violations::<sagemaker::UpdateEndpointInput>(update(json!({
        "AutoRollbackConfiguration": {"Alarms": [{}]}
    })));
    assert_eq!(v, []);

    // A blank name fails the pattern `(?!\s*$).+`.
    let m = message::<sagemaker::UpdateEndpointInput>(update(json!({
        "AutoRollbackConfiguration": {"Alarms": [{"AlarmName": "ok"}, {"AlarmName": "   "}]}
    })));
    assert_eq!(
        m.as_deref(),
        Some(
            "1 validation error detected: Value '   ' at \
             'deploymentConfig.autoRollbackConfiguration.alarms.2.member.alarmName' failed to \
             satisfy constraint: Member must satisfy regular expression pattern: (?!\\s*$).+"
        )
    );

    // An empty name breaks both the min length and the pattern.
    let v = violations::<sagemaker::UpdateEndpointInput>(update(json!({
        "AutoRollbackConfiguration": {"Alarms": [{"AlarmName": ""}]}
    })));
    let phrases: Vec<&str> = v.iter().map(|v| v.constraint.as_str()).collect();
    assert_eq!(
        phrases,
        [
            "Member must have length greater than or equal to 1",
            "Member must satisfy regular expression pattern: (?!\\s*$).+"
        ]
    );

    // `Alarms: []` violates the list's min size (botocore rejects it client-side too).
    let m = message::<sagemaker::UpdateEndpointInput>(update(json!({
        "AutoRollbackConfiguration": {"Alarms": []}
    })));
    assert_eq!(
        m.as_deref(),
        Some(
            "1 validation error detected: Value [] at \
             'deploymentConfig.autoRollbackConfiguration.alarms' failed to satisfy constraint: \
             Member must have length greater than or equal to 1"
        )
    );
}

#[test]
fn two_violations_are_counted_and_joined() {
    let m = message::<sagemaker::UpdateEndpointInput>(json!({
        "EndpointName": "bad_name!",
        "EndpointConfigName": "c2",
        "DeploymentConfig": {"BlueGreenUpdatePolicy": {
            "TrafficRoutingConfiguration": {"Type": "ALL_AT_ONCE", "WaitIntervalInSeconds": 4000}
        }}
    }));
    assert_eq!(
        m,
        Some(format!(
            "2 validation errors detected: Value 'bad_name!' at 'endpointName' failed to satisfy \
             constraint: Member must satisfy regular expression pattern: {NAME_PATTERN}; Value \
             4000 at 'deploymentConfig.blueGreenUpdatePolicy.trafficRoutingConfiguration.\
             waitIntervalInSeconds' failed to satisfy constraint: Member must have value less \
             than or equal to 3600"
        ))
    );
}

#[test]
fn missing_required_members_are_null() {
    let m = message::<sagemaker::UpdateEndpointInput>(json!({}));
    assert_eq!(
        m.as_deref(),
        Some(
            "2 validation errors detected: Value null at 'endpointName' failed to satisfy \
             constraint: Member must not be null; Value null at 'endpointConfigName' failed to \
             satisfy constraint: Member must not be null"
        )
    );
    // Nested: TrafficRoutingConfig requires Type and WaitIntervalInSeconds.
    let v = violations::<sagemaker::UpdateEndpointInput>(update(json!({
        "BlueGreenUpdatePolicy": {"TrafficRoutingConfiguration": {"Type": "CANARY"}}
    })));
    assert_eq!(v.len(), 1);
    assert_eq!(
        v[0].path,
        "deploymentConfig.blueGreenUpdatePolicy.trafficRoutingConfiguration.waitIntervalInSeconds"
    );
    assert_eq!(v[0].value, Rendered::Null);
    assert_eq!(v[0].constraint, "Member must not be null");
    // JSON null is the same as absent.
    let m = message::<sagemaker::CreateModelInput>(json!({"ModelName": null}));
    assert_eq!(
        m.as_deref(),
        Some(
            "1 validation error detected: Value null at 'modelName' failed to satisfy \
             constraint: Member must not be null"
        )
    );
}

#[test]
fn from_json_body_parses_and_validates() {
    let r = wire::from_json_body::<sagemaker::DeleteEndpointInput>(br#"{"EndpointName":"x_y"}"#);
    match r {
        Err(e @ WireError::Validation(_)) => assert!(
            e.to_string()
                .starts_with("1 validation error detected: Value 'x_y' at 'endpointName'"),
            "{e}"
        ),
        other => panic!("expected a validation error, got {other:?}"),
    }
    let ok = wire::from_json_body::<sagemaker::DeleteEndpointInput>(br#"{"EndpointName":"x-y"}"#);
    assert_eq!(ok.expect("valid").endpoint_name.as_deref(), Some("x-y"));
}

#[test]
fn floats_render_as_rust_prints_them() {
    let v = violations::<sagemaker::CreateEndpointConfigInput>(json!({
        "EndpointConfigName": "c",
        "ProductionVariants": [
            {"VariantName": "a", "InitialVariantWeight": -1},
            {"VariantName": "b", "InitialVariantWeight": -0.5}
        ]
    }));
    let items: Vec<String> = v.iter().map(ToString::to_string).collect();
    assert_eq!(
        items,
        [
            "Value -1 at 'productionVariants.1.member.initialVariantWeight' failed to satisfy \
             constraint: Member must have value greater than or equal to 0",
            "Value -0.5 at 'productionVariants.2.member.initialVariantWeight' failed to satisfy \
             constraint: Member must have value greater than or equal to 0",
        ]
    );
}

#[test]
fn tags_maps_and_list_sizes() {
    let tags: Vec<Value> = (0..51)
        .map(|i| json!({"Key": format!("k{i}"), "Value": "v"}))
        .collect();
    let v = violations::<sagemaker::CreateEndpointInput>(
        json!({"EndpointName": "ep", "EndpointConfigName": "c", "Tags": tags}),
    );
    assert_eq!(v.len(), 1);
    assert_eq!(v[0].path, "tags");
    assert_eq!(
        v[0].constraint,
        "Member must have length less than or equal to 50"
    );
    assert!(
        v[0].to_string()
            .starts_with("Value [{\"Key\":\"k0\",\"Value\":\"v\"}, "),
        "{}",
        v[0]
    );

    // `Tags: []` is accepted (SDK v2 sends it); a tag without Value is not.
    let v = violations::<sagemaker::CreateEndpointInput>(
        json!({"EndpointName": "ep", "EndpointConfigName": "c", "Tags": []}),
    );
    assert_eq!(v, []);
    let m = message::<sagemaker::AddTagsInput>(json!({
        "ResourceArn": "arn:aws:sagemaker:us-east-1:123456789012:endpoint/ep",
        "Tags": [{"Key": "a", "Value": "b"}, {"Key": "ünïcode ok"}]
    }));
    assert_eq!(
        m.as_deref(),
        Some(
            "1 validation error detected: Value null at 'tags.2.member.value' failed to satisfy \
             constraint: Member must not be null"
        )
    );

    // Map keys: Environment keys must look like shell variable names.
    let v = violations::<sagemaker::CreateModelInput>(json!({
        "ModelName": "m",
        "PrimaryContainer": {"Image": "img", "Environment": {"GOOD_KEY": "x", "1BAD": "y"}}
    }));
    assert_eq!(v.len(), 1);
    assert_eq!(v[0].path, "primaryContainer.environment");
    assert_eq!(v[0].value, Rendered::Str("1BAD".to_owned()));
    assert_eq!(
        v[0].constraint,
        "Map keys must satisfy constraint: [Member must satisfy regular expression pattern: \
         [a-zA-Z_][a-zA-Z0-9_]*]"
    );
}

#[test]
fn java_regex_semantics() {
    // `\d` is ASCII in Java: Arabic-Indic digits are not digits.
    let role = |acct: &str| json!({"ModelName": "m", "ExecutionRoleArn": format!("arn:aws:iam::{acct}:role/r")});
    assert_eq!(
        violations::<sagemaker::CreateModelInput>(role("123456789012")),
        []
    );
    assert_eq!(
        violations::<sagemaker::CreateModelInput>(role("١٢٣٤٥٦٧٨٩٠١٢")).len(),
        1
    );
    // `.` excludes line terminators; `\s` is ASCII whitespace only.
    let alarm = |name: &str| {
        update(json!({"AutoRollbackConfiguration": {"Alarms": [{"AlarmName": name}]}}))
    };
    assert_eq!(
        violations::<sagemaker::UpdateEndpointInput>(alarm("a\nb")).len(),
        1
    );
    assert_eq!(
        violations::<sagemaker::UpdateEndpointInput>(alarm("a b")),
        []
    );
    assert_eq!(
        violations::<sagemaker::UpdateEndpointInput>(alarm("\u{a0}")),
        []
    );
    // Lookbehind in VersionedArnOrName (ModelPackageName): no trailing hyphen.
    let pkg =
        |name: &str| json!({"ModelName": "m", "PrimaryContainer": {"ModelPackageName": name}});
    assert_eq!(
        violations::<sagemaker::CreateModelInput>(pkg("my-package/3")),
        []
    );
    assert_eq!(
        violations::<sagemaker::CreateModelInput>(pkg("my-package-")).len(),
        1
    );
}

#[test]
fn runtime_headers_and_sensitive_values() {
    let ok = json!({"EndpointName": "ep", "Body": "e30=", "CustomAttributes": "trace=1"});
    assert_eq!(violations::<runtime::InvokeEndpointInput>(ok), []);
    // CustomAttributes is `sensitive`: its value is left out of the message.
    let m = message::<runtime::InvokeEndpointInput>(
        json!({"EndpointName": "ep", "Body": "e30=", "CustomAttributes": "é"}),
    );
    assert_eq!(
        m.as_deref(),
        Some(
            "1 validation error detected: Value at 'customAttributes' failed to satisfy \
             constraint: Member must satisfy regular expression pattern: \\p{ASCII}*"
        )
    );
    let m = message::<runtime::InvokeEndpointInput>(json!({"EndpointName": "ep"}));
    assert_eq!(
        m.as_deref(),
        Some(
            "1 validation error detected: Value null at 'body' failed to satisfy constraint: \
             Member must not be null"
        )
    );
    // InferenceId: `\A\S[\p{Print}]*\z`.
    let id = |v: &str| json!({"EndpointName": "ep", "Body": "", "InferenceId": v});
    assert_eq!(
        violations::<runtime::InvokeEndpointInput>(id("abc-123 x")),
        []
    );
    assert_eq!(
        violations::<runtime::InvokeEndpointInput>(id(" abc")).len(),
        1
    );
    assert_eq!(
        violations::<runtime::InvokeEndpointInput>(id("ab\tc")).len(),
        1
    );
}

#[test]
fn cloudwatch_constraints() {
    let m = message::<cloudwatch::PutMetricAlarmInput>(json!({
        "AlarmName": "ep-5xx",
        "Namespace": "AWS/SageMaker",
        "MetricName": "Invocation5XXErrors",
        "Statistic": "Total",
        "Period": 0,
        "EvaluationPeriods": 1,
        "Threshold": 1,
        "ComparisonOperator": "GreaterThanOrEqualToThreshold",
        "Dimensions": [{"Name": "EndpointName"}]
    }));
    assert_eq!(
        m.as_deref(),
        Some(
            "3 validation errors detected: Value 'Total' at 'statistic' failed to satisfy \
             constraint: Member must satisfy enum value set: [SampleCount, Average, Sum, \
             Minimum, Maximum]; Value null at 'dimensions.1.member.value' failed to satisfy \
             constraint: Member must not be null; Value 0 at 'period' failed to satisfy \
             constraint: Member must have value greater than or equal to 1"
        )
    );
    let m =
        message::<cloudwatch::SetAlarmStateInput>(json!({"AlarmName": "a", "StateValue": "OK"}));
    assert_eq!(
        m.as_deref(),
        Some(
            "1 validation error detected: Value null at 'stateReason' failed to satisfy \
             constraint: Member must not be null"
        )
    );
    // Namespace `[^:].*` must not start with a colon.
    let m = message::<cloudwatch::PutMetricDataInput>(json!({"Namespace": ":x"}));
    assert!(m.is_some_and(|m| m.ends_with("pattern: [^:].*")));
}
