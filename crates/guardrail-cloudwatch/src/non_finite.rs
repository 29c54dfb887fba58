//! NaN and ±Infinity in double members. awsJson carries them as the strings `"NaN"`,
//! `"Infinity"`, `"-Infinity"` (botocore's serializer), and the awsQuery and CBOR decoders
//! turn them into the same strings; CloudWatch answers them as a bad value of the parameter
//! (`InvalidParameterValue`, `The value NaN for parameter MetricData.member.1.Value is
//! invalid.`), never as an undecodable body. This pass finds the first one, in document order,
//! before the input is deserialised.

use guardrail_api::error::CloudWatchError;
use guardrail_api::protocol::shapes::{Kind, StructShape};
use serde_json::Value;

use crate::messages;

const SPELLINGS: [&str; 3] = ["NaN", "Infinity", "-Infinity"];

/// `Err(InvalidParameterValue)` naming the first double member of `input` (of `shape`) that
/// holds a non-finite value, by its awsQuery parameter name.
pub(crate) fn reject(input: &Value, shape: &StructShape) -> Result<(), CloudWatchError> {
    match find_struct(input, shape, "") {
        Some((value, param)) => Err(CloudWatchError::InvalidParameterValue(
            messages::invalid_value(&value, &param),
        )),
        None => Ok(()),
    }
}

fn find_struct(v: &Value, shape: &StructShape, prefix: &str) -> Option<(String, String)> {
    let obj = v.as_object()?;
    for m in shape.members {
        if let Some(child) = obj.get(m.name) {
            let name = format!("{prefix}{}", m.name);
            if let Some(hit) = find(child, m.kind, &name) {
                return Some(hit);
            }
        }
    }
    None
}

fn find(v: &Value, kind: &Kind, param: &str) -> Option<(String, String)> {
    match kind {
        Kind::Double => match v {
            Value::String(s) if SPELLINGS.contains(&s.as_str()) => {
                Some((s.clone(), param.to_owned()))
            }
            _ => None,
        },
        Kind::Structure(s) => find_struct(v, s, &format!("{param}.")),
        Kind::List(l) => v
            .as_array()?
            .iter()
            .enumerate()
            .find_map(|(i, e)| find(e, l.member, &format!("{param}.member.{}", i + 1))),
        Kind::Map(m) => v
            .as_object()?
            .iter()
            .enumerate()
            .find_map(|(i, (_, e))| find(e, m.value, &format!("{param}.entry.{}.value", i + 1))),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use guardrail_api::generated::cloudwatch::{self as cw, Operation};
    use serde_json::json;

    fn msg(input: Value) -> Option<String> {
        reject(&input, cw::input_shape(Operation::PutMetricData))
            .err()
            .map(|e| {
                assert_eq!(e.query_code(), "InvalidParameterValue");
                e.to_string()
            })
    }

    #[test]
    fn names_the_parameter_of_the_first_non_finite_double() {
        assert_eq!(
            msg(json!({"Namespace": "n", "MetricData": [{"MetricName": "m", "Value": "NaN"}]})),
            Some("The value NaN for parameter MetricData.member.1.Value is invalid.".into())
        );
        assert_eq!(
            msg(json!({"MetricData": [{"Value": 1.0}, {"Values": [1.0, "Infinity"]}]})),
            Some(
                "The value Infinity for parameter MetricData.member.2.Values.member.2 is invalid."
                    .into()
            )
        );
        assert_eq!(
            msg(json!({"MetricData": [{"Values": [1.0], "Counts": ["-Infinity"]}]})),
            Some(
                "The value -Infinity for parameter MetricData.member.1.Counts.member.1 is invalid."
                    .into()
            )
        );
        assert_eq!(
            msg(json!({"MetricData": [{"StatisticValues": {"SampleCount": 1.0, "Sum": "NaN"}}]})),
            Some(
                "The value NaN for parameter MetricData.member.1.StatisticValues.Sum is invalid."
                    .into()
            )
        );
        assert_eq!(
            msg(json!({"EntityMetricData": [{"MetricData": [{"Value": "NaN"}]}]})),
            Some("The value NaN for parameter EntityMetricData.member.1.MetricData.member.1.Value is invalid.".into())
        );
        assert_eq!(
            msg(json!({"MetricData": [{"MetricName": "NaN", "Value": 1.0}]})),
            None
        );
    }
}
