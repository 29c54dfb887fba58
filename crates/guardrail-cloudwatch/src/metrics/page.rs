//! GetMetricData's NextToken and output shape. `guardrail-metrics` selects the page (see
//! `guardrail_metrics::data::Page`); here its cursor becomes a NextToken, tied to its request
//! by a fingerprint, and its results become `MetricDataResults`.

use guardrail_api::error::CloudWatchError;
use guardrail_api::generated::cloudwatch::{GetMetricDataOutput, MetricDataResult};
use guardrail_metrics::data::{Cursor, Page};
use guardrail_metrics::{ScanBy, Timestamp};

use super::to_wire_ts;
use crate::tokens;

const TOKEN_KIND: &str = "metricdata";

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

fn encode_token(c: Cursor, fingerprint: u64) -> String {
    let after = c.after.map(|a| a.millis().to_string()).unwrap_or_default();
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
        return Err(tokens::invalid());
    };
    let result: usize = result.parse().map_err(|_| tokens::invalid())?;
    let after = if after.is_empty() {
        None
    } else {
        Some(Timestamp::from_millis(
            after.parse::<i64>().map_err(|_| tokens::invalid())?,
        ))
    };
    if fp != format!("{fingerprint:016x}") || result >= returned {
        return Err(tokens::invalid());
    }
    Ok(Cursor { result, after })
}

/// The wire form of a page.
pub(super) fn output(page: Page, fingerprint: u64) -> GetMetricDataOutput {
    let results = page
        .results
        .into_iter()
        .map(|r| MetricDataResult {
            id: Some(r.id),
            label: Some(r.label),
            timestamps: Some(r.points.iter().map(|(t, _)| to_wire_ts(*t)).collect()),
            values: Some(r.points.iter().map(|(_, v)| *v).collect()),
            status_code: Some(
                if r.complete {
                    "Complete"
                } else {
                    "PartialData"
                }
                .to_owned(),
            ),
            messages: Some(vec![]),
        })
        .collect();
    GetMetricDataOutput {
        metric_data_results: Some(results),
        next_token: page.next.map(|c| encode_token(c, fingerprint)),
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
            after: Some(Timestamp::from_millis(-5)),
        };
        let t = encode_token(c, 42);
        assert_eq!(decode_token(&t, 42, 3), Ok(c));
        assert_eq!(
            decode_token(&t, 43, 3),
            Err(tokens::invalid()),
            "other request"
        );
        assert_eq!(
            decode_token(&t, 42, 2),
            Err(tokens::invalid()),
            "out of range"
        );
        let t = encode_token(Cursor::default(), 7);
        assert_eq!(decode_token(&t, 7, 1), Ok(Cursor::default()));
        for bad in ["", "0|", "x||7", "0|1|7|9"] {
            let t = tokens::encode(TOKEN_KIND, bad);
            assert_eq!(decode_token(&t, 7, 1), Err(tokens::invalid()), "{bad}");
        }
    }

    #[test]
    fn the_token_text_is_unchanged() {
        let c = Cursor {
            result: 1,
            after: Some(Timestamp::from_millis(1_795_428_000_000)),
        };
        assert_eq!(
            encode_token(c, 0xabc),
            tokens::encode(TOKEN_KIND, "1|1795428000000|0000000000000abc")
        );
    }
}
