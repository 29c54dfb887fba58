//! GetMetricData's pages: the series of the queries with `return_data` are laid end to end in
//! query order, each in `ScanBy` order. A page takes up to a budget of points from that
//! sequence; a query cut short is incomplete and the [`Cursor`] names it and the last
//! timestamp returned, so the next page continues after that timestamp (new data arriving
//! between pages does not shift the rest).

use super::Plan;
use crate::math::Series;
use crate::query::ScanBy;
use crate::Timestamp;

/// Where a page starts: the index among the returned queries, and the last timestamp of that
/// query already returned.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct Cursor {
    pub result: usize,
    pub after: Option<Timestamp>,
}

/// One returned query's part of a page.
#[derive(Clone, Debug, PartialEq)]
pub struct QueryResult {
    pub id: String,
    pub label: String,
    /// In the page's `ScanBy` order.
    pub points: Series,
    /// `false`: more points of this query follow on the next page (`PartialData`).
    pub complete: bool,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Page {
    pub results: Vec<QueryResult>,
    /// Where the next page starts; `None` on the last page.
    pub next: Option<Cursor>,
}

/// One returned query: its points ascending by time.
struct Item<'a> {
    id: &'a str,
    label: &'a str,
    points: &'a [(Timestamp, f64)],
}

impl Plan {
    /// The page of `series` (as [`Plan::evaluate`] returns them) starting at `cursor`, with
    /// at most `max_datapoints` (≥ 1) points.
    pub fn page(
        &self,
        series: &[Series],
        cursor: Cursor,
        scan_by: ScanBy,
        max_datapoints: usize,
    ) -> Page {
        let items: Vec<Item<'_>> = self
            .queries
            .iter()
            .zip(series)
            .filter(|(q, _)| q.return_data)
            .map(|(q, s)| Item {
                id: &q.id,
                label: &q.label,
                points: s,
            })
            .collect();
        select(&items, cursor, scan_by, max_datapoints)
    }
}

fn result(item: &Item<'_>, points: &[(Timestamp, f64)], complete: bool) -> QueryResult {
    QueryResult {
        id: item.id.to_owned(),
        label: item.label.to_owned(),
        points: points.to_vec(),
        complete,
    }
}

fn select(items: &[Item<'_>], cursor: Cursor, scan_by: ScanBy, max_datapoints: usize) -> Page {
    let descending = scan_by == ScanBy::TimestampDescending;
    let mut budget = max_datapoints;
    let mut results = Vec::new();
    let mut next = None;
    let mut cursor = cursor;
    while let Some(item) = items.get(cursor.result) {
        let mut points: Vec<(Timestamp, f64)> = item.points.to_vec();
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
    Page { results, next }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(ms: i64) -> Timestamp {
        Timestamp::from_millis(ms)
    }

    #[test]
    fn ascending_page_continues_after_the_last_timestamp() {
        let a = [(t(1), 1.0), (t(2), 2.0), (t(3), 3.0)];
        let items = [Item {
            id: "a",
            label: "A",
            points: &a,
        }];
        let out = select(&items, Cursor::default(), ScanBy::TimestampAscending, 2);
        let r = &out.results[0];
        assert_eq!(r.points, a[..2]);
        assert!(!r.complete);
        let c = out.next.unwrap();
        assert_eq!(
            c,
            Cursor {
                result: 0,
                after: Some(t(2))
            }
        );
        let out = select(&items, c, ScanBy::TimestampAscending, 2);
        let r = &out.results[0];
        assert_eq!(r.points, a[2..]);
        assert!(r.complete);
        assert_eq!(out.next, None);
    }

    #[test]
    fn descending_pages_span_queries_and_list_empty_ones() {
        let a = [(t(1), 1.0), (t(2), 2.0)];
        let b = [(t(5), 5.0)];
        let items = [
            Item {
                id: "a",
                label: "A",
                points: &a,
            },
            Item {
                id: "e",
                label: "E",
                points: &[],
            },
            Item {
                id: "b",
                label: "B",
                points: &b,
            },
        ];
        let out = select(&items, Cursor::default(), ScanBy::TimestampDescending, 2);
        assert_eq!(out.results.len(), 2, "a complete, the empty e complete");
        assert_eq!(out.results[0].points, [(t(2), 2.0), (t(1), 1.0)]);
        assert!(out.results[1].complete && out.results[1].points.is_empty());
        let c = out.next.expect("b is still to come");
        assert_eq!(
            c,
            Cursor {
                result: 2,
                after: None
            }
        );
        let out = select(&items, c, ScanBy::TimestampDescending, 2);
        assert_eq!(out.results.len(), 1);
        assert_eq!(out.results[0].id, "b");
        assert_eq!(out.next, None);
    }
}
