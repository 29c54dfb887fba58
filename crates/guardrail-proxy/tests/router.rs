//! The router through its public API, against small HTTP servers on 127.0.0.1 standing in
//! for instances: table publishing, variant / fleet / instance choice, the retry rule, the
//! per-instance concurrency limit, the response size limit and how failures are classified.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use guardrail_core::routing::{RouteGroup, RouteInstance, RouteVariant, RoutingPlan};
use guardrail_proxy::{
    InvocationObserver, InvocationOutcome, InvocationRecord, InvokeError, InvokeRequest,
    InvokeResponse, Router, RouterConfig,
};
use http_body_util::{BodyExt, Full};
use tokio::io::AsyncReadExt;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;

const SIX_MIB: usize = 6 * 1024 * 1024;

// ---------------------------------------------------------------------------------------------
// Instances.

/// A stand-in instance: where it listens, how many requests (or connections, for the raw
/// ones) reached it, and a way to make it disappear.
struct Upstream {
    addr: SocketAddr,
    hits: Arc<AtomicUsize>,
    stop: watch::Sender<bool>,
    server: tokio::task::JoinHandle<()>,
}

impl Upstream {
    fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }

    /// Stops listening and closes every connection (the process died).
    async fn kill(self) {
        self.stop.send_replace(true);
        self.server.await.unwrap();
    }
}

type Reply = http::Response<Full<Bytes>>;

/// An HTTP/1.1 server answering each request with `handler`.
async fn upstream<F, Fut>(handler: F) -> Upstream
where
    F: Fn(http::Request<hyper::body::Incoming>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Reply> + Send + 'static,
{
    let handler = Arc::new(handler);
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    serve_raw(
        move |stream, mut stop| {
            let handler = handler.clone();
            let hits = counter.clone();
            async move {
                let service = hyper::service::service_fn(move |req| {
                    hits.fetch_add(1, Ordering::SeqCst);
                    let reply = handler(req);
                    async move { Ok::<_, Infallible>(reply.await) }
                });
                let conn = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), service);
                tokio::select! {
                    _ = conn => {}
                    _ = stop.wait_for(|s| *s) => {}
                }
            }
        },
        hits,
    )
    .await
}

/// A TCP server running `conn` for every accepted connection; `hits` is handed back as the
/// upstream's counter.
async fn serve_raw<C, Fut>(conn: C, hits: Arc<AtomicUsize>) -> Upstream
where
    C: Fn(tokio::net::TcpStream, watch::Receiver<bool>) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = watch::channel(false);
    let server = tokio::spawn(async move {
        let mut conns = JoinSet::new();
        let mut stop_rx = stopped.clone();
        loop {
            tokio::select! {
                accepted = listener.accept() => {
                    let (stream, _) = accepted.unwrap();
                    conns.spawn(conn(stream, stopped.clone()));
                }
                _ = stop_rx.wait_for(|s| *s) => break,
            }
        }
        drop(listener);
        conns.shutdown().await;
    });
    Upstream {
        addr,
        hits,
        stop,
        server,
    }
}

/// Answers 200 with `body` (an instance's id).
async fn answering(body: &'static str) -> Upstream {
    upstream(
        move |_| async move { http::Response::new(Full::new(Bytes::from_static(body.as_bytes()))) },
    )
    .await
}

/// Answers `status` with `body`.
async fn failing(status: u16, body: &'static str) -> Upstream {
    upstream(move |_| async move {
        let mut r = http::Response::new(Full::new(Bytes::from_static(body.as_bytes())));
        *r.status_mut() = http::StatusCode::from_u16(status).unwrap();
        r
    })
    .await
}

/// Answers 200 with `size` bytes.
async fn answering_bytes(size: usize) -> Upstream {
    let body = Bytes::from(vec![b'x'; size]);
    upstream(move |_| {
        let body = body.clone();
        async move { http::Response::new(Full::new(body)) }
    })
    .await
}

/// A gate requests wait at; `open` lets them (and all later ones) through.
#[derive(Clone)]
struct Gate(watch::Sender<bool>);

impl Gate {
    fn closed() -> Gate {
        Gate(watch::channel(false).0)
    }
    fn open(&self) {
        self.0.send_replace(true);
    }
}

/// Answers 200 with `body` once `gate` is open.
async fn holding(body: &'static str, gate: &Gate) -> Upstream {
    let gate = gate.0.clone();
    upstream(move |_| {
        let mut rx = gate.subscribe();
        async move {
            let _ = rx.wait_for(|open| *open).await;
            http::Response::new(Full::new(Bytes::from_static(body.as_bytes())))
        }
    })
    .await
}

/// Reads the request, then closes the connection without answering (a crash mid-request of a
/// server that keeps accepting). Counts requests: connections that sent something (the
/// router's "is it gone?" probe connects and sends nothing).
async fn dropping() -> Upstream {
    raw_requests(false).await
}

/// Reads the request and never answers. Counts requests, as [`dropping`].
async fn silent() -> Upstream {
    raw_requests(true).await
}

async fn raw_requests(hold: bool) -> Upstream {
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    serve_raw(
        move |mut stream, mut stop| {
            let counter = counter.clone();
            async move {
                let mut buf = [0u8; 4096];
                if matches!(stream.read(&mut buf).await, Ok(n) if n > 0) {
                    counter.fetch_add(1, Ordering::SeqCst);
                }
                if hold {
                    let _ = stop.wait_for(|s| *s).await;
                }
            }
        },
        hits,
    )
    .await
}

/// An address nothing listens on: connecting is refused.
async fn refusing() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    listener.local_addr().unwrap()
}

// ---------------------------------------------------------------------------------------------
// Plans, requests, observations.

fn group(config: &str, share: f64, instances: &[(&str, SocketAddr)]) -> RouteGroup {
    RouteGroup {
        fleet: 0,
        config_name: config.to_string(),
        share,
        instances: instances
            .iter()
            .map(|(id, addr)| RouteInstance {
                id: id.to_string(),
                addr: addr.to_string(),
            })
            .collect(),
    }
}

fn variant(name: &str, weight: f64, groups: Vec<RouteGroup>) -> RouteVariant {
    RouteVariant {
        name: name.to_string(),
        weight,
        groups,
    }
}

/// One variant `AllTraffic`, one fleet of these instances.
fn plan(instances: &[(&str, SocketAddr)]) -> RoutingPlan {
    RoutingPlan {
        variants: vec![variant(
            "AllTraffic",
            1.0,
            vec![group("cfg", 1.0, instances)],
        )],
    }
}

fn request() -> InvokeRequest {
    InvokeRequest {
        body: Bytes::from_static(b"{\"x\": 1}"),
        content_type: Some("application/json".to_string()),
        ..InvokeRequest::default()
    }
}

async fn invoke(router: &Router, endpoint: &str) -> Result<InvokeResponse, InvokeError> {
    router.invoke(endpoint, request()).await
}

async fn invoke_variant(
    router: &Router,
    endpoint: &str,
    target: &str,
) -> Result<InvokeResponse, InvokeError> {
    let req = InvokeRequest {
        target_variant: Some(target.to_string()),
        ..request()
    };
    router.invoke(endpoint, req).await
}

/// How many of `n` invocations each instance answered.
async fn spread(router: &Router, endpoint: &str, n: usize) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for _ in 0..n {
        let resp = invoke(router, endpoint).await.expect("served");
        assert_eq!(
            resp.body,
            resp.instance.as_bytes(),
            "answered by another server"
        );
        *counts.entry(resp.instance).or_insert(0) += 1;
    }
    counts
}

/// Waits (bounded, real time) until `cond` holds.
async fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    let waited = tokio::time::timeout(Duration::from_secs(10), async {
        while !cond() {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    })
    .await;
    assert!(waited.is_ok(), "timed out waiting for {what}");
}

fn outstanding(router: &Router, id: &str) -> u32 {
    router.target(id).map_or(0, |t| t.outstanding())
}

/// Starts an invocation in the background and waits until it is outstanding somewhere.
async fn start_invoke(
    router: &Arc<Router>,
    endpoint: &'static str,
    ids: &[&str],
) -> tokio::task::JoinHandle<Result<InvokeResponse, InvokeError>> {
    let before: u32 = ids.iter().map(|i| outstanding(router, i)).sum();
    let r = router.clone();
    let handle = tokio::spawn(async move { invoke(&r, endpoint).await });
    wait_until("the invocation in flight", || {
        ids.iter().map(|i| outstanding(router, i)).sum::<u32>() == before + 1
    })
    .await;
    handle
}

#[derive(Debug, Clone, PartialEq)]
struct Seen {
    endpoint: String,
    variant: String,
    config: String,
    outcome: InvocationOutcome,
    timed: bool,
    serving_instances: usize,
}

#[derive(Default)]
struct Recorder(Mutex<Vec<Seen>>);

impl InvocationObserver for Recorder {
    fn observe(&self, r: &InvocationRecord<'_>) {
        self.0.lock().unwrap().push(Seen {
            endpoint: r.endpoint.to_string(),
            variant: r.variant.to_string(),
            config: r.config.to_string(),
            outcome: r.outcome,
            timed: r.model_latency.is_some(),
            serving_instances: r.serving_instances,
        });
    }
}

impl Recorder {
    fn take(&self) -> Vec<Seen> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}

// ---------------------------------------------------------------------------------------------
// Publishing.

#[tokio::test]
async fn publish_swaps_the_table_and_unpublish_removes_it() {
    let router = Router::new(RouterConfig::default());
    let (a, b) = (answering("a").await, answering("b").await);
    assert!(matches!(
        invoke(&router, "ep").await,
        Err(InvokeError::EndpointNotFound(e)) if e == "ep"
    ));
    assert!(!router.is_routed("ep"));

    router.publish("ep", "Ep", &plan(&[("a", a.addr)]));
    router.publish("other", "Other", &plan(&[("b", b.addr)]));
    assert!(router.is_routed("ep"));
    assert_eq!(
        spread(&router, "ep", 5).await,
        BTreeMap::from([("a".into(), 5)])
    );

    router.publish("ep", "Ep", &plan(&[("b", b.addr)]));
    assert_eq!(
        spread(&router, "ep", 5).await,
        BTreeMap::from([("b".into(), 5)])
    );

    router.unpublish("ep");
    assert!(!router.is_routed("ep"));
    assert!(matches!(
        invoke(&router, "ep").await,
        Err(InvokeError::EndpointNotFound(_))
    ));
    assert!(router.is_routed("other"), "only that endpoint's table goes");
    assert_eq!(
        spread(&router, "other", 2).await,
        BTreeMap::from([("b".into(), 2)])
    );
    assert_eq!(a.hits(), 5);
    assert_eq!(b.hits(), 7);
}

#[tokio::test]
async fn a_request_in_flight_keeps_its_snapshot_and_its_instance_count_survives_a_swap() {
    let router = Arc::new(Router::new(RouterConfig::default()));
    let gate = Gate::closed();
    let (a, b) = (holding("a", &gate).await, answering("b").await);
    router.publish("ep", "Ep", &plan(&[("a", a.addr)]));
    let in_flight = start_invoke(&router, "ep", &["a"]).await;
    let target_a = router.target("a").unwrap();
    assert_eq!(target_a.outstanding(), 1);

    // A out of rotation: new requests go to b; a's count (what draining waits on) stays.
    router.publish("ep", "Ep", &plan(&[("b", b.addr)]));
    assert_eq!(
        spread(&router, "ep", 5).await,
        BTreeMap::from([("b".into(), 5)])
    );
    let still_a = router.target("a").unwrap();
    assert!(Arc::ptr_eq(&target_a, &still_a));
    assert_eq!(still_a.outstanding(), 1);

    gate.open();
    let resp = in_flight
        .await
        .unwrap()
        .expect("the old snapshot still serves it");
    assert_eq!(resp.instance, "a");
    assert_eq!(target_a.outstanding(), 0);

    // Same id and address in a later table: the same target. A new address: a new one.
    router.publish("ep", "Ep", &plan(&[("a", a.addr), ("b", b.addr)]));
    assert!(Arc::ptr_eq(&target_a, &router.target("a").unwrap()));
    let other = answering("a").await;
    router.publish("ep", "Ep", &plan(&[("a", other.addr)]));
    let moved = router.target("a").unwrap();
    assert!(!Arc::ptr_eq(&target_a, &moved));
    assert_eq!(moved.addr, other.addr);
    assert_eq!(
        spread(&router, "ep", 3).await,
        BTreeMap::from([("a".into(), 3)])
    );
    assert_eq!(other.hits(), 3);

    router.forget_target("a");
    assert!(router.target("a").is_none());
}

#[tokio::test]
async fn only_instances_of_the_live_table_are_chosen() {
    let router = Router::new(RouterConfig::default());
    let (a, b) = (answering("a").await, answering("b").await);
    router.publish("ep", "Ep", &plan(&[("a", a.addr), ("b", b.addr)]));
    let both = spread(&router, "ep", 10).await;
    assert_eq!(both.len(), 2, "{both:?}");

    // b is alive and still known to the router, but no longer in the table.
    router.publish("ep", "Ep", &plan(&[("a", a.addr)]));
    let b_hits = b.hits();
    assert_eq!(
        spread(&router, "ep", 30).await,
        BTreeMap::from([("a".into(), 30)])
    );
    assert_eq!(b.hits(), b_hits);
    assert!(router.target("b").is_some());

    // An instance whose address cannot be parsed is left out of the table.
    let bad = RoutingPlan {
        variants: vec![variant(
            "AllTraffic",
            1.0,
            vec![RouteGroup {
                fleet: 0,
                config_name: "cfg".into(),
                share: 1.0,
                instances: vec![
                    RouteInstance {
                        id: "bad".into(),
                        addr: "not-an-address".into(),
                    },
                    RouteInstance {
                        id: "a".into(),
                        addr: a.addr.to_string(),
                    },
                ],
            }],
        )],
    };
    router.publish("ep", "Ep", &bad);
    assert_eq!(
        spread(&router, "ep", 10).await,
        BTreeMap::from([("a".into(), 10)])
    );
    assert!(router.target("bad").is_none());

    // No instance at all: ServiceUnavailable-kind, nothing reached.
    router.publish("ep", "Ep", &plan(&[]));
    assert!(matches!(
        invoke(&router, "ep").await,
        Err(InvokeError::NoHealthyInstance { endpoint, variant })
            if endpoint == "Ep" && variant == "AllTraffic"
    ));
}

// ---------------------------------------------------------------------------------------------
// Choosing a variant, a fleet, an instance.

#[tokio::test]
async fn variants_are_chosen_by_weight() {
    let router = Router::new(RouterConfig::default());
    let (a, b) = (answering("a").await, answering("b").await);
    let weighted = RoutingPlan {
        variants: vec![
            variant("A", 3.0, vec![group("cfg", 1.0, &[("a", a.addr)])]),
            variant("B", 1.0, vec![group("cfg", 1.0, &[("b", b.addr)])]),
        ],
    };
    router.publish("ep", "Ep", &weighted);
    let n = 2000;
    let mut to_a = 0;
    for _ in 0..n {
        let resp = invoke(&router, "ep").await.unwrap();
        assert_eq!(resp.variant.to_lowercase(), resp.instance);
        to_a += usize::from(resp.variant == "A");
    }
    // Expected 1500, σ ≈ 19: ±100 is over 5σ.
    assert!((1400..=1600).contains(&to_a), "A got {to_a} of {n}");
}

#[tokio::test]
async fn zero_weights_and_variants_without_instances_never_win() {
    let router = Router::new(RouterConfig::default());
    let (b, c) = (answering("b").await, answering("c").await);
    let p = RoutingPlan {
        variants: vec![
            variant("Empty", 5.0, vec![group("cfg", 1.0, &[])]),
            variant("B", 1.0, vec![group("cfg", 1.0, &[("b", b.addr)])]),
            variant("Zero", 0.0, vec![group("cfg", 1.0, &[("c", c.addr)])]),
        ],
    };
    router.publish("ep", "Ep", &p);
    assert_eq!(
        spread(&router, "ep", 100).await,
        BTreeMap::from([("b".into(), 100)])
    );
    assert_eq!(c.hits(), 0);

    let nothing = RoutingPlan {
        variants: vec![
            variant("Empty", 1.0, vec![group("cfg", 1.0, &[])]),
            variant("Zero", 0.0, vec![group("cfg", 1.0, &[("c", c.addr)])]),
        ],
    };
    router.publish("ep", "Ep", &nothing);
    assert!(matches!(
        invoke(&router, "ep").await,
        Err(InvokeError::NoHealthyInstance { .. })
    ));
}

#[tokio::test]
async fn fleets_within_a_variant_are_chosen_by_share() {
    let recorder = Arc::new(Recorder::default());
    let router = Router::with_observer(RouterConfig::default(), recorder.clone());
    let (blue, green) = (answering("blue").await, answering("green").await);
    let p = RoutingPlan {
        variants: vec![variant(
            "AllTraffic",
            1.0,
            vec![
                group("old-config", 0.75, &[("blue", blue.addr)]),
                group("new-config", 0.25, &[("green", green.addr)]),
            ],
        )],
    };
    router.publish("ep", "Ep", &p);
    let counts = spread(&router, "ep", 2000).await;
    let green_n = counts.get("green").copied().unwrap_or(0);
    // Expected 500, σ ≈ 19.
    assert!((400..=600).contains(&green_n), "{counts:?}");
    // Each invocation is reported with the config of the fleet that served it.
    for seen in recorder.take() {
        assert_eq!(seen.outcome, InvocationOutcome::Success);
        assert!(
            seen.config == "old-config" || seen.config == "new-config",
            "{seen:?}"
        );
        assert_eq!(seen.serving_instances, 2);
    }
}

#[tokio::test]
async fn target_variant_overrides_the_weights() {
    let router = Router::new(RouterConfig::default());
    let (a, b) = (answering("a").await, answering("b").await);
    let p = RoutingPlan {
        variants: vec![
            variant("A", 1.0, vec![group("cfg", 1.0, &[("a", a.addr)])]),
            variant("B", 0.0, vec![group("cfg", 1.0, &[("b", b.addr)])]),
            variant("Empty", 1.0, vec![group("cfg", 1.0, &[])]),
        ],
    };
    router.publish("ep", "Ep", &p);
    for _ in 0..20 {
        let resp = invoke_variant(&router, "ep", "B").await.unwrap();
        assert_eq!((resp.variant.as_str(), resp.instance.as_str()), ("B", "b"));
    }
    assert_eq!(
        spread(&router, "ep", 20).await,
        BTreeMap::from([("a".into(), 20)])
    );
    assert!(matches!(
        invoke_variant(&router, "ep", "Nope").await,
        Err(InvokeError::UnknownVariant { endpoint, variant }) if endpoint == "Ep" && variant == "Nope"
    ));
    assert!(matches!(
        invoke_variant(&router, "ep", "Empty").await,
        Err(InvokeError::NoHealthyInstance { variant, .. }) if variant == "Empty"
    ));
}

#[tokio::test]
async fn instances_are_chosen_by_fewest_outstanding_requests() {
    let router = Arc::new(Router::new(RouterConfig::default()));
    let (gate_a, gate_b) = (Gate::closed(), Gate::closed());
    let (a, b) = (holding("a", &gate_a).await, holding("b", &gate_b).await);
    router.publish("ep", "Ep", &plan(&[("a", a.addr), ("b", b.addr)]));

    let mut held = Vec::new();
    for _ in 0..6 {
        held.push(start_invoke(&router, "ep", &["a", "b"]).await);
    }
    assert_eq!(
        (outstanding(&router, "a"), outstanding(&router, "b")),
        (3, 3)
    );

    // a drains; b still holds 3: every new request goes to a.
    gate_a.open();
    wait_until("a drained", || outstanding(&router, "a") == 0).await;
    for _ in 0..5 {
        let resp = tokio::time::timeout(Duration::from_secs(5), invoke(&router, "ep"))
            .await
            .expect("sent to the instance with fewer requests, not the held one")
            .unwrap();
        assert_eq!(resp.instance, "a");
    }
    assert_eq!(outstanding(&router, "b"), 3);

    gate_b.open();
    let mut answered = BTreeMap::new();
    for h in held {
        *answered
            .entry(h.await.unwrap().unwrap().instance)
            .or_insert(0) += 1;
    }
    assert_eq!(answered, BTreeMap::from([("a".into(), 3), ("b".into(), 3)]));
    assert_eq!((a.hits(), b.hits()), (8, 3));
}

// ---------------------------------------------------------------------------------------------
// Retries.

#[tokio::test]
async fn a_refused_connection_is_retried_once_on_another_instance() {
    let router = Router::new(RouterConfig::default());
    let (dead, dead2) = (refusing().await, refusing().await);
    let live = answering("live").await;

    // One instance refuses: every request is served by the other.
    router.publish("ep", "Ep", &plan(&[("dead", dead), ("live", live.addr)]));
    assert_eq!(
        spread(&router, "ep", 20).await,
        BTreeMap::from([("live".into(), 20)])
    );
    assert_eq!(live.hits(), 20);

    // Two refuse: a request that meets both gives up after one retry.
    router.publish(
        "ep",
        "Ep",
        &plan(&[("dead", dead), ("dead2", dead2), ("live", live.addr)]),
    );
    let (mut ok, mut unavailable) = (0, 0);
    for _ in 0..30 {
        match invoke(&router, "ep").await {
            Ok(resp) => {
                assert_eq!(resp.instance, "live");
                ok += 1;
            }
            Err(InvokeError::NoHealthyInstance { endpoint, variant }) => {
                assert_eq!((endpoint.as_str(), variant.as_str()), ("Ep", "AllTraffic"));
                unavailable += 1;
            }
            Err(e) => panic!("unexpected {e:?}"),
        }
    }
    assert!(
        ok > 0 && unavailable > 0,
        "ok {ok}, unavailable {unavailable}"
    );
    assert_eq!(live.hits(), 20 + ok);

    // A lone instance that refuses: nothing to retry on.
    router.publish("ep", "Ep", &plan(&[("dead", dead)]));
    assert!(matches!(
        invoke(&router, "ep").await,
        Err(InvokeError::NoHealthyInstance { .. })
    ));
}

#[tokio::test]
async fn a_pooled_connection_to_a_dead_instance_counts_as_refused() {
    let router = Router::new(RouterConfig::default());
    let (a, b) = (answering("a").await, answering("b").await);
    router.publish("ep", "Ep", &plan(&[("a", a.addr), ("b", b.addr)]));
    // Both have a pooled connection now.
    let warm = spread(&router, "ep", 10).await;
    assert_eq!(warm.len(), 2, "{warm:?}");

    a.kill().await;
    assert_eq!(
        spread(&router, "ep", 20).await,
        BTreeMap::from([("b".into(), 20)])
    );
}

#[tokio::test]
async fn answers_and_failures_of_a_container_are_not_retried() {
    let router = Router::new(RouterConfig {
        invocation_timeout: Duration::from_millis(300),
        ..RouterConfig::default()
    });
    let good = answering("good").await;
    let cases: [(&str, Upstream); 3] = [
        ("status", failing(500, "boom").await),
        ("dropped", dropping().await),
        ("silent", silent().await),
    ];
    for (kind, bad) in cases {
        router.publish("ep", "Ep", &plan(&[("bad", bad.addr), ("good", good.addr)]));
        let good_before = good.hits();
        let (mut ok, mut failed) = (0, 0);
        for _ in 0..8 {
            match invoke(&router, "ep").await {
                Ok(resp) => {
                    assert_eq!(resp.instance, "good");
                    ok += 1;
                }
                Err(e) => {
                    match (kind, &e) {
                        (
                            "status",
                            InvokeError::ModelStatus {
                                instance,
                                status: 500,
                                body,
                                ..
                            },
                        ) => {
                            assert_eq!((instance.as_str(), body.as_ref()), ("bad", &b"boom"[..]));
                        }
                        (
                            "dropped",
                            InvokeError::ModelFailed {
                                instance,
                                timed_out: false,
                                ..
                            },
                        )
                        | (
                            "silent",
                            InvokeError::ModelFailed {
                                instance,
                                timed_out: true,
                                ..
                            },
                        ) => {
                            assert_eq!(instance, "bad");
                        }
                        _ => panic!("{kind}: unexpected {e:?}"),
                    }
                    failed += 1;
                }
            }
        }
        assert!(ok > 0 && failed > 0, "{kind}: ok {ok}, failed {failed}");
        // Every request reached exactly one instance: no failure went on to the good one.
        assert_eq!(bad.hits(), failed, "{kind}");
        assert_eq!(good.hits() - good_before, ok, "{kind}");
        bad.kill().await;
    }
}

// ---------------------------------------------------------------------------------------------
// Limits.

#[tokio::test]
async fn beyond_the_per_instance_limit_requests_are_refused_as_overloaded() {
    let recorder = Arc::new(Recorder::default());
    let router = Arc::new(Router::with_observer(
        RouterConfig {
            max_concurrency_per_instance: 2,
            ..RouterConfig::default()
        },
        recorder.clone(),
    ));
    let gate = Gate::closed();
    let (a, b) = (holding("a", &gate).await, holding("b", &gate).await);
    router.publish("ep", "Ep", &plan(&[("a", a.addr), ("b", b.addr)]));
    let mut held = Vec::new();
    for _ in 0..4 {
        held.push(start_invoke(&router, "ep", &["a", "b"]).await);
    }
    assert_eq!(
        (outstanding(&router, "a"), outstanding(&router, "b")),
        (2, 2)
    );

    let refused = tokio::time::timeout(Duration::from_secs(5), invoke(&router, "ep"))
        .await
        .expect("refused at once, not queued");
    assert!(
        matches!(&refused, Err(InvokeError::Overloaded { endpoint, variant }) if endpoint == "Ep" && variant == "AllTraffic"),
        "{refused:?}"
    );
    assert_eq!(a.hits() + b.hits(), 4, "nothing reached a container");
    let seen = recorder.take();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].outcome, InvocationOutcome::NotServed);

    gate.open();
    for h in held {
        h.await.unwrap().unwrap();
    }
    invoke(&router, "ep")
        .await
        .expect("served again below the limit");
}

#[tokio::test]
async fn responses_are_limited_to_6_mib() {
    assert_eq!(RouterConfig::default().max_response_bytes, SIX_MIB);
    let router = Router::new(RouterConfig::default());
    let (fits, over) = (
        answering_bytes(SIX_MIB).await,
        answering_bytes(SIX_MIB + 1).await,
    );

    router.publish("ep", "Ep", &plan(&[("fits", fits.addr)]));
    let resp = invoke(&router, "ep").await.unwrap();
    assert_eq!(resp.body.len(), SIX_MIB);

    router.publish("ep", "Ep", &plan(&[("over", over.addr)]));
    match invoke(&router, "ep").await {
        Err(InvokeError::ResponseTooLarge {
            variant,
            instance,
            limit,
        }) => {
            assert_eq!(
                (variant.as_str(), instance.as_str(), limit),
                ("AllTraffic", "over", SIX_MIB)
            );
        }
        other => panic!("expected ResponseTooLarge, got {other:?}"),
    }
    assert_eq!(over.hits(), 1, "not retried");
}

// ---------------------------------------------------------------------------------------------
// Classification and forwarding.

#[tokio::test]
async fn failures_are_classified_by_who_is_at_fault() {
    let recorder = Arc::new(Recorder::default());
    let router = Router::with_observer(
        RouterConfig {
            invocation_timeout: Duration::from_millis(300),
            max_response_bytes: 16,
            max_concurrency_per_instance: 1,
        },
        recorder.clone(),
    );
    let ok = answering("ok").await;
    let status = failing(503, "model says no").await;
    let dropped = dropping().await;
    let slow = silent().await;
    let big = answering_bytes(17).await;
    let gate = Gate::closed();
    let busy = holding("busy", &gate).await;
    let down = refusing().await;
    for (key, id, addr) in [
        ("ok", "ok", ok.addr),
        ("status", "status", status.addr),
        ("dropped", "dropped", dropped.addr),
        ("slow", "slow", slow.addr),
        ("big", "big", big.addr),
        ("busy", "busy", busy.addr),
        ("down", "down", down),
    ] {
        router.publish(key, &key.to_uppercase(), &plan(&[(id, addr)]));
    }
    router.publish("empty", "EMPTY", &plan(&[]));
    let router = Arc::new(router);

    // The model's fault: it answered non-2xx, failed mid-request, was too slow, too big.
    assert!(invoke(&router, "ok").await.is_ok());
    assert!(matches!(
        invoke(&router, "status").await,
        Err(InvokeError::ModelStatus { status: 503, ref body, .. }) if body.as_ref() == b"model says no"
    ));
    assert!(matches!(
        invoke(&router, "dropped").await,
        Err(InvokeError::ModelFailed {
            timed_out: false,
            ..
        })
    ));
    assert!(matches!(
        invoke(&router, "slow").await,
        Err(InvokeError::ModelFailed {
            timed_out: true,
            ..
        })
    ));
    assert!(matches!(
        invoke(&router, "big").await,
        Err(InvokeError::ResponseTooLarge { limit: 16, .. })
    ));
    // Guardrail could not serve it; nothing reached a container (retryable).
    assert!(matches!(
        invoke(&router, "down").await,
        Err(InvokeError::NoHealthyInstance { .. })
    ));
    assert!(matches!(
        invoke(&router, "empty").await,
        Err(InvokeError::NoHealthyInstance { .. })
    ));
    let held = start_invoke(&router, "busy", &["busy"]).await;
    assert!(matches!(
        invoke(&router, "busy").await,
        Err(InvokeError::Overloaded { .. })
    ));
    // The caller's fault: nothing was routed, nothing is reported.
    assert!(matches!(
        invoke(&router, "missing").await,
        Err(InvokeError::EndpointNotFound(_))
    ));
    assert!(matches!(
        invoke_variant(&router, "ok", "Other").await,
        Err(InvokeError::UnknownVariant { .. })
    ));

    let seen: Vec<(String, InvocationOutcome, String, bool)> = recorder
        .take()
        .into_iter()
        .map(|s| {
            assert_eq!(s.variant, "AllTraffic");
            (s.endpoint, s.outcome, s.config, s.timed)
        })
        .collect();
    let served = |e: &str, o| (e.to_string(), o, "cfg".to_string(), true);
    let not_served = |e: &str| {
        (
            e.to_string(),
            InvocationOutcome::NotServed,
            String::new(),
            false,
        )
    };
    assert_eq!(
        seen,
        vec![
            served("OK", InvocationOutcome::Success),
            served("STATUS", InvocationOutcome::ModelStatus(503)),
            served("DROPPED", InvocationOutcome::ModelFailed),
            served("SLOW", InvocationOutcome::ModelFailed),
            served("BIG", InvocationOutcome::ModelFailed),
            not_served("DOWN"),
            not_served("EMPTY"),
            not_served("BUSY"),
        ]
    );
    gate.open();
    held.await.unwrap().unwrap();
    assert_eq!(recorder.take().len(), 1);
}

#[tokio::test]
async fn sagemaker_headers_are_forwarded_both_ways() {
    let seen = Arc::new(Mutex::new(None));
    let record = seen.clone();
    let echo = upstream(move |req: http::Request<hyper::body::Incoming>| {
        let record = record.clone();
        async move {
            let (parts, body) = req.into_parts();
            let body = body.collect().await.unwrap().to_bytes();
            *record.lock().unwrap() = Some((
                parts.method,
                parts.uri.path().to_string(),
                parts.headers,
                body,
            ));
            http::Response::builder()
                .header("content-type", "text/csv")
                .header("x-amzn-sagemaker-custom-attributes", "trace=1")
                .body(Full::new(Bytes::from_static(b"1,2")))
                .unwrap()
        }
    })
    .await;
    let router = Router::new(RouterConfig::default());
    router.publish("ep", "Ep", &plan(&[("i", echo.addr)]));
    let req = InvokeRequest {
        body: Bytes::from_static(b"5.1,3.5"),
        content_type: Some("text/csv".into()),
        accept: Some("text/csv".into()),
        custom_attributes: Some("c000b4f9".into()),
        target_variant: None,
        inference_id: Some("inf-1".into()),
        target_container_hostname: Some("host-1".into()),
        enable_explanations: Some("`true`".into()),
    };
    let resp = router.invoke("ep", req).await.unwrap();
    assert_eq!(resp.body.as_ref(), b"1,2");
    assert_eq!(resp.content_type.as_deref(), Some("text/csv"));
    assert_eq!(resp.custom_attributes.as_deref(), Some("trace=1"));
    assert_eq!(
        (resp.variant.as_str(), resp.instance.as_str()),
        ("AllTraffic", "i")
    );

    let (method, path, headers, body) = seen.lock().unwrap().take().expect("request seen");
    assert_eq!(method, http::Method::POST);
    assert_eq!(path, "/invocations");
    assert_eq!(body.as_ref(), b"5.1,3.5");
    for (name, value) in [
        ("content-type", "text/csv"),
        ("accept", "text/csv"),
        ("x-amzn-sagemaker-custom-attributes", "c000b4f9"),
        ("x-amzn-sagemaker-inference-id", "inf-1"),
        ("x-amzn-sagemaker-target-container-hostname", "host-1"),
        ("x-amzn-sagemaker-enable-explanations", "`true`"),
    ] {
        assert_eq!(
            headers.get(name).and_then(|v| v.to_str().ok()),
            Some(value),
            "{name}"
        );
    }
}

/// When no variant of an endpoint has a ready instance the request is still reported as
/// `NotServed` (the monitor's `invocations_not_served` must not stay flat exactly while the
/// whole endpoint is down), like the same error for an empty `TargetVariant` or after refused
/// connects.
#[tokio::test]
async fn a_request_no_variant_can_take_is_reported_as_not_served() {
    let recorder = Arc::new(Recorder::default());
    let router = Router::with_observer(RouterConfig::default(), recorder.clone());
    router.publish("ep", "Ep", &plan(&[]));
    assert!(matches!(
        invoke(&router, "ep").await,
        Err(InvokeError::NoHealthyInstance { .. })
    ));
    let seen = recorder.take();
    assert_eq!(seen.len(), 1, "not reported: {seen:?}");
    assert_eq!(seen[0].outcome, InvocationOutcome::NotServed);
}

/// `invocation_timeout` bounds the whole answer, head and body together: an answer whose head
/// comes after 250 ms and body after 500 ms fails a 300 ms timeout.
#[tokio::test]
async fn a_container_gets_the_invocation_timeout_once_not_per_phase() {
    use tokio::io::AsyncWriteExt;
    let slow = serve_raw(
        |mut stream, _| async move {
            let mut buf = [0u8; 4096];
            let _ = stream.read(&mut buf).await;
            tokio::time::sleep(Duration::from_millis(250)).await;
            let head = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n";
            let _ = stream.write_all(head).await;
            tokio::time::sleep(Duration::from_millis(250)).await;
            let _ = stream.write_all(b"ok").await;
            let _ = stream.read(&mut buf).await;
        },
        Arc::new(AtomicUsize::new(0)),
    )
    .await;
    let router = Router::new(RouterConfig {
        invocation_timeout: Duration::from_millis(300),
        ..RouterConfig::default()
    });
    router.publish("ep", "Ep", &plan(&[("slow", slow.addr)]));
    let started = std::time::Instant::now();
    let result = invoke(&router, "ep").await;
    assert!(
        matches!(
            result,
            Err(InvokeError::ModelFailed {
                timed_out: true,
                ..
            })
        ),
        "after {:?}: {result:?}",
        started.elapsed()
    );
}
