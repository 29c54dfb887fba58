//! The generated shape descriptors agree with the generated operation tables and structs.

use std::collections::BTreeSet;

use guardrail_api::generated::{cloudwatch as cw, runtime, sagemaker};
use guardrail_api::protocol::shapes::{Kind, StructShape};

/// Every structure reachable from `shape`, each once (recursive shapes terminate).
fn walk(shape: &'static StructShape, seen: &mut BTreeSet<&'static str>) {
    if !seen.insert(shape.name) {
        return;
    }
    for m in shape.members {
        walk_kind(m.kind, seen);
    }
}

fn walk_kind(kind: &'static Kind, seen: &mut BTreeSet<&'static str>) {
    match kind {
        Kind::Structure(s) => walk(s, seen),
        Kind::List(l) => walk_kind(l.member, seen),
        Kind::Map(m) => {
            walk_kind(m.key, seen);
            walk_kind(m.value, seen);
        }
        _ => {}
    }
}

#[test]
fn every_operation_has_the_descriptors_its_table_names() {
    for op in cw::Operation::ALL {
        assert_eq!(Some(cw::input_shape(*op).name), op.input_shape(), "{op}");
        assert_eq!(
            cw::output_shape(*op).map(|s| s.name),
            op.output_shape(),
            "{op}"
        );
    }
    for op in sagemaker::Operation::ALL {
        assert_eq!(
            Some(sagemaker::input_shape(*op).name),
            op.input_shape(),
            "{op}"
        );
        assert_eq!(
            sagemaker::output_shape(*op).map(|s| s.name),
            op.output_shape(),
            "{op}"
        );
    }
    for op in runtime::Operation::ALL {
        assert_eq!(
            Some(runtime::input_shape(*op).name),
            op.input_shape(),
            "{op}"
        );
    }
}

#[test]
fn descriptors_link_up_through_every_service() {
    let mut seen = BTreeSet::new();
    for op in cw::Operation::ALL {
        walk(cw::input_shape(*op), &mut seen);
        if let Some(s) = cw::output_shape(*op) {
            walk(s, &mut seen);
        }
    }
    for name in [
        "Dimension",
        "MetricAlarm",
        "MetricDatum",
        "StatisticSet",
        "Datapoint",
    ] {
        assert!(seen.contains(name), "{name} not reachable");
    }
    let mut seen = BTreeSet::new();
    for op in sagemaker::Operation::ALL {
        walk(sagemaker::input_shape(*op), &mut seen);
    }
    assert!(seen.contains("ProductionVariant"), "{seen:?}");
}

#[test]
fn cloudwatch_members_carry_their_kinds_and_namespace() {
    assert_eq!(
        cw::XML_NAMESPACE,
        Some("http://monitoring.amazonaws.com/doc/2010-08-01/")
    );
    assert_eq!(sagemaker::XML_NAMESPACE, None);
    let input = &cw::shapes::PUT_METRIC_ALARM_INPUT;
    let kind = |name: &str| input.member(name).map(|m| format!("{:?}", m.kind));
    assert_eq!(kind("Period").as_deref(), Some("Integer"));
    assert_eq!(kind("Threshold").as_deref(), Some("Double"));
    assert_eq!(kind("ActionsEnabled").as_deref(), Some("Boolean"));
    assert_eq!(
        kind("Dimensions").as_deref(),
        Some("List(Structure(Dimension))")
    );
    assert_eq!(kind("Nope"), None);
    let dims = input.member("Dimensions").expect("member");
    assert_eq!(dims.xml_name, "Dimensions");
    assert!(!dims.flattened);
    let Kind::List(l) = dims.kind else {
        panic!("Dimensions is a list")
    };
    assert_eq!(l.element_name(), "member");

    let datapoint = &cw::shapes::DATAPOINT;
    let ext = datapoint.member("ExtendedStatistics").expect("member");
    assert_eq!(format!("{:?}", ext.kind), "Map(String, Double)");
    let Kind::Map(m) = ext.kind else {
        panic!("a map")
    };
    assert_eq!(
        (m.key_name, m.value_name, m.flattened),
        ("key", "value", false)
    );
    assert_eq!(
        format!(
            "{:?}",
            cw::shapes::METRIC_DATA_RESULT
                .member("Timestamps")
                .map(|m| m.kind)
        ),
        "Some(List(Timestamp))"
    );
}
