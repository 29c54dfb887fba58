//! SigV4 verification of one buffered request: the header form (`Authorization:
//! AWS4-HMAC-SHA256 …` + `X-Amz-Date`) and the presigned query form (`X-Amz-Algorithm`, …,
//! `X-Amz-Expires`). The cryptography, canonicalisation, ±15 min skew rule and constant-time
//! comparison are `scratchstack-aws-signature`'s; this module only picks the service and the
//! server time for the request, checks presigned expiry, and maps the crate's errors to
//! [`AuthError`].

use std::borrow::Cow;
use std::sync::Arc;

use bytes::Bytes;
use chrono::{DateTime, NaiveDate, Utc};
use guardrail_api::error::AuthError;
use http::request::Parts;
use scratchstack_aws_signature::canonical::CanonicalRequest;
use scratchstack_aws_signature::{
    ConstSignedHeaderRequirements, GetSigningKeyRequest, GetSigningKeyResponse, SignatureError,
    SignatureOptions, SliceSignedHeaderRequirements,
};

use super::Credentials;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// `X-Amz-Target` picks the operation, so a signature that does not cover it could be replayed
/// against another one; every stock client signs it.
const REQUIRED_IF_PRESENT: &[Cow<'static, str>] = &[Cow::Borrowed("x-amz-target")];
const SIGNED_HEADER_RULES: ConstSignedHeaderRequirements =
    SliceSignedHeaderRequirements::new(&[], REQUIRED_IF_PRESENT, &[]);

/// AWS's clock-skew allowance.
const ALLOWED_SKEW_MIN: i64 = 15;

/// The longest `X-Amz-Expires` AWS accepts (7 days).
const MAX_PRESIGN_EXPIRES_S: i64 = 604_800;

/// What the request claims, read before verification (for the service choice, presigned
/// expiry and the logs). Every field is best effort: the verifier reports malformed input.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Presented {
    pub(crate) access_key_id: Option<String>,
    pub(crate) service: Option<String>,
    /// `Some` for the presigned query form.
    pub(crate) presign: Option<Presign>,
}

#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Presign {
    /// `X-Amz-Credential`, percent-decoded.
    pub(crate) credential: Option<String>,
    pub(crate) date: Option<DateTime<Utc>>,
    /// `None` when absent; `Some(Err)` when present but not 1..=604800 seconds.
    pub(crate) expires: Option<Result<i64, String>>,
}

impl Presented {
    pub(crate) fn read(parts: &Parts) -> Presented {
        if let Some(auth) = parts.headers.get(http::header::AUTHORIZATION) {
            let credential = auth.to_str().ok().and_then(header_credential);
            return Presented::from_credential(credential, None);
        }
        let query = parts.uri.query().unwrap_or("");
        let mut algorithm = None;
        let mut credential = None;
        let mut date = None;
        let mut expires = None;
        for (k, v) in form_urlencoded::parse(query.as_bytes()) {
            match k.as_ref() {
                "X-Amz-Algorithm" if algorithm.is_none() => algorithm = Some(v.into_owned()),
                "X-Amz-Credential" if credential.is_none() => credential = Some(v.into_owned()),
                "X-Amz-Date" if date.is_none() => date = Some(v.into_owned()),
                "X-Amz-Expires" if expires.is_none() => expires = Some(v.into_owned()),
                _ => {}
            }
        }
        if algorithm.is_none() {
            return Presented::default();
        }
        let presign = Presign {
            credential: credential.clone(),
            date: date.as_deref().and_then(parse_amz_date),
            expires: expires.map(|e| match e.parse::<i64>() {
                Ok(n) if (1..=MAX_PRESIGN_EXPIRES_S).contains(&n) => Ok(n),
                _ => Err(format!(
                    "X-Amz-Expires must be a whole number of seconds from 1 to {MAX_PRESIGN_EXPIRES_S}, got '{}'.",
                    e.chars().take(32).collect::<String>()
                )),
            }),
        };
        Presented::from_credential(credential, Some(presign))
    }

    fn from_credential(credential: Option<String>, presign: Option<Presign>) -> Presented {
        let mut scope = credential.as_deref().unwrap_or("").split('/');
        let access_key_id = scope.next().filter(|k| !k.is_empty()).map(loggable);
        let service = scope.nth(2).map(str::to_string);
        Presented {
            access_key_id,
            service,
            presign,
        }
    }
}

/// The `Credential=` value of an `Authorization: AWS4-HMAC-SHA256 …` header.
pub(crate) fn header_credential(header: &str) -> Option<String> {
    let rest = header.trim().strip_prefix("AWS4-HMAC-SHA256")?;
    rest.split(',')
        .filter_map(|p| p.trim().split_once('='))
        .find(|(k, _)| *k == "Credential")
        .map(|(_, v)| v.trim().to_string())
}

/// `YYYYMMDD'T'HHMMSS'Z'`.
pub(crate) fn parse_amz_date(s: &str) -> Option<DateTime<Utc>> {
    let b = s.as_bytes();
    if b.len() != 16 || b[8] != b'T' || b[15] != b'Z' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| s.get(r)?.parse::<u32>().ok();
    let date = NaiveDate::from_ymd_opt(num(0..4)? as i32, num(4..6)?, num(6..8)?)?;
    let time = date.and_hms_opt(num(9..11)?, num(11..13)?, num(13..15)?)?;
    Some(time.and_utc())
}

/// Access key ids are echoed in logs: keep them short and printable.
fn loggable(s: &str) -> String {
    s.chars()
        .take(128)
        .map(|c| if c.is_ascii_graphic() { c } else { '?' })
        .collect()
}

fn compact(t: DateTime<Utc>) -> String {
    t.format("%Y%m%dT%H%M%SZ").to_string()
}

/// Verifies one request (`presented` read from its parts) against the configured keys. `services` are the signing names the
/// addressed API answers to (the first is the one named in errors). On success, returns the
/// request parts and body unchanged, for the handler.
pub(crate) async fn verify(
    credentials: &Arc<Credentials>,
    region: &str,
    services: &[&'static str],
    presented: &Presented,
    parts: Parts,
    body: Bytes,
    now: DateTime<Utc>,
) -> Result<(Parts, Bytes), AuthError> {
    let service = match presented.service.as_deref() {
        Some(s) => match services.iter().find(|known| **known == s) {
            Some(known) => *known,
            None => {
                return Err(AuthError::WrongService(format!(
                    "Credential should be scoped to correct service: '{}'.",
                    services[0]
                )))
            }
        },
        None => services[0],
    };
    let server_time = match &presented.presign {
        Some(p) => presign_server_time(p, now)?,
        None => now,
    };
    let keys = credentials.clone();
    let mut signing_keys = tower::service_fn(move |req: GetSigningKeyRequest| {
        let keys = keys.clone();
        async move {
            let Some(secret) = keys.secret(req.access_key()) else {
                return Err(Box::new(SignatureError::InvalidClientTokenId(
                    AuthError::UnknownKey.message(),
                )) as BoxError);
            };
            let key = secret.to_ksigning(req.request_date(), req.region(), req.service());
            GetSigningKeyResponse::builder()
                .signing_key(key)
                .build()
                .map_err(|e| Box::new(e) as BoxError)
        }
    });
    // `sigv4_validate_request`'s steps, with one fix: 0.11.4 keeps a presigned
    // `X-Amz-Credential` percent-encoded (`AKID%2F20240101%2F…`), so its scope never splits;
    // the decoded value (as every signer meant it) replaces it before the checks.
    let run = async {
        let (canonical, parts, body) =
            CanonicalRequest::from_request_parts(parts, body, SignatureOptions::default())?;
        let mut params = canonical.get_auth_parameters(&SIGNED_HEADER_RULES)?;
        if let Some(credential) = presented
            .presign
            .as_ref()
            .and_then(|p| p.credential.clone())
        {
            params.builder.credential(credential);
        }
        let authenticator = canonical.get_authenticator_from_auth_parameters(params)?;
        authenticator
            .validate_signature(
                region,
                service,
                server_time,
                chrono::Duration::minutes(ALLOWED_SKEW_MIN),
                &mut signing_keys,
            )
            .await?;
        Ok::<_, SignatureError>((parts, body))
    };
    run.await.map_err(to_auth_error)
}

/// The server time to check a presigned request's date against: a presigned URL stays valid
/// for `X-Amz-Expires` seconds after its date (AWS allows up to 7 days), so within that window
/// the skew rule is applied to the date itself; past it the request is expired. A date in the
/// future, or no `X-Amz-Expires`, keeps the ±15 min rule.
fn presign_server_time(p: &Presign, now: DateTime<Utc>) -> Result<DateTime<Utc>, AuthError> {
    let expires = match &p.expires {
        None => return Ok(now),
        Some(Err(message)) => return Err(AuthError::Incomplete(message.clone())),
        Some(Ok(n)) => *n,
    };
    let Some(date) = p.date else {
        return Ok(now); // the verifier reports the missing or malformed date
    };
    if date > now {
        return Ok(now);
    }
    let until = date + chrono::Duration::seconds(expires);
    if now > until {
        return Err(AuthError::BadSignature(format!(
            "Signature expired: {} is now earlier than {} ({} - {expires} s X-Amz-Expires.)",
            compact(date),
            compact(now - chrono::Duration::seconds(expires)),
            compact(now),
        )));
    }
    Ok(date)
}

/// The crate's error kinds onto Guardrail's table.
pub(crate) fn to_auth_error(e: SignatureError) -> AuthError {
    match e {
        SignatureError::MissingAuthenticationToken(_) => AuthError::Missing,
        SignatureError::InvalidClientTokenId(_) => AuthError::UnknownKey,
        SignatureError::SignatureDoesNotMatch(m) => AuthError::BadSignature(
            m.filter(|m| !m.is_empty())
                .unwrap_or_else(|| AuthError::SIGNATURE_MISMATCH.to_string()),
        ),
        SignatureError::ExpiredToken(m) => AuthError::BadSignature(m),
        SignatureError::IncompleteSignature(m)
        | SignatureError::MalformedQueryString(m)
        | SignatureError::InvalidURIPath(m)
        | SignatureError::InvalidBodyEncoding(m)
        | SignatureError::InvalidContentType(m)
        | SignatureError::InvalidRequestMethod(m) => AuthError::Incomplete(m),
        other => {
            tracing::error!(error = %other, "signature verification failed internally");
            AuthError::BadSignature(AuthError::SIGNATURE_MISMATCH.to_string())
        }
    }
}
