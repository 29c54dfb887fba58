//! Hostile input against the running server: valid requests of every protocol, mutated at
//! random (bit flips, truncation, splices, junk, wrong framing headers), plus hand-made
//! nasties (deep nesting, invalid UTF-8, oversized declared lengths). The server must answer
//! every one with a 4xx/expected status — never a 5xx of its own, never a dropped connection —
//! stay up, and keep serving its real endpoint. `GUARDRAIL_FUZZ_REQUESTS` scales the run
//! (default 100 000); `GUARDRAIL_FUZZ_SEED` replays one.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;
use serde_json::json;

#[derive(Clone)]
struct Seed {
    path: &'static str,
    headers: Vec<(&'static str, String)>,
    body: Vec<u8>,
}

fn json_call(target: &str, ct: &str, body: serde_json::Value) -> Seed {
    Seed {
        path: "/",
        headers: vec![("x-amz-target", target.into()), ("content-type", ct.into())],
        body: body.to_string().into_bytes(),
    }
}

fn seeds() -> Vec<Seed> {
    let sm = |op: &str, body| {
        json_call(
            &format!("SageMaker.{op}"),
            "application/x-amz-json-1.1",
            body,
        )
    };
    let cw = |op: &str, body| {
        json_call(
            &format!("GraniteServiceVersion20100801.{op}"),
            "application/x-amz-json-1.0",
            body,
        )
    };
    vec![
        sm("CreateModel", json!({"ModelName": "fz-m", "PrimaryContainer": {"Image": "model:v1", "Environment": {"A": "b"}}})),
        sm("CreateEndpointConfig", json!({"EndpointConfigName": "fz-c", "ProductionVariants": [{"VariantName": "v", "ModelName": "fz-m", "InitialInstanceCount": 1, "InstanceType": "ml.m5.large"}]})),
        sm("DescribeEndpoint", json!({"EndpointName": "fuzzed"})),
        sm("ListModels", json!({"MaxResults": 5, "SortBy": "Name", "NameContains": "a"})),
        sm("UpdateEndpoint", json!({"EndpointName": "fuzzed", "EndpointConfigName": "fz-c", "DeploymentConfig": {"BlueGreenUpdatePolicy": {"TrafficRoutingConfiguration": {"Type": "CANARY", "WaitIntervalInSeconds": 1, "CanarySize": {"Type": "INSTANCE_COUNT", "Value": 1}}}}})),
        sm("AddTags", json!({"ResourceArn": "arn:aws:sagemaker:us-east-1:123456789012:model/fz-m", "Tags": [{"Key": "k", "Value": "v"}]})),
        cw("PutMetricAlarm", json!({"AlarmName": "fz-a", "Namespace": "N", "MetricName": "M", "Statistic": "Sum", "Period": 1, "EvaluationPeriods": 1, "Threshold": 1.0, "ComparisonOperator": "GreaterThanThreshold"})),
        cw("PutMetricData", json!({"Namespace": "N", "MetricData": [{"MetricName": "M", "Value": 1.5, "Dimensions": [{"Name": "a", "Value": "b"}]}, {"MetricName": "M", "Values": [1.0, 2.0], "Counts": [1.0, 3.0]}]})),
        cw("GetMetricData", json!({"MetricDataQueries": [{"Id": "m1", "MetricStat": {"Metric": {"Namespace": "N", "MetricName": "M"}, "Period": 1, "Stat": "Sum"}}, {"Id": "e", "Expression": "m1*2"}], "StartTime": 1795400000.0, "EndTime": 1795400600.0})),
        cw("DescribeAlarms", json!({"AlarmNamePrefix": "fz", "MaxRecords": 2})),
        cw("SetAlarmState", json!({"AlarmName": "fz-a", "StateValue": "OK", "StateReason": "r", "StateReasonData": "{\"a\":1}"})),
        Seed {
            path: "/",
            headers: vec![("content-type", "application/x-www-form-urlencoded".into())],
            body: b"Action=PutMetricAlarm&Version=2010-08-01&AlarmName=fz-q&Namespace=N&MetricName=M&Statistic=Sum&Period=60&EvaluationPeriods=1&Threshold=1&ComparisonOperator=GreaterThanThreshold&Dimensions.member.1.Name=a&Dimensions.member.1.Value=b".to_vec(),
        },
        Seed {
            path: "/service/GraniteServiceVersion20100801/operation/DescribeAlarms",
            headers: vec![("content-type", "application/cbor".into()), ("smithy-protocol", "rpc-v2-cbor".into())],
            // {"AlarmNamePrefix": "fz", "MaxRecords": 5}
            body: vec![0xa2, 0x6f, b'A', b'l', b'a', b'r', b'm', b'N', b'a', b'm', b'e', b'P', b'r', b'e', b'f', b'i', b'x', 0x62, b'f', b'z', 0x6a, b'M', b'a', b'x', b'R', b'e', b'c', b'o', b'r', b'd', b's', 0x05],
        },
        Seed {
            path: "/endpoints/fuzzed/invocations",
            headers: vec![("content-type", "application/json".into()), ("x-amzn-sagemaker-custom-attributes", "a=b".into())],
            body: b"{\"instances\": [1, 2, 3]}".to_vec(),
        },
    ]
}

const JUNK_TARGETS: &[&str] = &[
    "SageMaker.",
    "SageMaker.Nope",
    "GraniteServiceVersion20100801.Nope",
    "X",
    "",
    "SageMaker.CreateModel\u{0}",
];
const JUNK_TYPES: &[&str] = &[
    "application/x-amz-json-1.1",
    "application/x-amz-json-1.0",
    "application/cbor",
    "application/x-www-form-urlencoded",
    "text/plain",
    "application/json; charset=utf-16",
    "",
];
const JUNK_PATHS: &[&str] = &[
    "/",
    "/endpoints//invocations",
    "/endpoints/%ff%fe/invocations",
    "/service/GraniteServiceVersion20100801/operation/",
    "/service/x/operation/DescribeAlarms",
    "/metrics",
    "/healthz",
    "/../../etc/passwd",
    "/endpoints/fuzzed/invocations",
];

/// One mutated request from a seed.
fn mutate(rng: &mut Rng, seeds: &[Seed]) -> Seed {
    let mut s = seeds[rng.below(seeds.len())].clone();
    for _ in 0..1 + rng.below(3) {
        match rng.below(12) {
            0 if !s.body.is_empty() => {
                let i = rng.below(s.body.len());
                s.body[i] ^= 1 << rng.below(8);
            }
            1 => {
                let n = rng.below(s.body.len() + 1);
                s.body.truncate(n);
            }
            2 => {
                let i = rng.below(s.body.len() + 1);
                let junk: Vec<u8> = (0..1 + rng.below(16)).map(|_| rng.next() as u8).collect();
                s.body.splice(i..i, junk);
            }
            3 => {
                let other = &seeds[rng.below(seeds.len())].body;
                let cut = rng.below(other.len() + 1);
                let at = rng.below(s.body.len() + 1);
                s.body.truncate(at);
                s.body.extend_from_slice(&other[cut..]);
            }
            4 => s.headers.retain(|(k, _)| *k != "x-amz-target"),
            5 => s.headers.push((
                "x-amz-target",
                JUNK_TARGETS[rng.below(JUNK_TARGETS.len())].into(),
            )),
            6 => {
                s.headers.retain(|(k, _)| *k != "content-type");
                s.headers.push((
                    "content-type",
                    JUNK_TYPES[rng.below(JUNK_TYPES.len())].into(),
                ));
            }
            7 => s.path = JUNK_PATHS[rng.below(JUNK_PATHS.len())],
            8 => {
                // Numbers and strings at their limits.
                let text = String::from_utf8_lossy(&s.body)
                    .replace("1.5", "1e400")
                    .replace(": 1,", ": -99999999999999999999,");
                s.body = text.into_bytes();
            }
            9 => s.body = vec![0xff, 0xfe, 0xc3, 0x28, b'{', b'"', 0xa0, 0xa1],
            10 => s.headers.push(("content-encoding", "gzip".into())),
            _ => {}
        }
    }
    s
}

/// Requests no mutation produces: deep nesting, huge documents, bad lengths.
fn nasties() -> Vec<Seed> {
    let deep = |open: &str, close: &str, n: usize| {
        format!("{}{}", open.repeat(n), close.repeat(n)).into_bytes()
    };
    let sm = |body: Vec<u8>| Seed {
        path: "/",
        headers: vec![
            ("x-amz-target", "SageMaker.CreateModel".into()),
            ("content-type", "application/x-amz-json-1.1".into()),
        ],
        body,
    };
    let cw = |body: Vec<u8>| Seed {
        path: "/",
        headers: vec![
            (
                "x-amz-target",
                "GraniteServiceVersion20100801.PutMetricData".into(),
            ),
            ("content-type", "application/x-amz-json-1.0".into()),
        ],
        body,
    };
    let mut cbor_deep = vec![0x9f; 100_000];
    cbor_deep.extend(vec![0xff; 100_000]);
    vec![
        sm(deep("[", "]", 100_000)),
        sm(format!(
            "{{\"ModelName\": {}}}",
            String::from_utf8(deep("{\"a\":", "}", 50_000)).unwrap()
        )
        .into_bytes()),
        cw(deep("[", "]", 100_000)),
        sm(vec![b' '; 900_000]),
        sm(format!("{{\"ModelName\": \"{}\"}}", "a".repeat(1_000_000)).into_bytes()),
        Seed {
            path: "/service/GraniteServiceVersion20100801/operation/PutMetricData",
            headers: vec![("content-type", "application/cbor".into())],
            body: cbor_deep,
        },
        Seed {
            path: "/",
            headers: vec![("content-type", "application/x-www-form-urlencoded".into())],
            body: format!(
                "Action=PutMetricData&Namespace=N{}",
                "&MetricData.member.1.Dimensions.member.1.Name=a".repeat(20_000)
            )
            .into_bytes(),
        },
        Seed {
            path: "/endpoints/fuzzed/invocations",
            headers: vec![("content-type", "application/json".into())],
            body: vec![b'x'; 7 * 1024 * 1024],
        },
    ]
}

/// Statuses that mean "handled": any 4xx, and the runtime's own non-failures.
fn acceptable(path: &str, status: u16) -> bool {
    (200..500).contains(&status) || (status == 503 && path.starts_with("/endpoints/"))
}

#[test]
fn the_server_survives_random_and_hostile_requests() {
    let total: usize = std::env::var("GUARDRAIL_FUZZ_REQUESTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let seed = seed_from_env("GUARDRAIL_FUZZ_SEED");
    println!("fuzz-report seed={seed} (replay with GUARDRAIL_FUZZ_SEED={seed})");
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"));
    server.create_endpoint("fuzzed", "model:v1", json!({}), 1);
    server.wait_serving("fuzzed", Duration::from_secs(30));

    let seeds = Arc::new(seeds());
    let sent = Arc::new(AtomicUsize::new(0));
    let bad: Arc<Mutex<Vec<String>>> = Arc::new(Mutex::new(Vec::new()));
    let started = Instant::now();
    let threads: Vec<_> = (0..4u64)
        .map(|t| {
            let (seeds, sent, bad, url) =
                (seeds.clone(), sent.clone(), bad.clone(), server.url.clone());
            std::thread::spawn(move || {
                let client = reqwest::blocking::Client::builder()
                    .timeout(Duration::from_secs(30))
                    .build()
                    .unwrap();
                let mut rng = Rng(seed.wrapping_add(t.wrapping_mul(0x9E37_79B9_7F4A_7C15)) | 1);
                let nasty = nasties();
                while sent.fetch_add(1, Ordering::Relaxed) < total
                    && started.elapsed() < Duration::from_secs(600)
                {
                    let s = if rng.below(500) == 0 {
                        nasty[rng.below(nasty.len())].clone()
                    } else {
                        mutate(&mut rng, &seeds)
                    };
                    let mut req = client.post(format!("{url}{}", s.path));
                    for (k, v) in &s.headers {
                        if let Ok(v) = reqwest::header::HeaderValue::from_str(v) {
                            req = req.header(*k, v);
                        }
                    }
                    match req.body(s.body.clone()).send() {
                        Ok(r) if acceptable(s.path, r.status().as_u16()) => {}
                        Ok(r) => bad.lock().unwrap().push(format!(
                            "status {} for {} {:?} body {:?}: {}",
                            r.status(),
                            s.path,
                            s.headers,
                            String::from_utf8_lossy(&s.body[..s.body.len().min(200)]),
                            r.text()
                                .unwrap_or_default()
                                .chars()
                                .take(300)
                                .collect::<String>()
                        )),
                        Err(e) => bad.lock().unwrap().push(format!(
                            "transport error {e} for {} {:?} ({} bytes)",
                            s.path,
                            s.headers,
                            s.body.len()
                        )),
                    }
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let elapsed = started.elapsed();
    let bad = bad.lock().unwrap();
    println!(
        "fuzz-report requests={} wall_s={:.1} rate={:.0}/s unexpected={}",
        total.min(sent.load(Ordering::Relaxed)),
        elapsed.as_secs_f64(),
        total as f64 / elapsed.as_secs_f64(),
        bad.len()
    );
    assert!(
        bad.is_empty(),
        "{} unexpected answers, first: {:#?}",
        bad.len(),
        &bad[..bad.len().min(5)]
    );
    // Still up, still consistent, still serving.
    let (status, body, _) = server.invoke("fuzzed", "{}");
    assert_eq!(status, 200, "{body}");
    // A mutated UpdateEndpoint may legitimately have been accepted.
    let status = server.status("fuzzed");
    assert!(status == "InService" || status == "Updating", "{status}");
    server.ok("ListModels", json!({}));
    server.cw_ok("DescribeAlarms", json!({}));
}
