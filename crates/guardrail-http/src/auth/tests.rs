//! The verifier cross-checked against the AWS SDK's own signer (`aws-sigv4`): requests it signs
//! pass, and each way of breaking one maps to the AWS error a stock client expects.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use aws_sigv4::http_request::{
    sign, SignableBody, SignableRequest, SignatureLocation, SigningSettings,
};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;
use bytes::Bytes;
use guardrail_api::error::AuthError;
use http::HeaderMap;
use scratchstack_aws_signature::SignatureError;

use super::sigv4::{self, header_credential, parse_amz_date, to_auth_error, Presented};
use super::{BearerToken, Credentials, CredentialsError, Surface};
use crate::cloudwatch::Protocol;

const KEY: &str = "AKIDGUARDRAILTEST";
const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
const AUTHORITY: &str = "127.0.0.1:8080";
const REGION: &str = "us-east-1";

fn creds() -> Arc<Credentials> {
    Arc::new(
        Credentials::new([
            (KEY.to_string(), SECRET.to_string()),
            ("AKIDOTHER".to_string(), "x".repeat(40)),
        ])
        .unwrap(),
    )
}

struct Signed {
    key: &'static str,
    secret: &'static str,
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
        let identity: Identity =
            aws_credential_types::Credentials::new(self.key, self.secret, None, None, "test")
                .into();
        let mut settings = SigningSettings::default();
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

async fn check(req: http::Request<Bytes>, services: &[&'static str]) -> Result<(), AuthError> {
    check_at(req, services, super::now()).await
}

async fn check_at(
    req: http::Request<Bytes>,
    services: &[&'static str],
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), AuthError> {
    let (parts, body) = req.into_parts();
    let presented = Presented::read(&parts);
    sigv4::verify(&creds(), REGION, services, &presented, parts, body, now)
        .await
        .map(|(_, body)| assert!(!body.is_empty(), "the body is handed on"))
}

fn expired(e: &AuthError) -> bool {
    matches!(e, AuthError::BadSignature(m) if m.starts_with("Signature expired"))
}

#[tokio::test]
async fn a_request_signed_by_the_sdk_signer_passes() {
    check(Signed::default().request(), &["sagemaker"])
        .await
        .unwrap();
}

#[tokio::test]
async fn runtime_and_cloudwatch_signing_names() {
    let rt = Signed {
        path: "/endpoints/ep/invocations",
        headers: vec![("content-type", "application/json")],
        ..Signed::default()
    };
    check(rt.request(), Surface::Runtime.services())
        .await
        .unwrap();
    let cw = Signed {
        service: "monitoring",
        headers: vec![
            ("content-type", "application/x-amz-json-1.0"),
            ("x-amz-target", "GraniteServiceVersion20100801.ListMetrics"),
        ],
        ..Signed::default()
    };
    let services = Surface::CloudWatch(Protocol::Json).services();
    check(cw.request(), services).await.unwrap();
    // CloudWatch signed as SageMaker: AWS's 400 InvalidSignatureException.
    let wrong = Signed {
        service: "sagemaker",
        ..cw
    };
    let e = check(wrong.request(), services).await.unwrap_err();
    assert_eq!(
        e,
        AuthError::WrongService(
            "Credential should be scoped to correct service: 'monitoring'.".into()
        )
    );
    assert_eq!(e.status(), 400);
}

#[tokio::test]
async fn tampered_body_or_wrong_secret_is_a_signature_mismatch() {
    let mut req = Signed::default().request();
    *req.body_mut() = Bytes::from_static(b"{\"MaxResults\": 1}");
    let e = check(req, &["sagemaker"]).await.unwrap_err();
    assert_eq!(
        e,
        AuthError::BadSignature(AuthError::SIGNATURE_MISMATCH.into())
    );
    assert_eq!(e.code(), "InvalidSignatureException");

    let other_secret = Signed {
        secret: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEZ",
        ..Signed::default()
    };
    let e = check(other_secret.request(), &["sagemaker"])
        .await
        .unwrap_err();
    assert_eq!(
        e,
        AuthError::BadSignature(AuthError::SIGNATURE_MISMATCH.into())
    );
}

#[tokio::test]
async fn the_host_header_port_is_signed() {
    let mut req = Signed::default().request();
    req.headers_mut()
        .insert(http::header::HOST, "127.0.0.1:9999".parse().unwrap());
    let e = check(req, &["sagemaker"]).await.unwrap_err();
    assert!(matches!(e, AuthError::BadSignature(_)), "{e:?}");
}

#[tokio::test]
async fn an_unsigned_x_amz_target_is_refused() {
    let signed = Signed {
        headers: vec![("content-type", "application/x-amz-json-1.1")],
        ..Signed::default()
    };
    let mut req = signed.request();
    req.headers_mut()
        .insert("x-amz-target", "SageMaker.DeleteModel".parse().unwrap());
    let e = check(req, &["sagemaker"]).await.unwrap_err();
    assert!(
        matches!(&e, AuthError::BadSignature(m) if m.contains("must be a 'SignedHeader'")),
        "{e:?}"
    );
}

#[tokio::test]
async fn unknown_key_missing_and_malformed() {
    let unknown = Signed {
        key: "AKIDNOBODY",
        ..Signed::default()
    };
    let e = check(unknown.request(), &["sagemaker"]).await.unwrap_err();
    assert_eq!(e, AuthError::UnknownKey);
    assert_eq!(e.code(), "UnrecognizedClientException");

    let mut req = Signed::default().request();
    req.headers_mut().remove(http::header::AUTHORIZATION);
    assert_eq!(
        check(req, &["sagemaker"]).await.unwrap_err(),
        AuthError::Missing
    );

    for bad in [
        "AWS4-HMAC-SHA256 Credential=AKIDGUARDRAILTEST/20240101/us-east-1/sagemaker/aws4_request",
        "AWS4-HMAC-SHA256 Credential",
        "Bearer abc",
        "AWS4-HMAC-SHA512 Credential=a, SignedHeaders=host, Signature=00",
    ] {
        let mut req = Signed::default().request();
        req.headers_mut()
            .insert(http::header::AUTHORIZATION, bad.parse().unwrap());
        let e = check(req, &["sagemaker"]).await.unwrap_err();
        assert!(matches!(e, AuthError::Incomplete(_)), "{bad}: {e:?}");
        assert_eq!(e.code(), "IncompleteSignatureException");
    }
}

#[tokio::test]
async fn clock_skew_over_15_minutes_is_refused_both_ways() {
    let now = SystemTime::now();
    let old = Signed {
        time: now - Duration::from_secs(20 * 60),
        ..Signed::default()
    };
    let e = check(old.request(), &["sagemaker"]).await.unwrap_err();
    assert!(expired(&e), "{e:?}");
    assert_eq!(e.status(), 403);

    let ahead = Signed {
        time: now + Duration::from_secs(20 * 60),
        ..Signed::default()
    };
    let e = check(ahead.request(), &["sagemaker"]).await.unwrap_err();
    assert!(
        matches!(&e, AuthError::BadSignature(m) if m.starts_with("Signature not yet current")),
        "{e:?}"
    );
    // 14 minutes is within the window.
    let fine = Signed {
        time: now - Duration::from_secs(14 * 60),
        ..Signed::default()
    };
    check(fine.request(), &["sagemaker"]).await.unwrap();
}

#[tokio::test]
async fn another_region_is_refused() {
    let eu = Signed {
        region: "eu-west-1",
        ..Signed::default()
    };
    let e = check(eu.request(), &["sagemaker"]).await.unwrap_err();
    assert_eq!(
        e,
        AuthError::BadSignature(
            "Credential should be scoped to a valid region, not 'eu-west-1'.".into()
        )
    );
}

#[tokio::test]
async fn presigned_urls_honour_x_amz_expires() {
    let now = SystemTime::now();
    let fresh = Signed {
        presign: Some(Duration::from_secs(300)),
        ..Signed::default()
    };
    let req = fresh.request();
    assert!(req.uri().query().unwrap().contains("X-Amz-Signature="));
    assert!(req.headers().get(http::header::AUTHORIZATION).is_none());
    check(req, &["sagemaker"]).await.unwrap();

    // An hour-long presign used 20 minutes later is still valid (past the ±15 min rule).
    let long = Signed {
        presign: Some(Duration::from_secs(3600)),
        time: now - Duration::from_secs(20 * 60),
        ..Signed::default()
    };
    check(long.request(), &["sagemaker"]).await.unwrap();

    // A one-minute presign used five minutes later has expired.
    let short = Signed {
        presign: Some(Duration::from_secs(60)),
        time: now - Duration::from_secs(5 * 60),
        ..Signed::default()
    };
    let e = check(short.request(), &["sagemaker"]).await.unwrap_err();
    assert!(expired(&e), "{e:?}");

    // A tampered presigned signature.
    let req = fresh.request();
    let q = req.uri().to_string();
    let (head, sig) = q.split_once("X-Amz-Signature=").unwrap();
    let flipped = if sig.starts_with('0') { "1" } else { "0" };
    let uri = format!("{head}X-Amz-Signature={flipped}{}", &sig[1..]);
    let (mut parts, body) = req.into_parts();
    parts.uri = uri.parse().unwrap();
    let e = check(http::Request::from_parts(parts, body), &["sagemaker"])
        .await
        .unwrap_err();
    assert_eq!(
        e,
        AuthError::BadSignature(AuthError::SIGNATURE_MISMATCH.into())
    );
}

#[tokio::test]
async fn a_bad_x_amz_expires_is_incomplete() {
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
    let e = check(http::Request::from_parts(parts, body), &["sagemaker"])
        .await
        .unwrap_err();
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
    let c = Credentials::new([(KEY.to_string(), SECRET.to_string())]).unwrap();
    let shown = format!("{c:?}");
    assert!(shown.contains(KEY) && !shown.contains(SECRET), "{shown}");
    assert_eq!(c.key_ids(), vec![KEY]);

    assert_eq!(
        Credentials::new([(KEY.to_string(), "short".to_string())]).unwrap_err(),
        CredentialsError::BadSecret(KEY.into())
    );
    assert!(!CredentialsError::BadSecret(KEY.into())
        .to_string()
        .contains("short"));
    assert_eq!(
        Credentials::new([
            (KEY.to_string(), SECRET.to_string()),
            (KEY.to_string(), SECRET.to_string())
        ])
        .unwrap_err(),
        CredentialsError::Duplicate(KEY.into())
    );
    assert_eq!(
        Credentials::new([("AK/ID".to_string(), SECRET.to_string())]).unwrap_err(),
        CredentialsError::BadKeyId("AK/ID".into())
    );
    assert_eq!(
        Credentials::new(Vec::<(String, String)>::new()).unwrap_err(),
        CredentialsError::Empty
    );
}
