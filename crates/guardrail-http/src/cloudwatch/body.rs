//! Request bodies: size limits before buffering, and `Content-Encoding: gzip` (botocore
//! compresses PutMetricData bodies of 10 KiB or more). Guardrail's rule: ≤ 1 MiB as sent,
//! ≤ 10 MiB decompressed.

use std::io::Read;

use bytes::Bytes;
use guardrail_api::error::CloudWatchError;
use http::HeaderMap;

pub(crate) const MAX_BODY: usize = 1024 * 1024;
pub(crate) const MAX_DECOMPRESSED: usize = 10 * 1024 * 1024;

pub(crate) async fn read(
    body: axum::body::Body,
    headers: &HeaderMap,
) -> Result<Bytes, CloudWatchError> {
    let raw = crate::read_limited(body, headers, MAX_BODY)
        .await
        .map_err(|limit| {
            CloudWatchError::InvalidParameterValue(format!(
                "The request body exceeds the {limit}-byte limit (compress PutMetricData with gzip, or send fewer datums per request)."
            ))
        })?;
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
        _ => Err(CloudWatchError::InvalidParameterValue(format!(
            "Content-Encoding {} is not supported; use gzip.",
            encodings.join(", ")
        ))),
    }
}

fn gunzip(raw: &[u8]) -> Result<Bytes, CloudWatchError> {
    let mut out = Vec::new();
    let decoder = flate2::read::GzDecoder::new(raw);
    // One byte past the limit tells "too large" from "exactly the limit".
    decoder
        .take(MAX_DECOMPRESSED as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|e| {
            CloudWatchError::InvalidParameterValue(format!(
                "The request body is not valid gzip: {e}"
            ))
        })?;
    if out.len() > MAX_DECOMPRESSED {
        return Err(CloudWatchError::InvalidParameterValue(format!(
            "The decompressed request body exceeds {MAX_DECOMPRESSED} bytes."
        )));
    }
    Ok(Bytes::from(out))
}
