//! Project automation behind `cargo xtask …` (see `main.rs` for the command line).
//!
//! `codegen` turns botocore's service models into `crates/guardrail-api/src/generated/`: only
//! the shapes reachable from the operations listed in [`SERVICES`], as serde structs with
//! generated `Validate` impls (style rule 8: wire shapes are generated and checked in; CI
//! regenerates with `--check` and fails on a diff).

pub mod botocore;
pub mod codegen;
pub mod descriptors;
pub mod model;
pub mod names;
pub mod pattern;

/// One botocore service model and the operations Guardrail serves from it.
#[derive(Debug, Clone, Copy)]
pub struct ServiceSpec {
    /// Rust module name under `guardrail-api/src/generated/`.
    pub module: &'static str,
    /// Model directory under botocore's `data/` (holds `service-2.json.gz`).
    pub model_dir: &'static str,
    /// Operations (model names); their inputs, outputs and members are generated.
    pub operations: &'static [&'static str],
}

/// Everything that gets generated. Adding an operation is one line here plus `cargo xtask
/// codegen`.
pub const SERVICES: &[ServiceSpec] = &[
    ServiceSpec {
        module: "sagemaker",
        model_dir: "sagemaker/2017-07-24",
        operations: &[
            "CreateModel",
            "DescribeModel",
            "ListModels",
            "DeleteModel",
            "CreateEndpointConfig",
            "DescribeEndpointConfig",
            "ListEndpointConfigs",
            "DeleteEndpointConfig",
            "CreateEndpoint",
            "DescribeEndpoint",
            "ListEndpoints",
            "DeleteEndpoint",
            "UpdateEndpoint",
            "UpdateEndpointWeightsAndCapacities",
            "AddTags",
            "ListTags",
            "DeleteTags",
        ],
    },
    ServiceSpec {
        module: "runtime",
        model_dir: "sagemaker-runtime/2017-05-13",
        operations: &["InvokeEndpoint", "InvokeEndpointWithResponseStream"],
    },
    ServiceSpec {
        module: "cloudwatch",
        model_dir: "cloudwatch/2010-08-01",
        operations: &[
            "PutMetricAlarm",
            "PutCompositeAlarm",
            "DescribeAlarms",
            "DescribeAlarmsForMetric",
            "DeleteAlarms",
            "SetAlarmState",
            "DescribeAlarmHistory",
            "EnableAlarmActions",
            "DisableAlarmActions",
            "PutMetricData",
            "GetMetricData",
            "GetMetricStatistics",
            "ListMetrics",
        ],
    },
];
