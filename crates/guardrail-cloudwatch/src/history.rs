//! DescribeAlarmHistory (docs/cloudwatch-api.md#describealarmhistory), read from the durable history table.

use guardrail_api::error::CloudWatchError;
use guardrail_api::generated::cloudwatch::{
    AlarmHistoryItem, DescribeAlarmHistoryInput, DescribeAlarmHistoryOutput,
};
use guardrail_api::wire::Timestamp as WireTime;
use guardrail_core::time::Timestamp;
use guardrail_monitor::AlarmHistoryQuery;

use super::alarms::monitor_error;
use super::{to_value, tokens, Reply};
use crate::{messages, CloudWatch};

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
                CloudWatchError::InvalidNextToken(messages::INVALID_HISTORY_NEXT_TOKEN.into())
            })
        })
        .transpose()?;
    // An item's type is its alarm's current kind (a deleted alarm's items read MetricAlarm).
    let composites: std::collections::HashSet<String> = service
        .monitor
        .alarms()
        .into_iter()
        .filter(|d| d.is_composite())
        .map(|d| d.name)
        .collect();
    let types = input.alarm_types.clone().unwrap_or_default();
    // CloudWatch: without AlarmTypes, only metric alarms' items are returned.
    let want = |composite: bool| {
        (types.is_empty() && !composite)
            || types.iter().any(|t| {
                t == if composite {
                    "CompositeAlarm"
                } else {
                    "MetricAlarm"
                }
            })
    };
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
        .filter(|r| want(composites.contains(&r.alarm_name)))
        .map(|r| AlarmHistoryItem {
            alarm_type: Some(
                if composites.contains(&r.alarm_name) {
                    "CompositeAlarm"
                } else {
                    "MetricAlarm"
                }
                .into(),
            ),
            alarm_name: Some(r.alarm_name),
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
