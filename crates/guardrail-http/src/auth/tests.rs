//! The verifier cross-checked against the AWS SDK's own signer (`aws-sigv4`): requests it signs
//! pass, and each way of breaking one maps to the AWS error a stock client expects.
#![allow(clippy::disallowed_methods)] // signs with the wall clock, as clients do

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use aws_sigv4::http_request::{
    sign, SessionTokenMode, SignableBody, SignableRequest, SignatureLocation, SigningSettings,
};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;
use bytes::Bytes;
use guardrail_api::error::AuthError;
use http::HeaderMap;
use scratchstack_aws_signature::SignatureError;

use super::sigv4::{
    self, header_credential, parse_amz_date, to_auth_error, Presented, PresentedToken, Refusal,
    TokenRefusal,
};
use super::{AccessKey, BearerToken, Credentials, CredentialsError, SecretProblem, Surface};
use crate::cloudwatch::Protocol;

const KEY: &str = "AKIDGUARDRAILTEST";
const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
const AUTHORITY: &str = "127.0.0.1:8080";
const REGION: &str = "us-east-1";
/// Temporary credentials: a 12-character secret and a session token with the characters STS
/// tokens have (`/`, `+`, `=`), which a presigned URL percent-encodes.
const TEMP_KEY: &str = "ASIAGUARDRAILTEST";
const TEMP_SECRET: &str = "twelve/chars";
const TOKEN: &str = "FwoGZXIvYXdzEJr//////////wEaDH+session/token==";

fn creds() -> Arc<Credentials> {
    Arc::new(
        Credentials::new([
            AccessKey::new(KEY, SECRET),
            AccessKey::new("AKIDOTHER", "x".repeat(40)),
            AccessKey::new(TEMP_KEY, TEMP_SECRET).with_session_token(TOKEN),
        ])
        .unwrap(),
    )
}

struct Signed {
    key: &'static str,
    secret: &'static str,
    /// Signed with this session token (as temporary credentials).
    token: Option<&'static str>,
    /// `SessionTokenMode::Exclude`: the token is sent but not signed.
    unsigned_token: bool,
    region: &'static str,
    service: &'static str,
    time: SystemTime,
    presign: Option<Duration>,
    headers: Vec<(&'static str, &'static str)>,
    body: &'static [u8],
    path: &'static str,
}

impl Default for Signed {
    fn default() -> Self {
        Signed {
            key: KEY,
            secret: SECRET,
            token: None,
            unsigned_token: false,
            region: REGION,
            service: "sagemaker",
            time: SystemTime::now(),
            presign: None,
            headers: vec![
                ("content-type", "application/x-amz-json-1.1"),
                ("x-amz-target", "SageMaker.ListModels"),
            ],
            body: b"{}",
            path: "/",
        }
    }
}

impl Signed {
    /// Signs with `aws-sigv4` and returns the request as the server sees it (origin-form URI,
    /// `Host` with the port).
    fn request(&self) -> http::Request<Bytes> {
        let identity: Identity = aws_credential_types::Credentials::new(
            self.key,
            self.secret,
            self.token.map(str::to_string),
            None,
            "test",
        )
        .into();
        let mut settings = SigningSettings::default();
        if self.unsigned_token {
            settings.session_token_mode = SessionTokenMode::Exclude;
        }
        if let Some(exp) = self.presign {
            settings.signature_location = SignatureLocation::QueryParams;
            settings.expires_in = Some(exp);
        }
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(self.region)
            .name(self.service)
            .time(self.time)
            .settings(settings)
            .build()
            .unwrap()
            .into();
        let url = format!("http://{AUTHORITY}{}", self.path);
        let signable = SignableRequest::new(
            "POST",
            &url,
            self.headers.iter().copied(),
            SignableBody::Bytes(self.body),
        )
        .unwrap();
        let (instructions, _) = sign(signable, &params).unwrap().into_parts();
        let mut req = http::Request::builder().method("POST").uri(&url);
        for (k, v) in &self.headers {
            req = req.header(*k, *v);
        }
        let mut req = req.body(Bytes::from_static(self.body)).unwrap();
        instructions.apply_to_request_http1x(&mut req);
        let origin = req.uri().path_and_query().unwrap().as_str().to_string();
        *req.uri_mut() = origin.parse().unwrap();
        req.headers_mut()
            .insert(http::header::HOST, AUTHORITY.parse().unwrap());
        req
    }
}

fn check(req: http::Request<Bytes>, services: &[&'static str]) -> Result<(), AuthError> {
    refusal(req, services).map_err(|r| r.error())
}

/// As `check`, keeping token refusals apart.
fn refusal(req: http::Request<Bytes>, services: &[&'static str]) -> Result<(), Refusal> {
    verify_with(&creds(), req, services, super::now())
}

fn verify_with(
    credentials: &Credentials,
    req: http::Request<Bytes>,
    services: &[&'static str],
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), Refusal> {
    let (parts, body) = req.into_parts();
    let presented = Presented::read(&parts);
    sigv4::verify(credentials, REGION, services, &presented, parts, body, now)
        .map(|(_, body)| assert!(!body.is_empty(), "the body is handed on"))
}

fn expired(e: &AuthError) -> bool {
    matches!(e, AuthError::BadSignature(m) if m.starts_with("Signature expired"))
}

#[test]
fn a_request_signed_by_the_sdk_signer_passes() {
    check(Signed::default().request(), &["sagemaker"]).unwrap();
}

#[test]
fn runtime_and_cloudwatch_signing_names() {
    let rt = Signed {
        path: "/endpoints/ep/invocations",
        headers: vec![("content-type", "application/json")],
        ..Signed::default()
    };
    check(rt.request(), Surface::Runtime.services()).unwrap();
    let cw = Signed {
        service: "monitoring",
        headers: vec![
            ("content-type", "application/x-amz-json-1.0"),
            ("x-amz-target", "GraniteServiceVersion20100801.ListMetrics"),
        ],
        ..Signed::default()
    };
    let services = Surface::CloudWatch(Protocol::Json).services();
    check(cw.request(), services).unwrap();
    // CloudWatch signed as SageMaker: AWS's 400 InvalidSignatureException.
    let wrong = Signed {
        service: "sagemaker",
        ..cw
    };
    let e = check(wrong.request(), services).unwrap_err();
    assert_eq!(
        e,
        AuthError::WrongService(
            "Credential should be scoped to correct service: 'monitoring'.".into()
        )
    );
    assert_eq!(e.status(), 400);
}

#[test]
fn tampered_body_or_wrong_secret_is_a_signature_mismatch() {
    let mut req = Signed::default().request();
    *req.body_mut() = Bytes::from_static(b"{\"MaxResults\": 1}");
    let e = check(req, &["sagemaker"]).unwrap_err();
    assert_eq!(
        e,
        AuthError::BadSignature(AuthError::SIGNATURE_MISMATCH.into())
    );
    assert_eq!(e.code(), "InvalidSignatureException");

    let other_secret = Signed {
        secret: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEZ",
        ..Signed::default()
    };
    let e = check(other_secret.request(), &["sagemaker"]).unwrap_err();
    assert_eq!(
        e,
        AuthError::BadSignature(AuthError::SIGNATURE_MISMATCH.into())
    );
}

#[test]
fn the_host_header_port_is_signed() {
    let mut req = Signed::default().request();
    req.headers_mut()
        .insert(http::header::HOST, "127.0.0.1:9999".parse().unwrap());
    let e = check(req, &["sagemaker"]).unwrap_err();
    assert!(matches!(e, AuthError::BadSignature(_)), "{e:?}");
}

#[test]
fn an_unsigned_x_amz_target_is_refused() {
    let signed = Signed {
        headers: vec![("content-type", "application/x-amz-json-1.1")],
        ..Signed::default()
    };
    let mut req = signed.request();
    req.headers_mut()
        .insert("x-amz-target", "SageMaker.DeleteModel".parse().unwrap());
    let e = check(req, &["sagemaker"]).unwrap_err();
    assert!(
        matches!(&e, AuthError::BadSignature(m) if m.contains("must be a 'SignedHeader'")),
        "{e:?}"
    );
}

#[test]
fn unknown_key_missing_and_malformed() {
    let unknown = Signed {
        key: "AKIDNOBODY",
        ..Signed::default()
    };
    let e = check(unknown.request(), &["sagemaker"]).unwrap_err();
    assert_eq!(e, AuthError::UnknownKey);
    assert_eq!(e.code(), "UnrecognizedClientException");

    let mut req = Signed::default().request();
    req.headers_mut().remove(http::header::AUTHORIZATION);
    assert_eq!(check(req, &["sagemaker"]).unwrap_err(), AuthError::Missing);

    for bad in [
        "AWS4-HMAC-SHA256 Credential=AKIDGUARDRAILTEST/20240101/us-east-1/sagemaker/aws4_request",
        "AWS4-HMAC-SHA256 Credential",
        "Bearer abc",
        "AWS4-HMAC-SHA512 Credential=a, SignedHeaders=host, Signature=00",
    ] {
        let mut req = Signed::default().request();
        req.headers_mut()
            .insert(http::header::AUTHORIZATION, bad.parse().unwrap());
        let e = check(req, &["sagemaker"]).unwrap_err();
        assert!(matches!(e, AuthError::Incomplete(_)), "{bad}: {e:?}");
        assert_eq!(e.code(), "IncompleteSignatureException");
    }
}

#[test]
fn clock_skew_over_15_minutes_is_refused_both_ways() {
    let now = SystemTime::now();
    let old = Signed {
        time: now - Duration::from_secs(20 * 60),
        ..Signed::default()
    };
    let e = check(old.request(), &["sagemaker"]).unwrap_err();
    assert!(expired(&e), "{e:?}");
    assert_eq!(e.status(), 403);

    let ahead = Signed {
        time: now + Duration::from_secs(20 * 60),
        ..Signed::default()
    };
    let e = check(ahead.request(), &["sagemaker"]).unwrap_err();
    assert!(
        matches!(&e, AuthError::BadSignature(m) if m.starts_with("Signature not yet current")),
        "{e:?}"
    );
    // 14 minutes is within the window.
    let fine = Signed {
        time: now - Duration::from_secs(14 * 60),
        ..Signed::default()
    };
    check(fine.request(), &["sagemaker"]).unwrap();
}

#[test]
fn another_region_is_refused() {
    let eu = Signed {
        region: "eu-west-1",
        ..Signed::default()
    };
    let e = check(eu.request(), &["sagemaker"]).unwrap_err();
    assert_eq!(
        e,
        AuthError::BadSignature(
            "Credential should be scoped to a valid region, not 'eu-west-1'.".into()
        )
    );
}

#[test]
fn presigned_urls_honour_x_amz_expires() {
    let now = SystemTime::now();
    let fresh = Signed {
        presign: Some(Duration::from_secs(300)),
        ..Signed::default()
    };
    let req = fresh.request();
    assert!(req.uri().query().unwrap().contains("X-Amz-Signature="));
    assert!(req.headers().get(http::header::AUTHORIZATION).is_none());
    check(req, &["sagemaker"]).unwrap();

    // An hour-long presign used 20 minutes later is still valid (past the ±15 min rule).
    let long = Signed {
        presign: Some(Duration::from_secs(3600)),
        time: now - Duration::from_secs(20 * 60),
        ..Signed::default()
    };
    check(long.request(), &["sagemaker"]).unwrap();

    // A one-minute presign used five minutes later has expired.
    let short = Signed {
        presign: Some(Duration::from_secs(60)),
        time: now - Duration::from_secs(5 * 60),
        ..Signed::default()
    };
    let e = check(short.request(), &["sagemaker"]).unwrap_err();
    assert!(expired(&e), "{e:?}");

    // A tampered presigned signature.
    let req = fresh.request();
    let q = req.uri().to_string();
    let (head, sig) = q.split_once("X-Amz-Signature=").unwrap();
    let flipped = if sig.starts_with('0') { "1" } else { "0" };
    let uri = format!("{head}X-Amz-Signature={flipped}{}", &sig[1..]);
    let (mut parts, body) = req.into_parts();
    parts.uri = uri.parse().unwrap();
    let e = check(http::Request::from_parts(parts, body), &["sagemaker"]).unwrap_err();
    assert_eq!(
        e,
        AuthError::BadSignature(AuthError::SIGNATURE_MISMATCH.into())
    );
}

#[test]
fn a_bad_x_amz_expires_is_incomplete() {
    let req = Signed {
        presign: Some(Duration::from_secs(300)),
        ..Signed::default()
    }
    .request();
    let uri = req
        .uri()
        .to_string()
        .replace("X-Amz-Expires=300", "X-Amz-Expires=0");
    let (mut parts, body) = req.into_parts();
    parts.uri = uri.parse().unwrap();
    let e = check(http::Request::from_parts(parts, body), &["sagemaker"]).unwrap_err();
    assert!(
        matches!(&e, AuthError::Incomplete(m) if m.contains("X-Amz-Expires")),
        "{e:?}"
    );
}

#[test]
fn presented_reads_header_and_query_forms() {
    let req = Signed::default().request();
    let (parts, _) = req.into_parts();
    let p = Presented::read(&parts);
    assert_eq!(p.access_key_id.as_deref(), Some(KEY));
    assert_eq!(p.service.as_deref(), Some("sagemaker"));
    assert!(p.presign.is_none());

    let req = Signed {
        presign: Some(Duration::from_secs(60)),
        service: "monitoring",
        ..Signed::default()
    }
    .request();
    let (parts, _) = req.into_parts();
    let p = Presented::read(&parts);
    assert_eq!(p.access_key_id.as_deref(), Some(KEY));
    assert_eq!(p.service.as_deref(), Some("monitoring"));
    let presign = p.presign.unwrap();
    assert_eq!(presign.expires, Some(Ok(60)));
    assert!(presign.date.is_some());

    let (parts, _) = http::Request::new(()).into_parts();
    assert_eq!(Presented::read(&parts), Presented::default());
}

#[test]
fn header_credential_and_date_parsing() {
    assert_eq!(
        header_credential(
            "AWS4-HMAC-SHA256 Credential=AK/20240101/us-east-1/sagemaker/aws4_request, SignedHeaders=host, Signature=ab"
        )
        .as_deref(),
        Some("AK/20240101/us-east-1/sagemaker/aws4_request")
    );
    assert_eq!(
        header_credential("AWS4-HMAC-SHA256 SignedHeaders=host"),
        None
    );
    assert_eq!(header_credential("Basic Credential=x"), None);
    let t = parse_amz_date("20240229T235959Z").unwrap();
    assert_eq!(t.to_rfc3339(), "2024-02-29T23:59:59+00:00");
    for bad in [
        "20240230T000000Z",
        "20240101T000000",
        "2024-01-01T00:00:00Z",
        "",
    ] {
        assert_eq!(parse_amz_date(bad), None, "{bad}");
    }
}

#[test]
fn verifier_errors_map_onto_the_table() {
    let cases = [
        (
            SignatureError::MissingAuthenticationToken("m".into()),
            AuthError::Missing,
        ),
        (
            SignatureError::InvalidClientTokenId("m".into()),
            AuthError::UnknownKey,
        ),
        (
            SignatureError::SignatureDoesNotMatch(None),
            AuthError::BadSignature(AuthError::SIGNATURE_MISMATCH.into()),
        ),
        (
            SignatureError::SignatureDoesNotMatch(Some("Signature expired: x".into())),
            AuthError::BadSignature("Signature expired: x".into()),
        ),
        (
            SignatureError::IncompleteSignature("i".into()),
            AuthError::Incomplete("i".into()),
        ),
        (
            SignatureError::MalformedQueryString("q".into()),
            AuthError::Incomplete("q".into()),
        ),
    ];
    for (from, to) in cases {
        assert_eq!(to_auth_error(from), to);
    }
}

#[test]
fn surfaces_follow_dispatch() {
    let h = |pairs: &[(&'static str, &'static str)]| {
        let mut m = HeaderMap::new();
        for (k, v) in pairs {
            m.insert(*k, v.parse().unwrap());
        }
        m
    };
    let none = HeaderMap::new();
    assert_eq!(Surface::of("/healthz", &none), Surface::Health);
    assert_eq!(Surface::of("/metrics", &none), Surface::Metrics);
    assert_eq!(
        Surface::of("/endpoints/a/invocations", &none),
        Surface::Runtime
    );
    assert_eq!(
        Surface::of(
            "/service/GraniteServiceVersion20100801/operation/ListMetrics",
            &none
        ),
        Surface::CloudWatch(Protocol::Cbor)
    );
    assert_eq!(Surface::of("/", &none), Surface::SageMaker);
    assert_eq!(
        Surface::of("/", &h(&[("x-amz-target", "SageMaker.ListModels")])),
        Surface::SageMaker
    );
    assert_eq!(
        Surface::of(
            "/",
            &h(&[("x-amz-target", "GraniteServiceVersion20100801.ListMetrics")])
        ),
        Surface::CloudWatch(Protocol::Json)
    );
    assert_eq!(
        Surface::of(
            "/",
            &h(&[(
                "content-type",
                "application/x-www-form-urlencoded; charset=utf-8"
            )])
        ),
        Surface::CloudWatch(Protocol::Query)
    );
    assert_eq!(Surface::of("/nope", &none), Surface::Other);
    assert_eq!(Surface::Runtime.body_limit(), crate::MAX_INVOKE_BODY);
    assert_eq!(Surface::SageMaker.body_limit(), crate::MAX_CONTROL_BODY);
}

#[test]
fn rejections_are_framed_per_protocol() {
    let resp = Surface::SageMaker.reject(AuthError::Missing);
    assert_eq!(resp.status(), 403);
    assert_eq!(resp.headers()["content-type"], "application/x-amz-json-1.1");

    let resp = Surface::Runtime.reject(AuthError::UnknownKey);
    assert_eq!(resp.status(), 403);
    assert_eq!(
        resp.headers()["x-amzn-errortype"],
        "UnrecognizedClientException"
    );

    let resp = Surface::CloudWatch(Protocol::Query).reject(AuthError::UnknownKey);
    assert_eq!(
        resp.headers()["x-amzn-query-error"],
        "InvalidClientTokenId;Sender"
    );
    assert_eq!(resp.headers()["content-type"], "text/xml");

    let resp = Surface::CloudWatch(Protocol::Cbor).reject(AuthError::Incomplete("x".into()));
    assert_eq!(resp.status(), 400);
    assert_eq!(
        resp.headers()["x-amzn-query-error"],
        "IncompleteSignature;Sender"
    );

    let resp = Surface::Metrics.reject(AuthError::BearerToken);
    assert_eq!(resp.status(), 401);
    assert_eq!(resp.headers()["www-authenticate"], "Bearer");
}

#[test]
fn bearer_token_compare_and_redaction() {
    let token = BearerToken::new("s3cr3t-token".into()).unwrap();
    let with = |v: &'static str| {
        let mut m = HeaderMap::new();
        m.insert(http::header::AUTHORIZATION, v.parse().unwrap());
        m
    };
    assert!(token.admits(&with("Bearer s3cr3t-token")));
    assert!(token.admits(&with("bearer s3cr3t-token")));
    assert!(!token.admits(&with("Bearer s3cr3t-tokem")));
    assert!(!token.admits(&with("Bearer s3cr3t-token-longer")));
    assert!(!token.admits(&with("Basic s3cr3t-token")));
    assert!(!token.admits(&HeaderMap::new()));
    assert!(!format!("{token:?}").contains("s3cr3t"));
    assert!(BearerToken::new(String::new()).is_none());
    assert!(BearerToken::new("has space".into()).is_none());
}

#[test]
fn credentials_are_validated_and_never_printed() {
    let c = Credentials::new([
        AccessKey::new(KEY, SECRET),
        AccessKey::new(TEMP_KEY, TEMP_SECRET).with_session_token(TOKEN),
    ])
    .unwrap();
    let shown = format!("{c:?}");
    assert!(shown.contains(KEY) && !shown.contains(SECRET), "{shown}");
    assert!(
        !shown.contains(TEMP_SECRET) && !shown.contains(TOKEN),
        "{shown}"
    );
    assert_eq!(c.key_ids(), vec![KEY, TEMP_KEY]);
    let key = AccessKey::new(TEMP_KEY, TEMP_SECRET).with_session_token(TOKEN);
    let shown = format!("{key:?}");
    assert!(shown.contains(TEMP_KEY), "{shown}");
    assert!(
        !shown.contains(TEMP_SECRET) && !shown.contains(TOKEN),
        "{shown}"
    );
    let shown = format!("{:?}", c.key(TEMP_KEY).unwrap());
    assert!(
        !shown.contains("twelve") && !shown.contains("Fwo"),
        "{shown}"
    );

    assert_eq!(
        Credentials::new([AccessKey::new(KEY, "short")]).unwrap_err(),
        CredentialsError::BadSecret(KEY.into(), SecretProblem::TooShort)
    );
    assert!(
        !CredentialsError::BadSecret(KEY.into(), SecretProblem::TooShort)
            .to_string()
            .contains("short\""),
    );
    assert_eq!(
        Credentials::new([AccessKey::new(KEY, SECRET), AccessKey::new(KEY, SECRET)]).unwrap_err(),
        CredentialsError::Duplicate(KEY.into())
    );
    assert_eq!(
        Credentials::new([AccessKey::new("AK/ID", SECRET)]).unwrap_err(),
        CredentialsError::BadKeyId("AK/ID".into())
    );
    assert_eq!(
        Credentials::new(Vec::<AccessKey>::new()).unwrap_err(),
        CredentialsError::Empty
    );
    for bad_token in ["", "has space", "tab\there", "caf\u{e9}"] {
        let e = Credentials::new([AccessKey::new(KEY, SECRET).with_session_token(bad_token)])
            .unwrap_err();
        assert_eq!(
            e,
            CredentialsError::BadSessionToken(KEY.into()),
            "{bad_token:?}"
        );
        assert_eq!(
            e.to_string(),
            format!(
                "[[credentials]] session_token of \"{KEY}\" must be non-empty printable ASCII characters (0x21–0x7E)"
            )
        );
    }
}

/// A secret of `len` printable characters, cycling through all of 0x21–0x7E from `start`.
fn printable_secret(len: usize, start: u8) -> &'static str {
    let s: String = (0..len)
        .map(|i| char::from(0x21 + ((start as usize + i) % 94) as u8))
        .collect();
    Box::leak(s.into_boxed_str())
}

#[test]
fn secrets_of_any_length_from_8_to_128_verify_against_the_sdk_signer() {
    for len in [8, 16, 39, 40, 41, 128] {
        let secret = printable_secret(len, len as u8);
        let creds = Credentials::new([AccessKey::new(KEY, secret)]).unwrap();
        let now = super::now();
        let header = Signed {
            secret,
            ..Signed::default()
        };
        verify_with(&creds, header.request(), &["sagemaker"], now)
            .unwrap_or_else(|e| panic!("{len}: {e:?}"));
        let presigned = Signed {
            secret,
            presign: Some(Duration::from_secs(300)),
            ..Signed::default()
        };
        verify_with(&creds, presigned.request(), &["sagemaker"], now)
            .unwrap_or_else(|e| panic!("{len} presigned: {e:?}"));
        let cloudwatch = Signed {
            secret,
            service: "monitoring",
            headers: vec![
                ("content-type", "application/x-amz-json-1.0"),
                ("x-amz-target", "GraniteServiceVersion20100801.ListMetrics"),
            ],
            ..Signed::default()
        };
        let services = Surface::CloudWatch(Protocol::Json).services();
        verify_with(&creds, cloudwatch.request(), services, now)
            .unwrap_or_else(|e| panic!("{len} monitoring: {e:?}"));
        // One character off, or one character more or less, does not verify.
        for wrong in [
            printable_secret(len, len as u8 + 1),
            printable_secret(len + 1, len as u8),
            printable_secret(len - 1, len as u8),
        ] {
            let signed = Signed {
                secret: wrong,
                ..Signed::default()
            };
            assert_eq!(
                verify_with(&creds, signed.request(), &["sagemaker"], now),
                Err(Refusal::Auth(AuthError::BadSignature(
                    AuthError::SIGNATURE_MISMATCH.into()
                ))),
                "{len}"
            );
        }
    }
}

#[test]
fn the_signing_key_is_sigv4s_for_every_length() {
    // AWS's documented example (sigv4 "Examples of how to derive a signing key").
    let date = chrono::NaiveDate::from_ymd_opt(2012, 2, 15).unwrap();
    let key = sigv4::signing_key(
        b"AWS4wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
        date,
        "us-east-1",
        "iam",
    );
    let hex: String = key.iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(
        hex,
        "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d"
    );
    // The same as the verifier crate's own derivation, for the one length its type holds.
    let theirs: scratchstack_aws_signature::KSecretKey = SECRET.parse().unwrap();
    let today = super::now().date_naive();
    assert_eq!(
        sigv4::signing_key(
            format!("AWS4{SECRET}").as_bytes(),
            today,
            REGION,
            "sagemaker"
        ),
        *theirs.to_ksigning(today, REGION, "sagemaker").as_ref()
    );
}

#[test]
fn secrets_outside_8_to_128_printable_ascii_are_refused_precisely() {
    let message = |why: &str| {
        format!(
            "[[credentials]] secret_access_key of \"{KEY}\" must be 8–128 printable ASCII characters (0x21–0x7E); {why}"
        )
    };
    let cases = [
        ("s".repeat(7), SecretProblem::TooShort, "it is shorter"),
        ("s".repeat(129), SecretProblem::TooLong, "it is longer"),
        (String::new(), SecretProblem::TooShort, "it is shorter"),
        (
            "with space inside".into(),
            SecretProblem::NotPrintable,
            "it contains another character",
        ),
        (
            "tab\tinside-secret".into(),
            SecretProblem::NotPrintable,
            "it contains another character",
        ),
        (
            "del\u{7f}inside-secret".into(),
            SecretProblem::NotPrintable,
            "it contains another character",
        ),
        (
            "caf\u{e9}-inside-secret".into(),
            SecretProblem::NotPrintable,
            "it contains another character",
        ),
    ];
    for (secret, problem, why) in cases {
        let e = Credentials::new([AccessKey::new(KEY, secret.clone())]).unwrap_err();
        assert_eq!(
            e,
            CredentialsError::BadSecret(KEY.into(), problem),
            "{secret:?}"
        );
        assert_eq!(e.to_string(), message(why), "{secret:?}");
    }
    // The bounds themselves, and every printable character, are fine.
    for len in [8, 128] {
        Credentials::new([AccessKey::new(KEY, "~".repeat(len))]).unwrap();
    }
    let all: String = (0x21u8..=0x7e).map(char::from).collect();
    Credentials::new([AccessKey::new(KEY, all)]).unwrap();
}

fn temp(token: Option<&'static str>) -> Signed {
    Signed {
        key: TEMP_KEY,
        secret: TEMP_SECRET,
        token,
        ..Signed::default()
    }
}

#[test]
fn a_session_token_is_required_exactly_and_signed() {
    // botocore and aws-sigv4 sign the token header: verification still works.
    let req = temp(Some(TOKEN)).request();
    let auth = req.headers()[http::header::AUTHORIZATION].to_str().unwrap();
    assert!(auth.contains("x-amz-security-token"), "{auth}");
    assert_eq!(req.headers()["x-amz-security-token"], TOKEN);
    refusal(req, &["sagemaker"]).unwrap();
    // Sent but not signed (SessionTokenMode::Exclude): the signature holds, the token is right.
    let unsigned = Signed {
        unsigned_token: true,
        ..temp(Some(TOKEN))
    };
    let req = unsigned.request();
    let auth = req.headers()[http::header::AUTHORIZATION].to_str().unwrap();
    assert!(!auth.contains("x-amz-security-token"), "{auth}");
    refusal(req, &["sagemaker"]).unwrap();

    // Missing, wrong, repeated; and a token with a key that has none.
    assert_eq!(
        refusal(temp(None).request(), &["sagemaker"]),
        Err(Refusal::Token(TokenRefusal::Missing))
    );
    let wrong = "FwoGZXIvYXdzEJr//////////wEaDH+session/token=!";
    assert_eq!(
        refusal(temp(Some(wrong)).request(), &["sagemaker"]),
        Err(Refusal::Token(TokenRefusal::Wrong))
    );
    assert_eq!(
        refusal(temp(Some("short")).request(), &["sagemaker"]),
        Err(Refusal::Token(TokenRefusal::Wrong))
    );
    let mut req = temp(Some(TOKEN)).request();
    req.headers_mut()
        .append("x-amz-security-token", TOKEN.parse().unwrap());
    assert_eq!(
        refusal(req, &["sagemaker"]),
        Err(Refusal::Token(TokenRefusal::Repeated))
    );
    let unexpected = Signed {
        token: Some(TOKEN),
        ..Signed::default()
    };
    assert_eq!(
        refusal(unexpected.request(), &["sagemaker"]),
        Err(Refusal::Token(TokenRefusal::Unexpected))
    );
    // The token is checked as sent, signed or not: adding the right one to a request signed
    // without it is the unsigned case above; adding a wrong one is refused.
    let mut req = temp(None).request();
    req.headers_mut()
        .insert("x-amz-security-token", "forged".parse().unwrap());
    assert_eq!(
        refusal(req, &["sagemaker"]),
        Err(Refusal::Token(TokenRefusal::Wrong))
    );

    // Every token refusal is AWS's "invalid security token".
    for t in [
        TokenRefusal::Missing,
        TokenRefusal::Wrong,
        TokenRefusal::Unexpected,
        TokenRefusal::Repeated,
    ] {
        let r = Refusal::Token(t);
        assert_eq!(r.error(), AuthError::UnknownKey);
        assert_eq!(
            r.error().message(),
            "The security token included in the request is invalid."
        );
        assert!(r.log_reason().contains("X-Amz-Security-Token"), "{t:?}");
        assert!(!r.log_reason().contains(TOKEN));
    }
}

#[test]
fn session_token_checks_follow_aws_error_order() {
    // A stale request is refused for its date first, as before any key lookup.
    let stale = Signed {
        time: SystemTime::now() - Duration::from_secs(20 * 60),
        ..temp(None)
    };
    let e = refusal(stale.request(), &["sagemaker"]).unwrap_err();
    assert!(matches!(&e, Refusal::Auth(a) if expired(a)), "{e:?}");
    // The right token with a wrong secret: the signature mismatch.
    let wrong_secret = Signed {
        secret: "twelve/charz",
        ..temp(Some(TOKEN))
    };
    assert_eq!(
        refusal(wrong_secret.request(), &["sagemaker"]),
        Err(Refusal::Auth(AuthError::BadSignature(
            AuthError::SIGNATURE_MISMATCH.into()
        )))
    );
}

#[test]
fn presigned_urls_carry_the_session_token() {
    let presigned = Signed {
        presign: Some(Duration::from_secs(300)),
        ..temp(Some(TOKEN))
    };
    let req = presigned.request();
    let query = req.uri().query().unwrap().to_string();
    // Percent-encoded in the URL (`/`, `+`, `=`), compared decoded.
    assert!(
        query.contains("X-Amz-Security-Token=FwoGZXIvYXdzEJr%2F"),
        "{query}"
    );
    assert!(req.headers().get("x-amz-security-token").is_none());
    let (parts, _) = http::Request::from_parts(req.into_parts().0, ()).into_parts();
    assert_eq!(
        Presented::read(&parts).token,
        PresentedToken::One(super::Secret::new(TOKEN.as_bytes()))
    );
    refusal(presigned.request(), &["sagemaker"]).unwrap();

    // Dropped from the URL (the signature then breaks too: the token is checked first).
    let req = presigned.request();
    let uri = req.uri().to_string();
    let start = uri
        .find("&X-Amz-Security-Token=")
        .or_else(|| uri.find("X-Amz-Security-Token="))
        .unwrap();
    let rest = &uri[start + 1..];
    let end = rest.find('&').map(|i| start + 1 + i).unwrap_or(uri.len());
    let without = format!("{}{}", &uri[..start], &uri[end..]);
    assert!(!without.contains("Security-Token"), "{without}");
    let (mut parts, body) = req.into_parts();
    parts.uri = without.parse().unwrap();
    assert_eq!(
        refusal(http::Request::from_parts(parts, body), &["sagemaker"]),
        Err(Refusal::Token(TokenRefusal::Missing))
    );

    // Another token in the URL.
    let wrong = Signed {
        presign: Some(Duration::from_secs(300)),
        ..temp(Some("AnotherToken/+="))
    };
    assert_eq!(
        refusal(wrong.request(), &["sagemaker"]),
        Err(Refusal::Token(TokenRefusal::Wrong))
    );
    // A long-term key presigned with a token.
    let unexpected = Signed {
        presign: Some(Duration::from_secs(300)),
        token: Some(TOKEN),
        ..Signed::default()
    };
    assert_eq!(
        refusal(unexpected.request(), &["sagemaker"]),
        Err(Refusal::Token(TokenRefusal::Unexpected))
    );
}

#[test]
fn token_refusals_use_each_protocols_spelling() {
    let e = Refusal::Token(TokenRefusal::Wrong).error();
    let message = "The security token included in the request is invalid.";

    let resp = Surface::SageMaker.reject(e.clone());
    assert_eq!(resp.status(), 403);
    let body = body_json(resp);
    assert_eq!(body["__type"], "UnrecognizedClientException");
    assert_eq!(body["message"], message);

    let resp = Surface::Runtime.reject(e.clone());
    assert_eq!(resp.status(), 403);
    assert_eq!(
        resp.headers()["x-amzn-errortype"],
        "UnrecognizedClientException"
    );

    for protocol in [Protocol::Json, Protocol::Query, Protocol::Cbor] {
        let resp = Surface::CloudWatch(protocol).reject(e.clone());
        assert_eq!(resp.status(), 403, "{protocol:?}");
        assert_eq!(
            resp.headers()["x-amzn-query-error"],
            "InvalidClientTokenId;Sender",
            "{protocol:?}"
        );
    }
}

fn body_json(resp: axum::response::Response) -> serde_json::Value {
    let bytes = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(http_body_util::BodyExt::collect(resp.into_body()))
        .unwrap()
        .to_bytes();
    serde_json::from_slice(&bytes).unwrap()
}

#[test]
fn presented_tokens_are_never_printed() {
    let req = temp(Some(TOKEN)).request();
    let (parts, _) = req.into_parts();
    let p = Presented::read(&parts);
    assert!(matches!(p.token, PresentedToken::One(_)));
    let shown = format!("{p:?}");
    assert!(!shown.contains(TOKEN) && !shown.contains("Fwo"), "{shown}");
}
