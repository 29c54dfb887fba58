//! Authentication in front of every API on the port. With `[[credentials]]` configured, every
//! request except `GET /healthz` must carry a valid AWS SigV4 signature (header or presigned
//! query form) from one of the configured keys, checked *before* dispatch; `/metrics` takes a
//! bearer token instead when `metrics_token` is set. Rejections are framed in the protocol of
//! the request (SageMaker awsJson1_1, runtime restJson1, CloudWatch JSON / CBOR / query) with
//! the codes of [`AuthError`], so stock clients raise the error AWS would.
//!
//! A key may carry a session token (temporary credentials): its requests must then carry it as
//! `X-Amz-Security-Token`, and a key without one takes no token.
//!
//! Nothing secret is logged: not the secret keys, not session tokens, not the `Authorization`
//! header, not the bearer token; rejections log the presented access key id and the reason.

mod sigv4;

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use guardrail_api::error::AuthError;
use http::{HeaderMap, HeaderValue, StatusCode};
use subtle::ConstantTimeEq;

use crate::cloudwatch::{self, Protocol};
use crate::{read_limited, AppState, MAX_CONTROL_BODY, MAX_INVOKE_BODY};

/// The shortest secret access key accepted (as MinIO's minimum).
pub const MIN_SECRET_LEN: usize = 8;
/// The longest secret access key accepted.
pub const MAX_SECRET_LEN: usize = 128;
/// A secret shorter than this is accepted with a warning: one captured signed request is
/// enough to guess it offline.
pub const WEAK_SECRET_LEN: usize = 16;

/// Printable ASCII without space (0x21–0x7E): what a secret or session token may contain.
fn printable(s: &str) -> bool {
    s.bytes().all(|b| b.is_ascii_graphic())
}

/// One `[[credentials]]` entry as configured. `Debug` shows the key id only.
#[derive(Clone)]
pub struct AccessKey {
    pub access_key_id: String,
    pub secret_access_key: String,
    /// Temporary credentials: requests signed with this key must carry it as
    /// `X-Amz-Security-Token` (header, or query parameter when presigned).
    pub session_token: Option<String>,
}

impl AccessKey {
    /// A long-term key (no session token).
    pub fn new(
        access_key_id: impl Into<String>,
        secret_access_key: impl Into<String>,
    ) -> AccessKey {
        AccessKey {
            access_key_id: access_key_id.into(),
            secret_access_key: secret_access_key.into(),
            session_token: None,
        }
    }

    /// The same key as temporary credentials with `session_token`.
    pub fn with_session_token(mut self, session_token: impl Into<String>) -> AccessKey {
        self.session_token = Some(session_token.into());
        self
    }
}

impl fmt::Debug for AccessKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessKey")
            .field("access_key_id", &self.access_key_id)
            .field(
                "session_token",
                &self.session_token.as_ref().map(|_| "<redacted>"),
            )
            .finish_non_exhaustive()
    }
}

/// Bytes that must never be printed: a secret key (kept as `"AWS4" + secret`, the first
/// HMAC key of the SigV4 derivation) or a session token.
#[derive(Clone)]
pub(crate) struct Secret(Box<[u8]>);

impl Secret {
    pub(crate) fn new(bytes: impl Into<Box<[u8]>>) -> Secret {
        Secret(bytes.into())
    }

    pub(crate) fn expose(&self) -> &[u8] {
        &self.0
    }

    /// Constant-time equality (the length is not hidden).
    pub(crate) fn ct_eq(&self, other: &Secret) -> bool {
        bool::from(self.0.ct_eq(&other.0))
    }
}

impl PartialEq for Secret {
    fn eq(&self, other: &Secret) -> bool {
        self.ct_eq(other)
    }
}

impl Eq for Secret {}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// A configured key as the verifier uses it.
#[derive(Clone, Debug)]
pub(crate) struct Key {
    /// `"AWS4" + secret_access_key`.
    pub(crate) prefixed_secret: Secret,
    pub(crate) session_token: Option<Secret>,
}

/// The configured access keys. `Debug` shows the key ids only.
#[derive(Clone)]
pub struct Credentials {
    keys: HashMap<String, Key>,
}

impl Credentials {
    /// Builds the key table; rejects an empty list, empty or duplicate ids, secrets that are not
    /// [`MIN_SECRET_LEN`]–[`MAX_SECRET_LEN`] printable ASCII characters, and empty or
    /// non-printable session tokens. Logs a warning (key id only) for each secret shorter than
    /// [`WEAK_SECRET_LEN`].
    pub fn new(keys: impl IntoIterator<Item = AccessKey>) -> Result<Credentials, CredentialsError> {
        let mut table = HashMap::new();
        for AccessKey {
            access_key_id: id,
            secret_access_key: secret,
            session_token,
        } in keys
        {
            if id.is_empty() || !id.chars().all(|c| c.is_ascii_alphanumeric()) {
                return Err(CredentialsError::BadKeyId(id));
            }
            let problem = if !printable(&secret) {
                Some(SecretProblem::NotPrintable)
            } else if secret.len() < MIN_SECRET_LEN {
                Some(SecretProblem::TooShort)
            } else if secret.len() > MAX_SECRET_LEN {
                Some(SecretProblem::TooLong)
            } else {
                None
            };
            if let Some(problem) = problem {
                return Err(CredentialsError::BadSecret(id, problem));
            }
            let session_token = match session_token {
                None => None,
                Some(t) if !t.is_empty() && printable(&t) => Some(Secret::new(t.into_bytes())),
                Some(_) => return Err(CredentialsError::BadSessionToken(id)),
            };
            if secret.len() < WEAK_SECRET_LEN {
                tracing::warn!(
                    access_key_id = %id,
                    "[[credentials]] secret_access_key is shorter than {WEAK_SECRET_LEN} characters: \
                     it can be guessed offline from one signed request; use a long random secret"
                );
            }
            let key = Key {
                prefixed_secret: Secret::new(format!("AWS4{secret}").into_bytes()),
                session_token,
            };
            if table.insert(id.clone(), key).is_some() {
                return Err(CredentialsError::Duplicate(id));
            }
        }
        if table.is_empty() {
            return Err(CredentialsError::Empty);
        }
        Ok(Credentials { keys: table })
    }

    /// The configured access key ids, sorted.
    pub fn key_ids(&self) -> Vec<&str> {
        let mut ids: Vec<&str> = self.keys.keys().map(String::as_str).collect();
        ids.sort_unstable();
        ids
    }

    pub(crate) fn key(&self, access_key_id: &str) -> Option<&Key> {
        self.keys.get(access_key_id)
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("access_key_ids", &self.key_ids())
            .finish_non_exhaustive()
    }
}

/// What is wrong with a secret access key (never the secret itself).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretProblem {
    TooShort,
    TooLong,
    NotPrintable,
}

/// Why a `[[credentials]]` list is refused. Never carries a secret or a token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CredentialsError {
    Empty,
    BadKeyId(String),
    BadSecret(String, SecretProblem),
    BadSessionToken(String),
    Duplicate(String),
}

impl fmt::Display for CredentialsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CredentialsError::Empty => f.write_str("[[credentials]] is empty"),
            CredentialsError::BadKeyId(id) => write!(
                f,
                "[[credentials]] access_key_id {id:?} must be non-empty letters and digits"
            ),
            CredentialsError::BadSecret(id, problem) => {
                let why = match problem {
                    SecretProblem::TooShort => "it is shorter",
                    SecretProblem::TooLong => "it is longer",
                    SecretProblem::NotPrintable => "it contains another character",
                };
                write!(
                    f,
                    "[[credentials]] secret_access_key of {id:?} must be {MIN_SECRET_LEN}–{MAX_SECRET_LEN} printable ASCII characters (0x21–0x7E); {why}"
                )
            }
            CredentialsError::BadSessionToken(id) => write!(
                f,
                "[[credentials]] session_token of {id:?} must be non-empty printable ASCII characters (0x21–0x7E)"
            ),
            CredentialsError::Duplicate(id) => {
                write!(f, "[[credentials]] access_key_id {id:?} appears twice")
            }
        }
    }
}

impl std::error::Error for CredentialsError {}

/// The `/metrics` bearer token. `Debug` never shows it.
#[derive(Clone)]
pub struct BearerToken(String);

impl BearerToken {
    pub fn new(token: String) -> Option<BearerToken> {
        let ok = !token.is_empty() && token.bytes().all(|b| b.is_ascii_graphic());
        ok.then_some(BearerToken(token))
    }

    /// Whether `Authorization: Bearer <token>` carries this token (constant-time compare).
    fn admits(&self, headers: &HeaderMap) -> bool {
        let presented = headers
            .get(http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                let (scheme, token) = v.trim().split_once(' ')?;
                scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
            });
        presented.is_some_and(|p| bool::from(p.as_bytes().ct_eq(self.0.as_bytes())))
    }
}

impl fmt::Debug for BearerToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BearerToken(<redacted>)")
    }
}

/// What the server requires. The default requires nothing (authentication off).
#[derive(Clone, Debug, Default)]
pub struct AuthConfig {
    pub credentials: Option<Credentials>,
    pub metrics_token: Option<BearerToken>,
}

/// The configuration as the middleware uses it.
#[derive(Debug)]
pub(crate) struct Auth {
    credentials: Option<Arc<Credentials>>,
    metrics_token: Option<BearerToken>,
    region: String,
}

impl Auth {
    pub(crate) fn new(config: AuthConfig, region: &str) -> Auth {
        Auth {
            credentials: config.credentials.map(Arc::new),
            metrics_token: config.metrics_token,
            region: region.to_string(),
        }
    }

    /// Whether the middleware has anything to check.
    pub(crate) fn active(&self) -> bool {
        self.credentials.is_some() || self.metrics_token.is_some()
    }
}

/// The API a request addresses, decided as `app()` dispatches it (path, then `X-Amz-Target`,
/// then a form body): it fixes the signing names accepted, the body limit and the framing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Surface {
    Health,
    Metrics,
    SageMaker,
    Runtime,
    CloudWatch(Protocol),
    /// A path Guardrail does not serve (answered 404 once authenticated).
    Other,
}

impl Surface {
    pub(crate) fn of(path: &str, headers: &HeaderMap) -> Surface {
        match path {
            "/healthz" => return Surface::Health,
            "/metrics" => return Surface::Metrics,
            "/" => {}
            p if p.starts_with("/endpoints/") && p.ends_with("/invocations") => {
                return Surface::Runtime
            }
            p if p.starts_with("/service/GraniteServiceVersion20100801/operation/") => {
                return Surface::CloudWatch(Protocol::Cbor)
            }
            _ => return Surface::Other,
        }
        let target = headers
            .get("x-amz-target")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if target.starts_with(cloudwatch::TARGET_PREFIX) {
            return Surface::CloudWatch(Protocol::Json);
        }
        let form = headers
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|ct| ct.starts_with("application/x-www-form-urlencoded"));
        if target.is_empty() && form {
            Surface::CloudWatch(Protocol::Query)
        } else {
            Surface::SageMaker
        }
    }

    /// SigV4 signing names (credential scope `service`) accepted; the first is the expected
    /// one. boto3's `sagemaker-runtime` signs as `sagemaker`, CloudWatch as `monitoring`.
    fn services(self) -> &'static [&'static str] {
        match self {
            Surface::SageMaker | Surface::Runtime => &["sagemaker"],
            Surface::CloudWatch(_) => &["monitoring"],
            Surface::Health | Surface::Metrics | Surface::Other => &["sagemaker", "monitoring"],
        }
    }

    fn body_limit(self) -> usize {
        match self {
            Surface::Runtime => MAX_INVOKE_BODY,
            _ => MAX_CONTROL_BODY,
        }
    }

    /// Handlers that refuse an oversized body (by `Content-Length`) before acting on anything.
    fn handler_limits_body(self) -> bool {
        matches!(
            self,
            Surface::SageMaker | Surface::Runtime | Surface::CloudWatch(_)
        )
    }

    /// The rejection in the request's own protocol.
    fn reject(self, e: AuthError) -> Response {
        let request_id = uuid::Uuid::new_v4().to_string();
        let bearer = e == AuthError::BearerToken;
        let mut resp = match self {
            Surface::SageMaker => crate::awsjson::respond(&request_id, Err(e.into())),
            Surface::CloudWatch(protocol) => {
                cloudwatch::frame(protocol, None, &request_id, Err(e.into()))
            }
            Surface::Runtime | Surface::Metrics | Surface::Other | Surface::Health => {
                let mut resp = crate::runtime::error_response(&e.into());
                if let Ok(v) = HeaderValue::from_str(&request_id) {
                    resp.headers_mut().insert("x-amzn-requestid", v);
                }
                resp
            }
        };
        if bearer {
            resp.headers_mut().insert(
                http::header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer"),
            );
        }
        resp
    }
}

/// The wall clock, not the shell's `Clock`: signatures are dated by the clients' wall clocks,
/// and the monotonic `Clock` falls behind the wall across a suspend or a clock step.
#[allow(clippy::disallowed_methods)] // SigV4's date and skew checks compare with clients' wall clocks
fn now() -> chrono::DateTime<chrono::Utc> {
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    chrono::DateTime::from_timestamp(since.as_secs() as i64, since.subsec_nanos())
        .unwrap_or_default()
}

/// The middleware: verify, then hand the request (with its buffered body) to the handler.
pub(crate) async fn authenticate(
    State(state): State<AppState>,
    req: Request,
    next: Next,
) -> Response {
    let auth = &state.auth;
    let surface = Surface::of(req.uri().path(), req.headers());
    match surface {
        Surface::Health => return next.run(req).await,
        Surface::Metrics => {
            if let Some(token) = &auth.metrics_token {
                if token.admits(req.headers()) {
                    return next.run(req).await;
                }
                tracing::info!(
                    path = "/metrics",
                    "request rejected: missing or wrong bearer token"
                );
                return surface.reject(AuthError::BearerToken);
            }
        }
        _ => {}
    }
    let Some(credentials) = &auth.credentials else {
        return next.run(req).await;
    };

    // The payload hash needs the whole body: buffer it within the route's limit.
    let (mut parts, body) = req.into_parts();
    let body = match read_limited(body, &parts.headers, surface.body_limit()).await {
        Ok(body) => body,
        Err(limit) if surface.handler_limits_body() => {
            // Too large to verify, as AWS's front door would answer before auth: the handler
            // frames its own "too large" error from the declared length and does nothing else.
            tracing::debug!(?surface, limit, "request body over the limit; not verified");
            parts.headers.insert(
                http::header::CONTENT_LENGTH,
                HeaderValue::from(limit as u64 + 1),
            );
            parts.headers.remove(http::header::TRANSFER_ENCODING);
            return next.run(Request::from_parts(parts, Body::empty())).await;
        }
        Err(limit) => {
            return (
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("Request body is larger than the {limit}-byte limit."),
            )
                .into_response()
        }
    };

    let presented = sigv4::Presented::read(&parts);
    let key_id = presented.access_key_id.clone();
    match sigv4::verify(
        credentials,
        &auth.region,
        surface.services(),
        &presented,
        parts,
        body,
        now(),
    ) {
        Ok((parts, body)) => {
            tracing::debug!(
                access_key_id = key_id.as_deref().unwrap_or(""),
                ?surface,
                "request authenticated"
            );
            next.run(Request::from_parts(parts, Body::from(body))).await
        }
        Err(refusal) => {
            let e = refusal.error();
            tracing::info!(
                access_key_id = key_id.as_deref().unwrap_or("<none>"),
                ?surface,
                code = e.code(),
                reason = %refusal.log_reason(),
                "request rejected: authentication failed"
            );
            surface.reject(e)
        }
    }
}

#[cfg(test)]
mod tests;
