//! SigV4 authentication end to end: the real binary with `[[credentials]]`, requests signed by
//! the AWS SDK's own signer (`aws-sigv4`), on every API the port serves.
#![allow(clippy::disallowed_methods)] // signs with the wall clock, as clients do

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

use aws_sigv4::http_request::{
    sign, SignableBody, SignableRequest, SignatureLocation, SigningSettings,
};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;
use common::*;
use serde_json::{json, Value};

const KEY: &str = "AKIDGUARDRAILIT";
const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
const OTHER_SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEZ";
const REGION: &str = "us-east-1";

fn credentials_toml() -> String {
    format!("[[credentials]]\naccess_key_id = \"{KEY}\"\nsecret_access_key = \"{SECRET}\"\n")
}

#[derive(Clone)]
struct Signer {
    key: &'static str,
    secret: &'static str,
    /// Temporary credentials: signed (and sent) with this session token.
    token: Option<&'static str>,
    service: &'static str,
    time: SystemTime,
    presign: Option<Duration>,
    /// Sign this `Host` instead of the one sent.
    signed_host: Option<String>,
}

impl Signer {
    fn new(service: &'static str) -> Signer {
        Signer {
            key: KEY,
            secret: SECRET,
            token: None,
            service,
            time: SystemTime::now(),
            presign: None,
            signed_host: None,
        }
    }
}

struct Reply {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: String,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }

    fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }
}

struct Client {
    base: String,
    http: reqwest::blocking::Client,
}

impl Client {
    fn new(server: &Server) -> Client {
        Client {
            base: server.url.clone(),
            http: reqwest::blocking::Client::builder()
                .no_proxy()
                .timeout(Duration::from_secs(30))
                .build()
                .unwrap(),
        }
    }

    /// POSTs `sent` to `path`, signed (when `signer` is given) over `signed`.
    fn post_raw(
        &self,
        signer: Option<&Signer>,
        path: &str,
        headers: &[(&str, &str)],
        signed: &[u8],
        sent: &[u8],
    ) -> Reply {
        self.send("POST", signer, path, headers, signed, sent)
    }

    fn send(
        &self,
        method: &str,
        signer: Option<&Signer>,
        path: &str,
        headers: &[(&str, &str)],
        signed: &[u8],
        sent: &[u8],
    ) -> Reply {
        let url = format!("{}{path}", self.base);
        let mut req = http::Request::builder().method(method).uri(&url);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let mut req = req.body(sent.to_vec()).unwrap();
        if let Some(s) = signer {
            let token = s.token.map(str::to_string);
            let identity: Identity =
                aws_credential_types::Credentials::new(s.key, s.secret, token, None, "test").into();
            let mut settings = SigningSettings::default();
            if let Some(exp) = s.presign {
                settings.signature_location = SignatureLocation::QueryParams;
                settings.expires_in = Some(exp);
            }
            let params = v4::SigningParams::builder()
                .identity(&identity)
                .region(REGION)
                .name(s.service)
                .time(s.time)
                .settings(settings)
                .build()
                .unwrap()
                .into();
            let mut to_sign: Vec<(&str, &str)> = headers.to_vec();
            if let Some(host) = &s.signed_host {
                to_sign.push(("host", host));
            }
            let signable = SignableRequest::new(
                method,
                &url,
                to_sign.into_iter(),
                SignableBody::Bytes(signed),
            )
            .unwrap();
            let (instructions, _) = sign(signable, &params).unwrap().into_parts();
            instructions.apply_to_request_http1x(&mut req);
        }
        let req = reqwest::blocking::Request::try_from(req).unwrap();
        let resp = self.http.execute(req).unwrap();
        Reply {
            status: resp.status().as_u16(),
            headers: resp.headers().clone(),
            body: resp.text().unwrap_or_default(),
        }
    }

    fn sagemaker(&self, signer: Option<&Signer>, op: &str, body: &Value) -> Reply {
        let target = format!("SageMaker.{op}");
        let headers = [
            ("content-type", "application/x-amz-json-1.1"),
            ("x-amz-target", target.as_str()),
        ];
        let b = body.to_string().into_bytes();
        self.post_raw(signer, "/", &headers, &b, &b)
    }

    fn sm_ok(&self, op: &str, body: Value) -> Value {
        let r = self.sagemaker(Some(&Signer::new("sagemaker")), op, &body);
        assert_eq!(r.status, 200, "{op}: {}", r.body);
        r.json()
    }

    fn cloudwatch_json(&self, signer: Option<&Signer>, op: &str, body: &Value) -> Reply {
        let target = format!("GraniteServiceVersion20100801.{op}");
        let headers = [
            ("content-type", "application/x-amz-json-1.0"),
            ("x-amz-target", target.as_str()),
        ];
        let b = body.to_string().into_bytes();
        self.post_raw(signer, "/", &headers, &b, &b)
    }

    fn cloudwatch_query(&self, signer: Option<&Signer>, form: &str) -> Reply {
        let headers = [(
            "content-type",
            "application/x-www-form-urlencoded; charset=utf-8",
        )];
        self.post_raw(signer, "/", &headers, form.as_bytes(), form.as_bytes())
    }

    fn invoke(&self, signer: Option<&Signer>, endpoint: &str, body: &[u8]) -> Reply {
        let path = format!("/endpoints/{endpoint}/invocations");
        let headers = [("content-type", "application/json")];
        self.post_raw(signer, &path, &headers, body, body)
    }
}

fn assert_json_error(r: &Reply, status: u16, code: &str) {
    assert_eq!(r.status, status, "{}", r.body);
    assert_eq!(r.json()["__type"], code, "{}", r.body);
}

fn assert_runtime_error(r: &Reply, status: u16, code: &str) {
    assert_eq!(r.status, status, "{}", r.body);
    assert_eq!(r.header("x-amzn-errortype"), code, "{}", r.body);
    assert!(r.json()["message"].is_string(), "{}", r.body);
}

fn assert_query_error(r: &Reply, status: u16, code: &str) {
    assert_eq!(r.status, status, "{}", r.body);
    assert_eq!(r.header("x-amzn-query-error"), format!("{code};Sender"));
    assert!(
        r.body.contains(&format!("<Code>{code}</Code>")),
        "{}",
        r.body
    );
}

#[test]
fn signed_requests_reach_every_api() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_with_config(&dir.path().join("data"), &credentials_toml());
    let c = Client::new(&server);
    let log = std::fs::read_to_string(&server.log).unwrap();
    assert!(log.contains("authentication is on"), "{log}");

    // Control plane: create a real endpoint through signed calls.
    c.sm_ok(
        "CreateModel",
        json!({"ModelName": "m", "PrimaryContainer": {"Image": "model:v1"}}),
    );
    c.sm_ok(
        "CreateEndpointConfig",
        json!({"EndpointConfigName": "c", "ProductionVariants": [{"VariantName": "AllTraffic",
            "ModelName": "m", "InitialInstanceCount": 1, "InstanceType": "ml.m5.large"}]}),
    );
    c.sm_ok(
        "CreateEndpoint",
        json!({"EndpointName": "ep", "EndpointConfigName": "c"}),
    );
    server.wait_for("ep InService", Duration::from_secs(30), || {
        c.sm_ok("DescribeEndpoint", json!({"EndpointName": "ep"}))["EndpointStatus"] == "InService"
    });

    // Runtime: boto3's sagemaker-runtime signs with service `sagemaker`.
    let r = c.invoke(Some(&Signer::new("sagemaker")), "ep", br#"{"x": 1}"#);
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["model_version"], "v1");

    // CloudWatch: awsJson1_0, awsQuery and rpc-v2-cbor, signed as `monitoring`.
    let cw = Signer::new("monitoring");
    let r = c.cloudwatch_json(Some(&cw), "ListMetrics", &json!({}));
    assert_eq!(r.status, 200, "{}", r.body);
    let r = c.cloudwatch_query(Some(&cw), "Action=ListMetrics&Version=2010-08-01");
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("ListMetricsResponse"), "{}", r.body);
    let cbor_headers = [
        ("content-type", "application/cbor"),
        ("accept", "application/cbor"),
        ("smithy-protocol", "rpc-v2-cbor"),
    ];
    let path = "/service/GraniteServiceVersion20100801/operation/ListMetrics";
    let r = c.post_raw(Some(&cw), path, &cbor_headers, b"\xa0", b"\xa0");
    assert_eq!(r.status, 200, "{}", r.body);
    let r = c.post_raw(None, path, &cbor_headers, b"\xa0", b"\xa0");
    assert_eq!(r.status, 403);
    assert_eq!(
        r.header("x-amzn-query-error"),
        "MissingAuthenticationToken;Sender"
    );

    // /metrics takes SigV4 like everything else when no metrics_token is set; /healthz is open.
    let r = c.send(
        "GET",
        Some(&Signer::new("sagemaker")),
        "/metrics",
        &[],
        b"",
        b"",
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("# EOF"), "{}", r.body);
    let r = c.send("GET", None, "/metrics", &[], b"", b"");
    assert_runtime_error(&r, 403, "MissingAuthenticationTokenException");
    let r = c.send("GET", None, "/healthz", &[], b"", b"");
    assert_eq!(r.status, 200);
    // Unknown paths authenticate first, then 404.
    let r = c.send("GET", None, "/nope", &[], b"", b"");
    assert_eq!(r.status, 403);
    let r = c.send(
        "GET",
        Some(&Signer::new("sagemaker")),
        "/nope",
        &[],
        b"",
        b"",
    );
    assert_eq!(r.status, 404);
}

#[test]
fn bad_missing_unknown_and_stale_signatures_are_refused_in_each_protocol() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_with_config(&dir.path().join("data"), &credentials_toml());
    let c = Client::new(&server);
    let sm = Signer::new("sagemaker");
    let cw = Signer::new("monitoring");
    let unknown = |s: &Signer| Signer {
        key: "AKIDNOBODY",
        ..s.clone()
    };
    let wrong_secret = |s: &Signer| Signer {
        secret: OTHER_SECRET,
        ..s.clone()
    };
    let stale = |s: &Signer| Signer {
        time: SystemTime::now() - Duration::from_secs(20 * 60),
        ..s.clone()
    };
    let create = json!({"ModelName": "sneaky", "PrimaryContainer": {"Image": "model:v1"}});

    // SageMaker (awsJson1_1).
    assert_json_error(
        &c.sagemaker(None, "CreateModel", &create),
        403,
        "MissingAuthenticationTokenException",
    );
    assert_json_error(
        &c.sagemaker(Some(&unknown(&sm)), "CreateModel", &create),
        403,
        "UnrecognizedClientException",
    );
    assert_json_error(
        &c.sagemaker(Some(&wrong_secret(&sm)), "CreateModel", &create),
        403,
        "InvalidSignatureException",
    );
    let r = c.sagemaker(Some(&stale(&sm)), "CreateModel", &create);
    assert_json_error(&r, 403, "InvalidSignatureException");
    assert!(
        r.json()["message"]
            .as_str()
            .unwrap()
            .starts_with("Signature expired"),
        "{}",
        r.body
    );
    let r = c.sagemaker(Some(&Signer::new("monitoring")), "CreateModel", &create);
    assert_json_error(&r, 400, "InvalidSignatureException");
    // Tampered body: signed over one body, another sent.
    let signed = json!({"ModelName": "other", "PrimaryContainer": {"Image": "model:v1"}});
    let r = c.post_raw(
        Some(&sm),
        "/",
        &[
            ("content-type", "application/x-amz-json-1.1"),
            ("x-amz-target", "SageMaker.CreateModel"),
        ],
        signed.to_string().as_bytes(),
        create.to_string().as_bytes(),
    );
    assert_json_error(&r, 403, "InvalidSignatureException");
    // Malformed Authorization header.
    let r = c.post_raw(
        None,
        "/",
        &[
            ("content-type", "application/x-amz-json-1.1"),
            ("x-amz-target", "SageMaker.ListModels"),
            ("authorization", "AWS4-HMAC-SHA256 Credential=oops"),
            ("x-amz-date", "20240101T000000Z"),
        ],
        b"{}",
        b"{}",
    );
    assert_json_error(&r, 400, "IncompleteSignatureException");
    // None of it reached the handler.
    let models = c.sm_ok("ListModels", json!({}));
    assert_eq!(models["Models"], json!([]), "{models}");

    // Runtime (restJson1).
    assert_runtime_error(
        &c.invoke(None, "ep", b"{}"),
        403,
        "MissingAuthenticationTokenException",
    );
    assert_runtime_error(
        &c.invoke(Some(&unknown(&sm)), "ep", b"{}"),
        403,
        "UnrecognizedClientException",
    );
    assert_runtime_error(
        &c.invoke(Some(&wrong_secret(&sm)), "ep", b"{}"),
        403,
        "InvalidSignatureException",
    );
    assert_runtime_error(
        &c.invoke(Some(&stale(&sm)), "ep", b"{}"),
        403,
        "InvalidSignatureException",
    );
    let r = c.post_raw(
        Some(&sm),
        "/endpoints/ep/invocations",
        &[("content-type", "application/json")],
        b"{\"a\": 1}",
        b"{\"a\": 2}",
    );
    assert_runtime_error(&r, 403, "InvalidSignatureException");
    // Signed correctly, it reaches the handler (no such endpoint).
    assert_runtime_error(&c.invoke(Some(&sm), "ep", b"{}"), 400, "ValidationError");

    // CloudWatch awsJson1_0: query spellings in x-amzn-query-error (what botocore reports).
    let r = c.cloudwatch_json(None, "ListMetrics", &json!({}));
    assert_eq!(r.status, 403);
    assert_eq!(
        r.header("x-amzn-query-error"),
        "MissingAuthenticationToken;Sender"
    );
    let r = c.cloudwatch_json(Some(&unknown(&cw)), "ListMetrics", &json!({}));
    assert_eq!(
        r.header("x-amzn-query-error"),
        "InvalidClientTokenId;Sender"
    );
    assert_eq!(r.status, 403);
    let r = c.cloudwatch_json(Some(&wrong_secret(&cw)), "ListMetrics", &json!({}));
    assert_eq!(
        r.header("x-amzn-query-error"),
        "SignatureDoesNotMatch;Sender"
    );
    let r = c.cloudwatch_json(Some(&stale(&cw)), "ListMetrics", &json!({}));
    assert_eq!(
        r.header("x-amzn-query-error"),
        "SignatureDoesNotMatch;Sender"
    );

    // CloudWatch awsQuery: XML ErrorResponse.
    let form = "Action=ListMetrics&Version=2010-08-01";
    assert_query_error(
        &c.cloudwatch_query(None, form),
        403,
        "MissingAuthenticationToken",
    );
    assert_query_error(
        &c.cloudwatch_query(Some(&unknown(&cw)), form),
        403,
        "InvalidClientTokenId",
    );
    assert_query_error(
        &c.cloudwatch_query(Some(&wrong_secret(&cw)), form),
        403,
        "SignatureDoesNotMatch",
    );
    assert_query_error(
        &c.cloudwatch_query(Some(&stale(&cw)), form),
        403,
        "SignatureDoesNotMatch",
    );

    // Rejections are logged with the key id, never with secrets or the Authorization header.
    let log = std::fs::read_to_string(&server.log).unwrap();
    assert!(log.contains("AKIDNOBODY"), "{log}");
    assert!(
        !log.contains(SECRET) && !log.contains(OTHER_SECRET),
        "{log}"
    );
    assert!(!log.contains("Signature="), "{log}");
}

#[test]
fn presigned_urls_work_and_the_host_port_is_signed() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_with_config(&dir.path().join("data"), &credentials_toml());
    let c = Client::new(&server);

    let presigned = Signer {
        presign: Some(Duration::from_secs(300)),
        ..Signer::new("sagemaker")
    };
    let r = c.sagemaker(Some(&presigned), "ListModels", &json!({}));
    assert_eq!(r.status, 200, "{}", r.body);
    let r = c.send("GET", Some(&presigned), "/metrics", &[], b"", b"");
    assert_eq!(r.status, 200, "{}", r.body);
    // A presigned URL used after X-Amz-Expires.
    let expired = Signer {
        presign: Some(Duration::from_secs(60)),
        time: SystemTime::now() - Duration::from_secs(120),
        ..Signer::new("sagemaker")
    };
    let r = c.sagemaker(Some(&expired), "ListModels", &json!({}));
    assert_json_error(&r, 403, "InvalidSignatureException");

    // Clients sign `Host` with the port: another port does not verify.
    let port = server.url.rsplit(':').next().unwrap().to_string();
    let other_port = Signer {
        signed_host: Some(format!("127.0.0.1:{}", port.parse::<u16>().unwrap() ^ 1)),
        ..Signer::new("sagemaker")
    };
    let r = c.sagemaker(Some(&other_port), "ListModels", &json!({}));
    assert_json_error(&r, 403, "InvalidSignatureException");
    let same_port = Signer {
        signed_host: Some(format!("127.0.0.1:{port}")),
        ..Signer::new("sagemaker")
    };
    let r = c.sagemaker(Some(&same_port), "ListModels", &json!({}));
    assert_eq!(r.status, 200, "{}", r.body);
}

#[test]
fn oversized_bodies_get_the_size_error_without_being_handled() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_with_config(&dir.path().join("data"), &credentials_toml());
    let c = Client::new(&server);
    let mut big =
        br#"{"ModelName": "big", "PrimaryContainer": {"Image": "model:v1"}, "Tags": [], "x": ""#
            .to_vec();
    big.extend(std::iter::repeat_n(b'a', 1024 * 1024 + 10));
    big.extend(b"\"}");
    let headers = [
        ("content-type", "application/x-amz-json-1.1"),
        ("x-amz-target", "SageMaker.CreateModel"),
    ];
    let r = c.post_raw(None, "/", &headers, &big, &big);
    assert_json_error(&r, 413, "SerializationException");
    let r = c.invoke(None, "ep", &vec![b'x'; 6 * 1024 * 1024 + 1]);
    assert_runtime_error(&r, 400, "ValidationError");
    assert_eq!(c.sm_ok("ListModels", json!({}))["Models"], json!([]));
}

#[test]
fn metrics_token_guards_metrics_only() {
    let dir = tempfile::tempdir().unwrap();
    let extra = format!("metrics_token = \"scrape-me-123\"\n{}", credentials_toml());
    let server = Server::start_with_config(&dir.path().join("data"), &extra);
    let c = Client::new(&server);
    let r = c.send("GET", None, "/metrics", &[], b"", b"");
    assert_eq!(r.status, 401, "{}", r.body);
    assert_eq!(r.header("www-authenticate"), "Bearer");
    let wrong = [("authorization", "Bearer scrape-me-124")];
    assert_eq!(
        c.send("GET", None, "/metrics", &wrong, b"", b"").status,
        401
    );
    // With a token configured, only the token opens /metrics.
    let signed = c.send(
        "GET",
        Some(&Signer::new("sagemaker")),
        "/metrics",
        &[],
        b"",
        b"",
    );
    assert_eq!(signed.status, 401);
    let right = [("authorization", "Bearer scrape-me-123")];
    let r = c.send("GET", None, "/metrics", &right, b"", b"");
    assert_eq!(r.status, 200, "{}", r.body);
    // Everything else still needs SigV4.
    assert_json_error(
        &c.sagemaker(None, "ListModels", &json!({})),
        403,
        "MissingAuthenticationTokenException",
    );
    let log = std::fs::read_to_string(&server.log).unwrap();
    assert!(!log.contains("scrape-me-123"), "{log}");
}

/// Runs `guardrail serve` with `args`; returns its exit code if it exits within `wait`, or
/// `None` (after stopping it) if it is still serving.
fn run_serve(args: &[&str], data: &std::path::Path, wait: Duration) -> (Option<i32>, String) {
    let log = data.with_extension("log");
    let mut child = Command::new(BIN)
        .arg("serve")
        .args(args)
        .arg("--data-dir")
        .arg(data)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let start = Instant::now();
    let code = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status.code();
        }
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        if start.elapsed() > wait || text.contains("Guardrail listening") {
            signal(child.id(), "TERM");
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    (code, std::fs::read_to_string(&log).unwrap_or_default())
}

#[test]
fn non_loopback_without_credentials_needs_insecure() {
    let dir = tempfile::tempdir().unwrap();
    let any = format!("0.0.0.0:{}", free_port());
    let (code, log) = run_serve(
        &["--listen", &any],
        &dir.path().join("a"),
        Duration::from_secs(20),
    );
    assert_eq!(code, Some(64), "{log}");
    assert!(log.contains("--insecure"), "{log}");

    let (code, log) = run_serve(
        &["--listen", &any, "--insecure"],
        &dir.path().join("b"),
        Duration::from_secs(20),
    );
    assert_eq!(code, None, "it serves: {log}");
    assert!(log.contains("authentication is off"), "{log}");

    // With credentials a non-loopback address needs no flag.
    let config = dir.path().join("keys.toml");
    std::fs::write(&config, credentials_toml()).unwrap();
    let (code, log) = run_serve(
        &["--listen", &any, "--config", config.to_str().unwrap()],
        &dir.path().join("c"),
        Duration::from_secs(20),
    );
    assert_eq!(code, None, "it serves: {log}");
    assert!(log.contains("authentication is on"), "{log}");

    // Loopback without credentials: the default, with the warning.
    let lo = format!("127.0.0.1:{}", free_port());
    let (code, log) = run_serve(
        &["--listen", &lo],
        &dir.path().join("d"),
        Duration::from_secs(20),
    );
    assert_eq!(code, None, "it serves: {log}");
    assert!(log.contains("authentication is off"), "{log}");
}

const SHORT_KEY: &str = "AKIDSHORTSECRET";
/// 12 characters: self-hosted secrets need not be AWS's 40.
const SHORT_SECRET: &str = "12char/Sec+t";
const TEMP_KEY: &str = "ASIAGUARDRAILIT";
const TEMP_SECRET: &str = "tmp/12+chars";
const SESSION_TOKEN: &str = "FwoGZXIvYXdzEJr//////////wEaDGuardrail+Session/Token==";

fn self_hosted_toml() -> String {
    format!(
        "[[credentials]]\naccess_key_id = \"{SHORT_KEY}\"\nsecret_access_key = \"{SHORT_SECRET}\"\n\
         [[credentials]]\naccess_key_id = \"{TEMP_KEY}\"\nsecret_access_key = \"{TEMP_SECRET}\"\n\
         session_token = \"{SESSION_TOKEN}\"\n"
    )
}

fn short(service: &'static str) -> Signer {
    Signer {
        key: SHORT_KEY,
        secret: SHORT_SECRET,
        ..Signer::new(service)
    }
}

fn temp(service: &'static str, token: Option<&'static str>) -> Signer {
    Signer {
        key: TEMP_KEY,
        secret: TEMP_SECRET,
        token,
        ..Signer::new(service)
    }
}

#[test]
fn a_twelve_character_secret_works_end_to_end() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_with_config(&dir.path().join("data"), &self_hosted_toml());
    let c = Client::new(&server);

    let r = c.sagemaker(Some(&short("sagemaker")), "ListModels", &json!({}));
    assert_eq!(r.status, 200, "{}", r.body);
    let r = c.cloudwatch_json(Some(&short("monitoring")), "ListMetrics", &json!({}));
    assert_eq!(r.status, 200, "{}", r.body);
    let r = c.cloudwatch_query(
        Some(&short("monitoring")),
        "Action=ListMetrics&Version=2010-08-01",
    );
    assert_eq!(r.status, 200, "{}", r.body);
    // Authenticated, the runtime answers for the (missing) endpoint.
    let r = c.invoke(Some(&short("sagemaker")), "ep", b"{}");
    assert_runtime_error(&r, 400, "ValidationError");
    let presigned = Signer {
        presign: Some(Duration::from_secs(300)),
        ..short("sagemaker")
    };
    let r = c.sagemaker(Some(&presigned), "ListModels", &json!({}));
    assert_eq!(r.status, 200, "{}", r.body);
    // One character off does not verify.
    let wrong = Signer {
        secret: "12char/Sec+T",
        ..short("sagemaker")
    };
    let r = c.sagemaker(Some(&wrong), "ListModels", &json!({}));
    assert_json_error(&r, 403, "InvalidSignatureException");

    // Started with a warning naming the key, never the secret.
    let log = std::fs::read_to_string(&server.log).unwrap();
    assert!(log.contains("shorter than 16 characters"), "{log}");
    assert!(log.contains(SHORT_KEY), "{log}");
    assert!(
        !log.contains(SHORT_SECRET) && !log.contains(TEMP_SECRET),
        "{log}"
    );
}

#[test]
fn a_configured_session_token_is_required() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_with_config(&dir.path().join("data"), &self_hosted_toml());
    let c = Client::new(&server);

    // Signed with the token (which the signer puts in the signed headers): accepted everywhere.
    let sm = temp("sagemaker", Some(SESSION_TOKEN));
    let r = c.sagemaker(Some(&sm), "ListModels", &json!({}));
    assert_eq!(r.status, 200, "{}", r.body);
    let cw = temp("monitoring", Some(SESSION_TOKEN));
    let r = c.cloudwatch_json(Some(&cw), "ListMetrics", &json!({}));
    assert_eq!(r.status, 200, "{}", r.body);
    let r = c.cloudwatch_query(Some(&cw), "Action=ListMetrics&Version=2010-08-01");
    assert_eq!(r.status, 200, "{}", r.body);
    assert_runtime_error(&c.invoke(Some(&sm), "ep", b"{}"), 400, "ValidationError");
    // Presigned: the token travels (percent-encoded) in the URL.
    let presigned = Signer {
        presign: Some(Duration::from_secs(300)),
        ..sm
    };
    let r = c.sagemaker(Some(&presigned), "ListModels", &json!({}));
    assert_eq!(r.status, 200, "{}", r.body);

    // Without it, with another one, or with a token for a key that has none: AWS's bad-token
    // error in each protocol.
    let refused = [
        temp("sagemaker", None),
        temp(
            "sagemaker",
            Some("FwoGZXIvYXdzEJr//////////wEaDGuardrail+Session/Token=/"),
        ),
        Signer {
            token: Some(SESSION_TOKEN),
            ..short("sagemaker")
        },
        Signer {
            presign: Some(Duration::from_secs(300)),
            ..temp("sagemaker", None)
        },
    ];
    for signer in &refused {
        let r = c.sagemaker(Some(signer), "ListModels", &json!({}));
        assert_json_error(&r, 403, "UnrecognizedClientException");
        assert_eq!(
            r.json()["message"],
            "The security token included in the request is invalid."
        );
        let r = c.invoke(Some(signer), "ep", b"{}");
        assert_runtime_error(&r, 403, "UnrecognizedClientException");
        let cw = Signer {
            service: "monitoring",
            ..signer.clone()
        };
        let r = c.cloudwatch_json(Some(&cw), "ListMetrics", &json!({}));
        assert_eq!(r.status, 403, "{}", r.body);
        assert_eq!(
            r.header("x-amzn-query-error"),
            "InvalidClientTokenId;Sender"
        );
        let r = c.cloudwatch_query(Some(&cw), "Action=ListMetrics&Version=2010-08-01");
        assert_query_error(&r, 403, "InvalidClientTokenId");
    }

    let log = std::fs::read_to_string(&server.log).unwrap();
    assert!(log.contains("X-Amz-Security-Token"), "{log}");
    assert!(
        !log.contains(SESSION_TOKEN) && !log.contains("Session/Token"),
        "{log}"
    );
    assert!(!log.contains(TEMP_SECRET), "{log}");
}

#[test]
fn secrets_outside_8_to_128_printable_characters_exit_64_with_the_rule() {
    let dir = tempfile::tempdir().unwrap();
    for (i, secret) in ["seven77", &"x".repeat(129), "has a space"]
        .iter()
        .enumerate()
    {
        let config = dir.path().join(format!("bad{i}.toml"));
        std::fs::write(
            &config,
            format!(
                "[[credentials]]\naccess_key_id = \"AKIDBAD\"\nsecret_access_key = \"{secret}\"\n"
            ),
        )
        .unwrap();
        let (code, log) = run_serve(
            &["--config", config.to_str().unwrap()],
            &dir.path().join(format!("d{i}")),
            Duration::from_secs(20),
        );
        assert_eq!(code, Some(64), "{log}");
        assert!(
            log.contains(
                "secret_access_key of \"AKIDBAD\" must be 8–128 printable ASCII characters (0x21–0x7E)"
            ),
            "{log}"
        );
        assert!(!log.contains(secret), "{log}");
    }
}
