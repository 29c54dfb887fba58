//! GetMetricData paging: results of the queries with `ReturnData` are laid end to end in
//! request order, each in `ScanBy` order. A page takes up to MaxDatapoints points from that
//! sequence; a query cut short is `PartialData` and the NextToken names it and the last
//! timestamp returned, so the next page continues after that timestamp (new data arriving
//! between pages does not shift the rest). A token is tied to its request by a fingerprint.

use guardrail_api::error::CloudWatchError;
use guardrail_api::generated::cloudwatch::{GetMetricDataOutput, MetricDataResult};
use guardrail_metrics::{ScanBy, Timestamp};

use super::to_wire_ts;
use crate::cloudwatch::tokens;

const TOKEN_KIND: &str = "metricdata";

/// Where a page starts: the index among the returned queries, and the last timestamp (ms)
/// of that query already returned.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub(super) struct Cursor {
    pub(super) result: usize,
    pub(super) after: Option<i64>,
}

/// One returned query: its points ascending by time.
pub(super) struct Item<'a> {
    pub(super) id: &'a str,
    pub(super) label: &'a str,
    pub(super) points: &'a [(i64, f64)],
}

/// FNV-1a over what a token must agree with: the returned ids, the time range, the order.
pub(super) fn fingerprint<'a>(
    returned_ids: impl Iterator<Item = &'a str>,
    start: Timestamp,
    end: Timestamp,
    scan_by: ScanBy,
) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut feed = |bytes: &[u8]| {
        for b in bytes {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    };
    for id in returned_ids {
        feed(id.as_bytes());
        feed(b",");
    }
    feed(&start.millis().to_le_bytes());
    feed(&end.millis().to_le_bytes());
    feed(&[u8::from(scan_by == ScanBy::TimestampAscending)]);
    h
}

pub(super) fn encode_token(c: Cursor, fingerprint: u64) -> String {
    let after = c.after.map(|a| a.to_string()).unwrap_or_default();
    tokens::encode(
        TOKEN_KIND,
        &format!("{}|{after}|{fingerprint:016x}", c.result),
    )
}

/// The cursor in a token issued for a request with this fingerprint and number of returned
/// queries.
pub(super) fn decode_token(
    token: &str,
    fingerprint: u64,
    returned: usize,
) -> Result<Cursor, CloudWatchError> {
    let pos = tokens::decode(TOKEN_KIND, token)?;
    let mut parts = pos.split('|');
    let (Some(result), Some(after), Some(fp), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(crate::cloudwatch::tokens::invalid());
    };
    let result: usize = result
        .parse()
        .map_err(|_| crate::cloudwatch::tokens::invalid())?;
    let after = if after.is_empty() {
        None
    } else {
        Some(
            after
                .parse::<i64>()
                .map_err(|_| crate::cloudwatch::tokens::invalid())?,
        )
    };
    if fp != format!("{fingerprint:016x}") || result >= returned {
        return Err(crate::cloudwatch::tokens::invalid());
    }
    Ok(Cursor { result, after })
}

fn result(item: &Item<'_>, points: &[(i64, f64)], complete: bool) -> MetricDataResult {
    MetricDataResult {
        id: Some(item.id.to_owned()),
        label: Some(item.label.to_owned()),
        timestamps: Some(
            points
                .iter()
                .map(|(t, _)| to_wire_ts(Timestamp::from_millis(*t)))
                .collect(),
        ),
        values: Some(points.iter().map(|(_, v)| *v).collect()),
        status_code: Some(if complete { "Complete" } else { "PartialData" }.to_owned()),
        messages: Some(vec![]),
    }
}

/// The page starting at `cursor` with at most `max_datapoints` points.
pub(super) fn page(
    items: &[Item<'_>],
    cursor: Cursor,
    scan_by: ScanBy,
    max_datapoints: usize,
    fingerprint: u64,
) -> GetMetricDataOutput {
    let descending = scan_by == ScanBy::TimestampDescending;
    let mut budget = max_datapoints;
    let mut results = Vec::new();
    let mut next = None;
    let mut cursor = cursor;
    while let Some(item) = items.get(cursor.result) {
        let mut points: Vec<(i64, f64)> = item.points.to_vec();
        if descending {
            points.reverse();
        }
        if let Some(after) = cursor.after {
            points.retain(|(t, _)| if descending { *t < after } else { *t > after });
        }
        if !points.is_empty() && budget == 0 {
            next = Some(cursor);
            break;
        }
        let take = points.len().min(budget);
        budget -= take;
        if take < points.len() {
            results.push(result(item, &points[..take], false));
            next = Some(Cursor {
                result: cursor.result,
                after: Some(points[take - 1].0),
            });
            break;
        }
        results.push(result(item, &points, true));
        cursor = Cursor {
            result: cursor.result + 1,
            after: None,
        };
    }
    GetMetricDataOutput {
        metric_data_results: Some(results),
        next_token: next.map(|c| encode_token(c, fingerprint)),
        messages: Some(vec![]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_are_checked() {
        let c = Cursor {
            result: 2,
            after: Some(-5),
        };
        let t = encode_token(c, 42);
        assert_eq!(decode_token(&t, 42, 3), Ok(c));
        assert_eq!(
            decode_token(&t, 43, 3),
            Err(crate::cloudwatch::tokens::invalid()),
            "other request"
        );
        assert_eq!(
            decode_token(&t, 42, 2),
            Err(crate::cloudwatch::tokens::invalid()),
            "out of range"
        );
        let t = encode_token(Cursor::default(), 7);
        assert_eq!(decode_token(&t, 7, 1), Ok(Cursor::default()));
        for bad in ["", "0|", "x||7", "0|1|7|9"] {
            let t = tokens::encode(TOKEN_KIND, bad);
            assert_eq!(
                decode_token(&t, 7, 1),
                Err(crate::cloudwatch::tokens::invalid()),
                "{bad}"
            );
        }
    }

    #[test]
    fn ascending_page_continues_after_the_last_timestamp() {
        let a = [(1, 1.0), (2, 2.0), (3, 3.0)];
        let items = [Item {
            id: "a",
            label: "A",
            points: &a,
        }];
        let out = page(&items, Cursor::default(), ScanBy::TimestampAscending, 2, 1);
        let r = &out.metric_data_results.unwrap()[0];
        assert_eq!(r.values.as_deref(), Some(&[1.0, 2.0][..]));
        assert_eq!(r.status_code.as_deref(), Some("PartialData"));
        let c = decode_token(&out.next_token.unwrap(), 1, 1).unwrap();
        assert_eq!(
            c,
            Cursor {
                result: 0,
                after: Some(2)
            }
        );
        let out = page(&items, c, ScanBy::TimestampAscending, 2, 1);
        let r = &out.metric_data_results.unwrap()[0];
        assert_eq!(r.values.as_deref(), Some(&[3.0][..]));
        assert_eq!(r.status_code.as_deref(), Some("Complete"));
        assert_eq!(out.next_token, None);
    }
}
