//! AddTags, ListTags, DeleteTags on models, endpoint configs and endpoints.

use base64::Engine as _;
use guardrail_api::error::messages;
use guardrail_api::generated::sagemaker::{
    AddTagsInput, AddTagsOutput, DeleteTagsInput, ListTagsInput, ListTagsOutput, Tag as WireTag,
};
use guardrail_core::names::ResourceKind;
use guardrail_store::{Tag, Tx};

use super::{invalid, Fail, Reply};
use crate::awsjson::to_value;
use crate::AppState;

/// Most tags one resource may carry.
const MAX_TAGS: usize = 50;

/// The canonical ARN of an existing resource named by `arn` (matched case-insensitively).
fn resolve(
    tx: &Tx<'_>,
    state_arns: &guardrail_core::names::Arns,
    arn: &str,
) -> Result<String, Fail> {
    let not_found = || invalid(messages::resource_not_found(arn));
    let (kind, key) = state_arns.parse(arn).ok_or_else(not_found)?;
    let found = match kind {
        ResourceKind::Endpoint => tx.get_endpoint(&key)?.map(|r| r.arn),
        k => tx.get_resource(k, &key)?.map(|r| r.arn),
    };
    found.ok_or_else(|| {
        let what = match kind {
            ResourceKind::Model => "model",
            ResourceKind::EndpointConfig => "endpoint configuration",
            ResourceKind::Endpoint => "endpoint",
        };
        invalid(messages::not_found(what, &state_arns.arn(kind, &key)))
    })
}

/// Tags as sent (botocore requires Key and Value; validation has checked them).
pub(crate) fn from_wire(tags: Option<Vec<WireTag>>) -> Vec<Tag> {
    tags.unwrap_or_default()
        .into_iter()
        .map(|t| Tag {
            key: t.key.unwrap_or_default(),
            value: t.value.unwrap_or_default(),
        })
        .collect()
}

fn to_wire(tags: Vec<Tag>) -> Vec<WireTag> {
    tags.into_iter()
        .map(|t| WireTag {
            key: Some(t.key),
            value: Some(t.value),
        })
        .collect()
}

pub(crate) async fn add(state: &AppState, input: AddTagsInput) -> Reply {
    let arn = input.resource_arn.unwrap_or_default();
    let tags = from_wire(input.tags);
    let arns = state.arns.clone();
    let added = tags.clone();
    state
        .store
        .write(move |tx| {
            let canonical = resolve(tx, &arns, &arn)?;
            let existing = tx.tags(&canonical)?;
            let new_keys = tags
                .iter()
                .filter(|t| !existing.iter().any(|e| e.key == t.key))
                .count();
            if existing.len() + new_keys > MAX_TAGS {
                return Err(invalid(messages::too_many_tags(
                    MAX_TAGS,
                    &canonical,
                    existing.len(),
                    new_keys,
                )));
            }
            tx.add_tags(&canonical, &tags)?;
            Ok(())
        })
        .await?;
    to_value(&AddTagsOutput {
        tags: Some(to_wire(added)),
    })
    .map_err(Fail)
}

pub(crate) async fn list(state: &AppState, input: ListTagsInput) -> Reply {
    let arn = input.resource_arn.unwrap_or_default();
    let arns = state.arns.clone();
    let tags = state
        .store
        .read(move |tx| {
            let canonical = resolve(tx, &arns, &arn)?;
            Ok::<_, Fail>(tx.tags(&canonical)?)
        })
        .await?;
    // The token is the offset of the next tag: tag lists are short and ordered by insertion.
    let start = match input.next_token.as_deref() {
        None => 0,
        Some(t) => base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(t)
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .and_then(|s| {
                s.strip_prefix("tags:")
                    .and_then(|n| n.parse::<usize>().ok())
            })
            .filter(|n| *n <= tags.len())
            .ok_or_else(|| invalid(messages::INVALID_TOKEN))?,
    };
    let max = input.max_results.map_or(50, |n| n.max(1) as usize);
    let end = (start + max).min(tags.len());
    let next_token = (end < tags.len())
        .then(|| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("tags:{end}")));
    to_value(&ListTagsOutput {
        tags: Some(to_wire(tags[start..end].to_vec())),
        next_token,
    })
    .map_err(Fail)
}

pub(crate) async fn delete(state: &AppState, input: DeleteTagsInput) -> Reply {
    let arn = input.resource_arn.unwrap_or_default();
    let keys = input.tag_keys.unwrap_or_default();
    let arns = state.arns.clone();
    state
        .store
        .write(move |tx| {
            let canonical = resolve(tx, &arns, &arn)?;
            tx.delete_tags(&canonical, &keys)?;
            Ok(serde_json::json!({}))
        })
        .await
}
