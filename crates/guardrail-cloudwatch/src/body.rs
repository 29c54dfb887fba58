//! Request bodies: size limits before buffering, and `Content-Encoding: gzip` (botocore
//! compresses PutMetricData bodies of 10 KiB or more). Guardrail's rule: ≤ 1 MiB as sent,
//! ≤ 10 MiB decompressed.

use std::io::Read;

use axum::body::Body;
use bytes::Bytes;
use guardrail_api::error::CloudWatchError;
use http::HeaderMap;

use crate::messages;

const MAX_BODY: usize = 1024 * 1024;
const MAX_DECOMPRESSED: usize = 10 * 1024 * 1024;

pub(crate) async fn read(body: Body, headers: &HeaderMap) -> Result<Bytes, CloudWatchError> {
    let raw = read_limited(body, headers, MAX_BODY)
        .await
        .map_err(|limit| CloudWatchError::InvalidParameterValue(messages::body_too_large(limit)))?;
    let encodings: Vec<String> = headers
        .get_all(http::header::CONTENT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|e| e.trim().to_ascii_lowercase())
        .filter(|e| !e.is_empty() && e != "identity")
        .collect();
    match encodings.as_slice() {
        [] => Ok(raw),
        [gzip] if gzip == "gzip" => gunzip(&raw),
        _ => Err(CloudWatchError::InvalidParameterValue(
            messages::unsupported_content_encoding(&encodings.join(", ")),
        )),
    }
}

fn gunzip(raw: &[u8]) -> Result<Bytes, CloudWatchError> {
    let mut out = Vec::new();
    let decoder = flate2::read::GzDecoder::new(raw);
    // One byte past the limit tells "too large" from "exactly the limit".
    decoder
        .take(MAX_DECOMPRESSED as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|e| CloudWatchError::InvalidParameterValue(messages::invalid_gzip(&e)))?;
    if out.len() > MAX_DECOMPRESSED {
        return Err(CloudWatchError::InvalidParameterValue(
            messages::decompressed_too_large(MAX_DECOMPRESSED),
        ));
    }
    Ok(Bytes::from(out))
}

/// Reads a body, refusing (by `Content-Length` first, then while streaming) anything larger
/// than `limit` bytes. `Err` carries the limit. (The HTTP front has the same rule for the
/// SageMaker bodies.)
async fn read_limited(body: Body, headers: &HeaderMap, limit: usize) -> Result<Bytes, usize> {
    let declared = headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        discard(body).await;
        return Err(limit);
    }
    axum::body::to_bytes(body, limit).await.map_err(|_| limit)
}

/// Reads and drops an oversized body (bounded in bytes and time) before the error is sent:
/// a client still writing its body would otherwise see the connection reset instead of the
/// answer (the "lingering close" web servers do).
async fn discard(body: Body) {
    use http_body_util::BodyExt;
    const MAX_DRAIN: usize = 16 * 1024 * 1024;
    let mut body = body;
    let mut drained = 0usize;
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(5);
    while drained < MAX_DRAIN {
        match tokio::time::timeout_at(deadline, body.frame()).await {
            Ok(Some(Ok(frame))) => {
                drained += frame.data_ref().map_or(0, |d| d.len());
            }
            _ => break,
        }
    }
}
