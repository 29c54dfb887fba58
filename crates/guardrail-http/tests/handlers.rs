//! Handlers through the in-process harness: each test is a few `oneshot` calls into the real
//! app, with the store as the witness of "a rejected request changes nothing".

mod harness;

use guardrail_core::names::{name_key, ResourceKind};
use harness::Harness;
use serde_json::json;

#[tokio::test]
async fn a_model_round_trips_and_a_duplicate_is_refused_with_sagemakers_message() {
    let h = Harness::new().await;
    let input = json!({"ModelName": "Iris", "PrimaryContainer": {"Image": "model:v1"}});
    let created = h.sagemaker("CreateModel", input.clone()).await;
    assert_eq!(created.status, 200, "{}", created.json);
    assert_eq!(
        created.json["ModelArn"],
        "arn:aws:sagemaker:us-east-1:123456789012:model/iris"
    );
    let described = h
        .sagemaker("DescribeModel", json!({"ModelName": "iris"}))
        .await;
    assert_eq!(described.json["ModelName"], "Iris", "names keep their case");
    assert!(created.headers.contains_key("x-amzn-requestid"));

    let again = h.sagemaker("CreateModel", input).await;
    assert_eq!(again.status, 400);
    assert_eq!(again.json["__type"], "ValidationException");
    assert_eq!(
        again.json["message"],
        "Cannot create already existing model \"arn:aws:sagemaker:us-east-1:123456789012:model/iris\"."
    );
}

#[tokio::test]
async fn an_image_nothing_can_run_is_refused_and_nothing_is_stored() {
    let h = Harness::new().await;
    let a = h
        .sagemaker(
            "CreateModel",
            json!({"ModelName": "m", "PrimaryContainer": {"Image": "team/model:7"}}),
        )
        .await;
    assert_eq!(a.status, 400);
    let message = a.json["message"].as_str().unwrap();
    assert!(
        message.contains("Image \"team/model:7\" is not configured"),
        "{message}"
    );
    let stored = h
        .store
        .read(|tx| tx.get_resource(ResourceKind::Model, &name_key("m")))
        .await
        .unwrap();
    assert!(stored.is_none(), "a rejected request changes nothing");
}

#[tokio::test]
async fn weights_and_capacities_of_a_missing_endpoint_name_the_arn() {
    let h = Harness::new().await;
    let a = h
        .sagemaker(
            "UpdateEndpointWeightsAndCapacities",
            json!({"EndpointName": "nope", "DesiredWeightsAndCapacities": [{"VariantName": "A", "DesiredWeight": 1.0}]}),
        )
        .await;
    assert_eq!(a.status, 400);
    assert_eq!(
        a.json["message"],
        "Could not find endpoint \"arn:aws:sagemaker:us-east-1:123456789012:endpoint/nope\"."
    );
}

#[tokio::test]
async fn an_unknown_endpoint_is_a_runtime_validation_error() {
    let h = Harness::new().await;
    let a = h.invoke("nope", "{}").await;
    assert_eq!(a.status, 400);
    assert_eq!(
        a.headers["x-amzn-errortype"].to_str().unwrap(),
        "ValidationError"
    );
}

#[tokio::test]
async fn cloudwatch_alarms_and_their_errors_in_process() {
    let h = Harness::new().await;
    let alarm = json!({
        "AlarmName": "errors", "Namespace": "AWS/SageMaker", "MetricName": "Invocation5XXErrors",
        "Statistic": "Sum", "Period": 60, "EvaluationPeriods": 1, "Threshold": 1.0,
        "ComparisonOperator": "GreaterThanOrEqualToThreshold"
    });
    let put = h.cloudwatch("PutMetricAlarm", alarm).await;
    assert_eq!(put.status, 200, "{}", put.json);
    let listed = h
        .cloudwatch("DescribeAlarms", json!({"AlarmNames": ["errors"]}))
        .await;
    assert_eq!(listed.json["MetricAlarms"][0]["AlarmName"], "errors");
    assert_eq!(
        listed.json["MetricAlarms"][0]["StateValue"],
        "INSUFFICIENT_DATA"
    );
    let nan = h
        .cloudwatch(
            "PutMetricData",
            json!({"Namespace": "Custom", "MetricData": [{"MetricName": "x", "Value": "NaN"}]}),
        )
        .await;
    assert_eq!(nan.status, 400);
    assert_eq!(
        nan.headers["x-amzn-query-error"].to_str().unwrap(),
        "InvalidParameterValue;Sender"
    );
}
