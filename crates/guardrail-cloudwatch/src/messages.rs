//! Every message the CloudWatch service answers with, in one place (docs/cloudwatch-api.md is
//! the reference: its Errors section for codes, each operation's section for its rules).
//! Clients and tests match on these texts (`The value … for parameter … is invalid.`, the
//! NextToken message, AWS's validation wording), so each is written once, here; handlers
//! choose the error code (`CloudWatchError::…`) and call these instead of formatting text
//! inline. Several handlers share one wording (a bad value, a missing parameter, a collection
//! that is too large): one function serves them all, so the wordings cannot drift apart.
//!
//! Texts that come from another crate's error (`MonitorError`, `QueryError`, the protocol
//! decoders) are passed through unchanged and are not repeated here.

use std::fmt::Display;

// --- protocols and request bodies --------------------------------------------------------------

pub(crate) fn unknown_operation(name: &str) -> String {
    format!("Operation {name} is not supported by Guardrail's CloudWatch service.")
}

pub(crate) fn unparsable_body(error: &dyn Display) -> String {
    format!("Could not parse the request body: {error}")
}

pub(crate) fn body_too_large(limit: usize) -> String {
    format!(
        "The request body exceeds the {limit}-byte limit (compress PutMetricData with gzip, or send fewer datums per request)."
    )
}

pub(crate) fn unsupported_content_encoding(encodings: &str) -> String {
    format!("Content-Encoding {encodings} is not supported; use gzip.")
}

pub(crate) fn invalid_gzip(error: &dyn Display) -> String {
    format!("The request body is not valid gzip: {error}")
}

pub(crate) fn decompressed_too_large(max: usize) -> String {
    format!("The decompressed request body exceeds {max} bytes.")
}

// --- shared by the operations ------------------------------------------------------------------

pub(crate) fn missing_parameter(param: &str) -> String {
    format!("The parameter {param} is required.")
}

/// A bad value of a parameter (also NaN and ±Infinity, and an unknown unit).
pub(crate) fn invalid_value(value: &dyn Display, param: &str) -> String {
    format!("The value {value} for parameter {param} is invalid.")
}

pub(crate) fn unsupported_value(value: &dyn Display, param: &str) -> String {
    format!("The value {value} for parameter {param} is not supported.")
}

pub(crate) fn collection_too_large(param: &str, max: usize) -> String {
    format!("The collection {param} must not have a size greater than {max}.")
}

pub(crate) fn not_a_valid_statistic(value: &str, param: &str) -> String {
    format!("The value {value} for parameter {param} is not a valid statistic.")
}

pub(crate) fn invalid_period(period: &dyn Display, param: &str) -> String {
    format!(
        "The value {period} for parameter {param} is invalid: it must be a whole number \
         of seconds, at least 1."
    )
}

/// NextToken of DescribeAlarms, ListMetrics and GetMetricData.
pub(crate) const INVALID_NEXT_TOKEN: &str =
    "The service couldn't process your request because the value of NextToken is not valid.";
/// NextToken of DescribeAlarmHistory whose position is not a history id.
pub(crate) const INVALID_HISTORY_NEXT_TOKEN: &str = "The NextToken is not valid.";

// --- alarms ------------------------------------------------------------------------------------

pub(crate) const REASON_DATA_NOT_AN_OBJECT: &str =
    "StateReasonData is not valid JSON: it must be a JSON object.";
pub(crate) const REASON_DATA_NOT_JSON: &str = "StateReasonData is not valid JSON.";
pub(crate) const NAMES_AND_PREFIX: &str =
    "AlarmNames and AlarmNamePrefix cannot be specified together.";

pub(crate) fn state_value_not_in_enum(value: &str) -> String {
    format!(
        "1 validation error detected: Value '{value}' at 'stateValue' failed to satisfy constraint: Member must satisfy enum value set: [INSUFFICIENT_DATA, ALARM, OK]"
    )
}

// --- PutCompositeAlarm -------------------------------------------------------------------------

pub(crate) fn invalid_alarm_rule(error: &dyn Display) -> String {
    format!("AlarmRule is not valid: {error}")
}

pub(crate) fn composite_replaces_metric_alarm(name: &str) -> String {
    format!("The alarm {name} is a metric alarm; a composite alarm cannot replace it.")
}

pub(crate) fn rule_alarms_do_not_exist(missing: &[&str]) -> String {
    format!(
        "Could not save the composite alarm as alarms [{}] in the alarm rule do not exist",
        missing.join(", ")
    )
}

pub(crate) fn composite_cycle(name: &str) -> String {
    format!(
        "Could not save the composite alarm {name}: its alarm rule would create a cycle of composite alarms."
    )
}

// --- PutMetricAlarm ----------------------------------------------------------------------------

pub(crate) const STATISTIC_XOR_EXTENDED: &str =
    "Exactly one of Statistic or ExtendedStatistic must be specified.";
pub(crate) const ALARM_NAME_NOT_ASCII: &str =
    "The value for parameter AlarmName must contain only ASCII characters.";
pub(crate) const METRICS_WITH_SINGLE_METRIC_MEMBERS: &str =
    "Metrics cannot be combined with MetricName, Namespace, Statistic, ExtendedStatistic, Dimensions, Period or Unit.";
pub(crate) const METRICS_ONE_RETURNED: &str =
    "Metrics list must contain exactly one metric with ReturnData set to true.";

pub(crate) fn alarm_namespace_starts_with_colon(namespace: &str) -> String {
    format!(
        "The value {namespace} for parameter Namespace is not valid: it must not start with ':'."
    )
}

pub(crate) fn alarm_invalid_dimensions(error: &dyn Display) -> String {
    format!("The Dimensions are not valid: {error}.")
}

pub(crate) fn metrics_stat_xor_expression(n: usize) -> String {
    format!("Metrics.member.{n}: exactly one of MetricStat or Expression must be specified.")
}

pub(crate) fn invalid_metric_math(error: &dyn Display) -> String {
    format!("Metrics: {error}.")
}

pub(crate) fn datapoints_exceed_periods(m: i64, n: i64) -> String {
    format!("DatapointsToAlarm ({m}) must be less than or equal to EvaluationPeriods ({n}).")
}

pub(crate) fn evaluation_range_too_long(period: i64, n: i64, max: i64) -> String {
    format!(
        "The evaluation period of the alarm (Period {period} × EvaluationPeriods {n}) must not exceed {max} seconds."
    )
}

pub(crate) fn anomaly_operator_without_threshold_metric(operator: &str) -> String {
    format!("ComparisonOperator {operator} is only valid with ThresholdMetricId.")
}

pub(crate) fn unsupported_treat_missing_data(option: &str) -> String {
    format!(
        "Option {option} is not supported. Supported options for parameter TreatMissingData are missing, ignore, breaching and notBreaching."
    )
}

pub(crate) fn unsupported_low_sample_count(option: &str) -> String {
    format!(
        "Option {option} is not supported. Supported options for parameter EvaluateLowSampleCountPercentile are evaluate and ignore."
    )
}

/// The alarm definition's own rule violation (`guardrail_metrics`), as a sentence.
pub(crate) fn invalid_alarm_definition(error: &dyn Display) -> String {
    format!("{error}.")
}

// --- metric identities and time ranges ---------------------------------------------------------

/// GetMetricStatistics' bad time range (also its store's answer to one).
pub(crate) const START_NOT_BEFORE_END: &str =
    "The parameter StartTime must be less than the parameter EndTime.";
/// GetMetricData: an end before the start.
pub(crate) const END_BEFORE_START: &str = "The parameter EndTime must be greater than StartTime.";
/// GetMetricData: start and end in the same second.
pub(crate) const START_EQUALS_END: &str =
    "The parameter StartTime must not equal parameter EndTime.";

pub(crate) fn namespace_starts_with_colon(namespace: &str, param: &str) -> String {
    format!(
        "The value {namespace} for parameter {param} is invalid: a namespace must not start with ':'."
    )
}

pub(crate) fn invalid_namespace(namespace: &str, param: &str) -> String {
    format!(
        "The value {namespace} for parameter {param} is invalid: a namespace must be \
         1-255 characters and must not start with ':'."
    )
}

pub(crate) fn invalid_metric_name(metric_name: &str, param: &str) -> String {
    format!(
        "The value {metric_name} for parameter {param} is invalid: a metric name must be \
         1-255 characters."
    )
}

pub(crate) fn invalid_dimensions(param: &str) -> String {
    format!(
        "The parameter {param} is invalid: dimension names must be 1-255 characters \
         and dimension values 1-1024 characters."
    )
}

// --- PutMetricData -----------------------------------------------------------------------------

pub(crate) fn metric_data_not_recorded(reason: &str) -> String {
    format!("The metric data could not be recorded: {reason}.")
}

/// `value` as CloudWatch messages show numbers (`fmt_num`).
pub(crate) fn number_out_of_range(value: &str, param: &str) -> String {
    format!(
        "The value {value} for parameter {param} is invalid: values must be finite numbers \
         between -2^360 and 2^360, and non-zero values must have a magnitude of at least \
         2^-260."
    )
}

pub(crate) fn invalid_storage_resolution(value: &dyn Display, p: &str) -> String {
    format!(
        "The value {value} for parameter {p}.StorageResolution is invalid: valid values \
         are 1 and 60."
    )
}

pub(crate) fn timestamp_out_of_range(p: &str) -> String {
    format!(
        "The parameter {p}.Timestamp must specify a time no more than two weeks in \
         the past and two hours in the future."
    )
}

pub(crate) fn counts_without_values(p: &str) -> String {
    format!("The parameter {p}.Counts may only be specified together with {p}.Values.")
}

pub(crate) fn no_datum_value(p: &str) -> String {
    format!(
        "At least one of the parameters {p}.Value, {p}.StatisticValues and {p}.Values must \
         be specified."
    )
}

pub(crate) fn two_datum_values(p: &str, a: &str, b: &str) -> String {
    format!(
        "The parameters {p}.{a} and {p}.{b} are mutually exclusive and you have specified \
         both."
    )
}

pub(crate) fn three_datum_values(p: &str) -> String {
    format!(
        "The parameters {p}.Value, {p}.StatisticValues and {p}.Values are mutually \
         exclusive and you have specified all three."
    )
}

/// `value` as CloudWatch messages show numbers (`fmt_num`).
pub(crate) fn non_positive_sample_count(value: &str, p: &str) -> String {
    format!(
        "The value {value} for parameter {p}.StatisticValues.SampleCount is invalid: it must be \
         greater than 0."
    )
}

pub(crate) fn minimum_above_maximum(p: &str) -> String {
    format!(
        "The parameter {p}.StatisticValues.Minimum must be less than or equal to the \
         parameter {p}.StatisticValues.Maximum."
    )
}

pub(crate) fn empty_values(p: &str) -> String {
    format!("The collection {p}.Values must contain at least one value.")
}

pub(crate) fn values_counts_size_mismatch(p: &str) -> String {
    format!("The parameters {p}.Values and {p}.Counts must be of the same size.")
}

/// `value` as CloudWatch messages show numbers (`fmt_num`).
pub(crate) fn negative_count(value: &str, param: &str) -> String {
    format!("The value {value} for parameter {param} is invalid: counts must not be negative.")
}

// --- GetMetricStatistics -----------------------------------------------------------------------

/// AWS documents "either Statistics or ExtendedStatistics, but not both"; its exact message
/// for both is not published (Guardrail's wording).
pub(crate) const STATISTICS_AND_EXTENDED: &str =
    "Statistics and ExtendedStatistics cannot both be specified.";
pub(crate) const STATISTICS_OR_EXTENDED: &str =
    "Must specify either Statistics or ExtendedStatistics";
pub(crate) const PERIOD_BELOW_ONE_SECOND: &str = "The parameter Period must be at least 1 second.";

pub(crate) fn percentiles_only(value: &str, param: &str) -> String {
    format!(
        "The value {value} for parameter {param} is not supported: Guardrail \
         computes percentiles (pNN.NN) only."
    )
}

pub(crate) fn not_a_valid_extended_statistic(value: &str, param: &str) -> String {
    format!("The value {value} for parameter {param} is not a valid extended statistic.")
}

/// `requested` and `max` with thousands separators (`1,441`).
pub(crate) fn too_many_datapoints(requested: &str, max: &str) -> String {
    format!(
        "You have requested up to {requested} datapoints, which exceeds the limit of {max}. You may \
         reduce the datapoints requested by increasing Period, or decreasing the time \
         range."
    )
}

// --- GetMetricData -----------------------------------------------------------------------------

pub(crate) fn unsupported_stat(value: &str, p: &str) -> String {
    format!(
        "The value {value} for parameter {p}.MetricStat.Stat is not supported: \
         Guardrail computes SampleCount, Average, Sum, Minimum, Maximum and percentiles \
         (pNN.NN)."
    )
}

/// `periods` and `max` with thousands separators.
pub(crate) fn too_many_periods(p: &str, periods: &str, period_s: u32, max: &str) -> String {
    format!(
        "{p}.MetricStat spans {periods} periods of {period_s} s between StartTime and EndTime; at \
         most {max} are supported. Increase the Period or shorten the time range."
    )
}

pub(crate) fn invalid_query_id(id: &str, p: &str) -> String {
    format!(
        "The value {id} for parameter {p}.Id is invalid: an Id must start with a lowercase \
         letter and contain only letters, digits and underscores."
    )
}

pub(crate) fn stat_and_expression(p: &str) -> String {
    format!(
        "The parameters {p}.MetricStat and {p}.Expression are mutually exclusive and \
         you have specified both."
    )
}

pub(crate) fn stat_or_expression(p: &str) -> String {
    format!(
        "Exactly one of the parameters {p}.MetricStat and {p}.Expression must be \
         specified."
    )
}

pub(crate) fn unevaluable_expression(text: &str, p: &str, error: &dyn Display) -> String {
    format!("The expression {text:?} in {p}.Expression cannot be evaluated: {error}.")
}

/// `n` counts queries from 1.
pub(crate) fn expression_without_reference(text: &str, n: usize) -> String {
    format!(
        "The expression {text:?} in MetricDataQueries.member.{n}.Expression must refer \
         to at least one other query by its Id."
    )
}

/// `n` counts queries from 1.
pub(crate) fn duplicate_query_id(id: &str, n: usize) -> String {
    format!(
        "The value {id} for parameter MetricDataQueries.member.{n}.Id is invalid: Ids must \
         be unique within a request."
    )
}

/// `n` counts queries from 1.
pub(crate) fn unknown_reference(n: usize, reference: &str) -> String {
    format!(
        "The expression in MetricDataQueries.member.{n}.Expression refers to {reference}, \
         which is not the Id of another query in this request."
    )
}

pub(crate) fn reference_cycle(id: &str) -> String {
    format!("The expressions of MetricDataQueries refer to each other in a cycle through {id}.")
}

pub(crate) fn invalid_scan_by(value: &str) -> String {
    format!(
        "The value {value} for parameter ScanBy is invalid: valid values are \
         TimestampDescending and TimestampAscending."
    )
}

pub(crate) fn invalid_max_datapoints(value: &dyn Display) -> String {
    format!("The value {value} for parameter MaxDatapoints is invalid: it must be at least 1.")
}

pub(crate) fn unanswerable_query(error: &dyn Display) -> String {
    format!("The query cannot be answered: {error}.")
}

// --- ListMetrics -------------------------------------------------------------------------------

pub(crate) fn invalid_recently_active(value: &str) -> String {
    format!(
        "The value {value} for parameter RecentlyActive is invalid: the only valid \
         value is PT3H."
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The shared wordings, as clients see them (the handlers' tests pin the rest).
    #[test]
    fn shared_wordings_are_cloudwatch_s() {
        assert_eq!(
            invalid_value(&"NaN", "MetricData.member.1.Value"),
            "The value NaN for parameter MetricData.member.1.Value is invalid."
        );
        assert_eq!(
            unsupported_value(&"Median", "Statistic"),
            "The value Median for parameter Statistic is not supported."
        );
        assert_eq!(
            missing_parameter("Namespace"),
            "The parameter Namespace is required."
        );
        assert_eq!(
            collection_too_large("MetricData", 1000),
            "The collection MetricData must not have a size greater than 1000."
        );
        assert_eq!(
            invalid_period(&0, "Period"),
            "The value 0 for parameter Period is invalid: it must be a whole number of seconds, \
             at least 1."
        );
        assert_eq!(
            too_many_datapoints("1,441", "1,440"),
            "You have requested up to 1,441 datapoints, which exceeds the limit of 1,440. You \
             may reduce the datapoints requested by increasing Period, or decreasing the time \
             range."
        );
        assert_eq!(
            state_value_not_in_enum("BAD"),
            "1 validation error detected: Value 'BAD' at 'stateValue' failed to satisfy \
             constraint: Member must satisfy enum value set: [INSUFFICIENT_DATA, ALARM, OK]"
        );
        assert_eq!(
            rule_alarms_do_not_exist(&["a", "b"]),
            "Could not save the composite alarm as alarms [a, b] in the alarm rule do not exist"
        );
    }
}
