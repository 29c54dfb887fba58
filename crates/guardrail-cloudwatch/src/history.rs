//! DescribeAlarmHistory (cloudwatch-api.md §2.5), read from the durable history table.

use guardrail_api::error::CloudWatchError;
use guardrail_api::generated::cloudwatch::{
    AlarmHistoryItem, DescribeAlarmHistoryInput, DescribeAlarmHistoryOutput,
};
use guardrail_api::wire::Timestamp as WireTime;
use guardrail_core::time::Timestamp;
use guardrail_monitor::AlarmHistoryQuery;

use super::alarms::monitor_error;
use super::{to_value, tokens, Reply};
use crate::CloudWatch;

/// Page size when MaxRecords is absent (Guardrail's rule).
const DEFAULT_MAX_RECORDS: usize = 100;

pub(crate) async fn describe_alarm_history(
    service: &CloudWatch,
    input: DescribeAlarmHistoryInput,
) -> Reply {
    let limit = input
        .max_records
        .map_or(DEFAULT_MAX_RECORDS, |m| m.clamp(1, 100) as usize);
    let after_id = input
        .next_token
        .as_deref()
        .map(|t| {
            tokens::decode("history", t)?.parse::<i64>().map_err(|_| {
                CloudWatchError::InvalidNextToken("The NextToken is not valid.".into())
            })
        })
        .transpose()?;
    let metric_alarms = input
        .alarm_types
        .as_ref()
        .is_none_or(|t| t.is_empty() || t.iter().any(|t| t == "MetricAlarm"));
    if !metric_alarms {
        return to_value(&DescribeAlarmHistoryOutput {
            alarm_history_items: Some(Vec::new()),
            next_token: None,
        });
    }
    let q = AlarmHistoryQuery {
        alarm_name: input.alarm_name.clone(),
        item_type: input.history_item_type.clone(),
        start: input
            .start_date
            .map(|t| Timestamp::from_millis(t.as_millis())),
        end: input
            .end_date
            .map(|t| Timestamp::from_millis(t.as_millis())),
        ascending: input.scan_by.as_deref() == Some("TimestampAscending"),
        after_id,
        limit: limit + 1,
    };
    let mut rows = service
        .monitor
        .alarm_history(q)
        .await
        .map_err(monitor_error)?;
    let next_token = (rows.len() > limit).then(|| {
        rows.truncate(limit);
        tokens::encode("history", &rows[limit - 1].id.to_string())
    });
    let items = rows
        .into_iter()
        .map(|r| AlarmHistoryItem {
            alarm_name: Some(r.alarm_name),
            alarm_type: Some("MetricAlarm".into()),
            timestamp: Some(WireTime::from_millis(r.at.millis())),
            history_item_type: Some(r.item_type),
            history_summary: Some(r.summary),
            history_data: Some(r.data),
            ..Default::default()
        })
        .collect();
    to_value(&DescribeAlarmHistoryOutput {
        alarm_history_items: Some(items),
        next_token,
    })
}
