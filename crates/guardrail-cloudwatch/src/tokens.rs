//! NextToken for the CloudWatch list operations: an opaque, tagged position. A token from
//! another operation, or one that does not decode, is `InvalidNextToken`.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use guardrail_api::error::CloudWatchError;

use crate::messages;

/// `InvalidNextToken` with CloudWatch's message.
pub(crate) fn invalid() -> CloudWatchError {
    CloudWatchError::InvalidNextToken(messages::INVALID_NEXT_TOKEN.to_owned())
}

/// A token for `position` of a listing of `kind` (e.g. `alarms`).
pub(crate) fn encode(kind: &str, position: &str) -> String {
    URL_SAFE_NO_PAD.encode(format!("gr1|{kind}|{position}"))
}

/// The position in a token made by [`encode`] for the same `kind`.
pub(crate) fn decode(kind: &str, token: &str) -> Result<String, CloudWatchError> {
    let bytes = URL_SAFE_NO_PAD.decode(token).map_err(|_| invalid())?;
    let text = String::from_utf8(bytes).map_err(|_| invalid())?;
    let rest = text
        .strip_prefix("gr1|")
        .and_then(|r| r.strip_prefix(kind))
        .and_then(|r| r.strip_prefix('|'))
        .ok_or_else(invalid)?;
    Ok(rest.to_owned())
}
