//! SigV4 verification of one buffered request: the header form (`Authorization:
//! AWS4-HMAC-SHA256 …` + `X-Amz-Date`) and the presigned query form (`X-Amz-Algorithm`, …,
//! `X-Amz-Expires`). Canonicalisation, the string to sign, the ±15 min skew rule and the
//! credential-scope checks are `scratchstack-aws-signature`'s; this module picks the service
//! and the server time for the request, checks presigned expiry, looks the key up, checks
//! the session token, derives the signing key and compares the signature (constant time), and
//! maps the crate's errors to [`AuthError`].
//!
//! The signing key is derived here (HMAC-SHA256 over `"AWS4" + secret`, then the date, region,
//! service and `aws4_request`) because 0.11.4's `KSecretKey` holds exactly 40 characters (and
//! `KSigningKey` cannot be built from bytes): self-hosted secrets have any length.

use std::borrow::Cow;
use std::fmt::Write as _;

use bytes::Bytes;
use chrono::{DateTime, NaiveDate, Utc};
use guardrail_api::error::AuthError;
use hmac::{Hmac, Mac};
use http::request::Parts;
use scratchstack_aws_signature::canonical::CanonicalRequest;
use scratchstack_aws_signature::{
    ConstSignedHeaderRequirements, SignatureError, SignatureOptions, SliceSignedHeaderRequirements,
};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use super::{Credentials, Key, Secret};

/// `X-Amz-Target` picks the operation, so a signature that does not cover it could be replayed
/// against another one; every stock client signs it.
const REQUIRED_IF_PRESENT: &[Cow<'static, str>] = &[Cow::Borrowed("x-amz-target")];
const SIGNED_HEADER_RULES: ConstSignedHeaderRequirements =
    SliceSignedHeaderRequirements::new(&[], REQUIRED_IF_PRESENT, &[]);

/// AWS's clock-skew allowance.
const ALLOWED_SKEW_MIN: i64 = 15;

/// The longest `X-Amz-Expires` AWS accepts (7 days).
const MAX_PRESIGN_EXPIRES_S: i64 = 604_800;

/// The session-token header and (presigned) query parameter.
const SECURITY_TOKEN_HEADER: &str = "x-amz-security-token";
const SECURITY_TOKEN_PARAM: &str = "X-Amz-Security-Token";

/// What the request claims, read before verification (for the service choice, presigned
/// expiry and the logs). Every field is best effort: the verifier reports malformed input.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Presented {
    pub(crate) access_key_id: Option<String>,
    pub(crate) service: Option<String>,
    /// `Some` for the presigned query form.
    pub(crate) presign: Option<Presign>,
    /// `X-Amz-Security-Token`: the header in the header form, the query parameter (decoded)
    /// in the presigned form.
    pub(crate) token: PresentedToken,
}

/// The session token a request carries. `Debug` never shows it.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) enum PresentedToken {
    #[default]
    Absent,
    One(Secret),
    /// Given more than once: ambiguous, refused.
    Several,
}

impl PresentedToken {
    fn of<'a>(mut values: impl Iterator<Item = &'a [u8]>) -> PresentedToken {
        match (values.next(), values.next()) {
            (None, _) => PresentedToken::Absent,
            (Some(v), None) => PresentedToken::One(Secret::new(v)),
            (Some(_), Some(_)) => PresentedToken::Several,
        }
    }
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
            let token = PresentedToken::of(
                parts
                    .headers
                    .get_all(SECURITY_TOKEN_HEADER)
                    .iter()
                    .map(|v| v.as_bytes()),
            );
            return Presented::from_credential(credential, None, token);
        }
        let query = parts.uri.query().unwrap_or("");
        let mut algorithm = None;
        let mut credential = None;
        let mut date = None;
        let mut expires = None;
        let mut tokens = Vec::new();
        for (k, v) in form_urlencoded::parse(query.as_bytes()) {
            match k.as_ref() {
                "X-Amz-Algorithm" if algorithm.is_none() => algorithm = Some(v.into_owned()),
                "X-Amz-Credential" if credential.is_none() => credential = Some(v.into_owned()),
                "X-Amz-Date" if date.is_none() => date = Some(v.into_owned()),
                "X-Amz-Expires" if expires.is_none() => expires = Some(v.into_owned()),
                SECURITY_TOKEN_PARAM => tokens.push(v),
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
        let token = PresentedToken::of(tokens.iter().map(|t| t.as_bytes()));
        Presented::from_credential(credential, Some(presign), token)
    }

    fn from_credential(
        credential: Option<String>,
        presign: Option<Presign>,
        token: PresentedToken,
    ) -> Presented {
        let mut scope = credential.as_deref().unwrap_or("").split('/');
        let access_key_id = scope.next().filter(|k| !k.is_empty()).map(loggable);
        let service = scope.nth(2).map(str::to_string);
        Presented {
            access_key_id,
            service,
            presign,
            token,
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

/// Why a request is refused: the error the client gets, kept apart from token refusals so the
/// log says which check failed (the client sees AWS's one "invalid token" error for those).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Refusal {
    Auth(AuthError),
    Token(TokenRefusal),
}

/// What is wrong with a request's `X-Amz-Security-Token` (never the token itself).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TokenRefusal {
    /// The key has a session token; the request carries none.
    Missing,
    /// The request's token is not the key's.
    Wrong,
    /// The key has no session token; the request carries one.
    Unexpected,
    /// The token is given more than once.
    Repeated,
}

impl Refusal {
    /// The error sent: AWS answers every bad session token as it does an unknown key
    /// (`UnrecognizedClientException` / CloudWatch's `InvalidClientTokenId`, "The security token
    /// included in the request is invalid.").
    pub(crate) fn error(&self) -> AuthError {
        match self {
            Refusal::Auth(e) => e.clone(),
            Refusal::Token(_) => AuthError::UnknownKey,
        }
    }

    /// The reason as logged: the verifier's messages about a malformed header quote the whole
    /// `Authorization` header, which is never logged.
    pub(crate) fn log_reason(&self) -> String {
        match self {
            Refusal::Auth(AuthError::Incomplete(_)) => {
                "malformed Authorization header or presigned query".into()
            }
            Refusal::Auth(e) => e.message(),
            Refusal::Token(TokenRefusal::Missing) => {
                "the key has a session token; the request carries no X-Amz-Security-Token".into()
            }
            Refusal::Token(TokenRefusal::Wrong) => {
                "X-Amz-Security-Token is not the key's session token".into()
            }
            Refusal::Token(TokenRefusal::Unexpected) => {
                "X-Amz-Security-Token sent with a key that has no session token".into()
            }
            Refusal::Token(TokenRefusal::Repeated) => {
                "X-Amz-Security-Token given more than once".into()
            }
        }
    }
}

impl From<AuthError> for Refusal {
    fn from(e: AuthError) -> Refusal {
        Refusal::Auth(e)
    }
}

impl From<SignatureError> for Refusal {
    fn from(e: SignatureError) -> Refusal {
        Refusal::Auth(to_auth_error(e))
    }
}

impl From<TokenRefusal> for Refusal {
    fn from(t: TokenRefusal) -> Refusal {
        Refusal::Token(t)
    }
}

/// Verifies one request (`presented` read from its parts) against the configured keys.
/// `services` are the signing names the addressed API answers to (the first is the one named in
/// errors). On success, returns the request parts and body unchanged, for the handler.
///
/// The order is the crate's (`validate_signature`), i.e. AWS's: malformed input, then date and
/// credential scope, then the key (and its session token), then the signature.
pub(crate) fn verify(
    credentials: &Credentials,
    region: &str,
    services: &[&'static str],
    presented: &Presented,
    parts: Parts,
    body: Bytes,
    now: DateTime<Utc>,
) -> Result<(Parts, Bytes), Refusal> {
    let service = match presented.service.as_deref() {
        Some(s) => match services.iter().find(|known| **known == s) {
            Some(known) => *known,
            None => {
                return Err(AuthError::WrongService(format!(
                    "Credential should be scoped to correct service: '{}'.",
                    services[0]
                ))
                .into())
            }
        },
        None => services[0],
    };
    let server_time = match &presented.presign {
        Some(p) => presign_server_time(p, now)?,
        None => now,
    };
    let (canonical, parts, body) =
        CanonicalRequest::from_request_parts(parts, body, SignatureOptions::default())?;
    let mut params = canonical.get_auth_parameters(&SIGNED_HEADER_RULES)?;
    // 0.11.4 keeps a presigned `X-Amz-Credential` percent-encoded (`AKID%2F20240101%2F…`), so
    // its scope never splits; the decoded value (as every signer meant it) replaces it.
    if let Some(credential) = presented
        .presign
        .as_ref()
        .and_then(|p| p.credential.clone())
    {
        params.builder.credential(credential);
    }
    let authenticator = canonical.get_authenticator_from_auth_parameters(params)?;
    authenticator.prevalidate(
        region,
        service,
        server_time,
        chrono::Duration::minutes(ALLOWED_SKEW_MIN),
    )?;
    let access_key = authenticator.credential().split('/').next().unwrap_or("");
    let Some(key) = credentials.key(access_key) else {
        return Err(AuthError::UnknownKey.into());
    };
    check_token(key, &presented.token)?;
    let signing_key = signing_key(
        key.prefixed_secret.expose(),
        authenticator.request_timestamp().date_naive(),
        region,
        service,
    );
    let expected = hex(&hmac_sha256(
        &signing_key,
        &authenticator.get_string_to_sign(),
    ));
    if !bool::from(
        authenticator
            .signature()
            .as_bytes()
            .ct_eq(expected.as_bytes()),
    ) {
        return Err(AuthError::BadSignature(AuthError::SIGNATURE_MISMATCH.to_string()).into());
    }
    Ok((parts, body))
}

/// A key with a session token takes only requests that carry exactly that token; a key without
/// one takes no token at all (constant-time compare).
pub(crate) fn check_token(key: &Key, presented: &PresentedToken) -> Result<(), TokenRefusal> {
    match (&key.session_token, presented) {
        (None, PresentedToken::Absent) => Ok(()),
        (None, _) => Err(TokenRefusal::Unexpected),
        (Some(_), PresentedToken::Absent) => Err(TokenRefusal::Missing),
        (Some(_), PresentedToken::Several) => Err(TokenRefusal::Repeated),
        (Some(want), PresentedToken::One(got)) if want.ct_eq(got) => Ok(()),
        (Some(_), PresentedToken::One(_)) => Err(TokenRefusal::Wrong),
    }
}

fn hmac_sha256(key: &[u8], data: &[u8]) -> [u8; 32] {
    let mut mac =
        <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC takes a key of any length");
    mac.update(data);
    mac.finalize().into_bytes().into()
}

/// SigV4's `kSigning`: HMAC-SHA256 chained from `"AWS4" + secret` (`prefixed_secret`) over the
/// request date (`YYYYMMDD`), the region, the service and `aws4_request`. Any secret length.
pub(crate) fn signing_key(
    prefixed_secret: &[u8],
    date: NaiveDate,
    region: &str,
    service: &str,
) -> [u8; 32] {
    let k_date = hmac_sha256(
        prefixed_secret,
        date.format("%Y%m%d").to_string().as_bytes(),
    );
    let k_region = hmac_sha256(&k_date, region.as_bytes());
    let k_service = hmac_sha256(&k_region, service.as_bytes());
    hmac_sha256(&k_service, b"aws4_request")
}

/// Lower-case hex, as signatures are sent.
fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
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
