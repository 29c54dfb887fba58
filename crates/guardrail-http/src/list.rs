//! Sorting, filtering and pagination shared by the List operations. A token encodes the
//! query's fingerprint and the sort position of the last item returned, so items created
//! meanwhile cause no repeats and a token from another query is refused.

use std::cmp::Ordering;

use base64::Engine as _;
use guardrail_api::error::{messages, ApiError};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub(crate) enum SortVal {
    Num(i64),
    Str(String),
}

pub(crate) struct Item<T> {
    pub(crate) sort: SortVal,
    pub(crate) name_key: String,
    pub(crate) seq: i64,
    pub(crate) value: T,
}

#[derive(Serialize, Deserialize)]
struct Token {
    q: String,
    pos: (SortVal, String, i64),
}

pub(crate) struct Page<T> {
    pub(crate) items: Vec<T>,
    pub(crate) next_token: Option<String>,
}

/// Default and maximum page size (MaxResults 1–100, default 10).
pub(crate) fn page_size(max_results: Option<i64>) -> usize {
    max_results.map_or(10, |n| n.clamp(1, 100) as usize)
}

pub(crate) fn paginate<T>(
    mut items: Vec<Item<T>>,
    descending: bool,
    max: usize,
    token: Option<&str>,
    fingerprint: &str,
) -> Result<Page<T>, ApiError> {
    let key = |i: &Item<T>| (i.sort.clone(), i.name_key.clone(), i.seq);
    items.sort_by(|a, b| {
        let o = key(a).cmp(&key(b));
        if descending {
            o.reverse()
        } else {
            o
        }
    });
    let start = match token {
        None => 0,
        Some(t) => {
            let pos = decode(t, fingerprint)?;
            items
                .iter()
                .position(|i| {
                    let o = key(i).cmp(&pos);
                    if descending {
                        o == Ordering::Less
                    } else {
                        o == Ordering::Greater
                    }
                })
                .unwrap_or(items.len())
        }
    };
    let rest = items.len() - start;
    let mut page: Vec<Item<T>> = items.into_iter().skip(start).take(max).collect();
    let next_token = if rest > max {
        page.last().map(|last| encode(fingerprint, key(last)))
    } else {
        None
    };
    Ok(Page {
        items: page.drain(..).map(|i| i.value).collect(),
        next_token,
    })
}

fn encode(fingerprint: &str, pos: (SortVal, String, i64)) -> String {
    let json = serde_json::to_vec(&Token {
        q: fingerprint.to_string(),
        pos,
    })
    .unwrap_or_default();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json)
}

fn decode(token: &str, fingerprint: &str) -> Result<(SortVal, String, i64), ApiError> {
    let invalid = || ApiError::Validation(messages::INVALID_TOKEN.to_string());
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token)
        .map_err(|_| invalid())?;
    let t: Token = serde_json::from_slice(&bytes).map_err(|_| invalid())?;
    if t.q != fingerprint {
        return Err(invalid());
    }
    Ok(t.pos)
}

/// Case-insensitive substring match used by `NameContains`.
pub(crate) fn name_contains(name: &str, filter: Option<&str>) -> bool {
    filter.is_none_or(|f| name.to_ascii_lowercase().contains(&f.to_ascii_lowercase()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn items(n: i64) -> Vec<Item<i64>> {
        (0..n)
            .map(|i| Item {
                sort: SortVal::Num(i / 2),
                name_key: format!("n{i}"),
                seq: i,
                value: i,
            })
            .collect()
    }

    #[test]
    fn pages_cover_everything_once_in_both_orders() {
        for desc in [false, true] {
            let mut seen = Vec::new();
            let mut token = None;
            loop {
                let p = paginate(items(7), desc, 3, token.as_deref(), "q").unwrap();
                seen.extend(p.items);
                match p.next_token {
                    Some(t) => token = Some(t),
                    None => break,
                }
            }
            let mut expected: Vec<i64> = (0..7).collect();
            if desc {
                expected.reverse();
            }
            assert_eq!(seen, expected);
        }
    }

    #[test]
    fn token_of_another_query_is_invalid() {
        let p = paginate(items(5), false, 2, None, "a").unwrap();
        let err = paginate(items(5), false, 2, p.next_token.as_deref(), "b").err();
        assert_eq!(
            err,
            Some(ApiError::Validation("Invalid pagination token.".into()))
        );
        assert!(paginate(items(5), false, 2, Some("garbage!"), "a").is_err());
    }
}
