//! The health prober: one task per instance, `GET /ping` over a fresh HTTP/1 connection each time
//! (a hung server cannot hide behind a pooled connection), results turned into events.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Empty;
use hyper::header::HOST;
use hyper::{Request, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio::time::{interval, interval_at, Instant, MissedTickBehavior};

use crate::gate::EventGate;
use crate::{InstanceEvent, InstanceId};

/// Health-check timing. `Default` is the container contract (docs/deployments.md#instances).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeConfig {
    /// Ping period while starting (200 ms).
    pub starting_interval: Duration,
    /// Consecutive 200s that make a starting instance Ready (2).
    pub healthy_threshold: u32,
    /// Ping period once Ready (5 s).
    pub ready_interval: Duration,
    /// Consecutive failures that make a Ready instance Unhealthy (3).
    pub unhealthy_threshold: u32,
    /// Timeout of one ping, connect included (2 s).
    pub timeout: Duration,
}

impl Default for ProbeConfig {
    fn default() -> Self {
        Self {
            starting_interval: Duration::from_millis(200),
            healthy_threshold: 2,
            ready_interval: Duration::from_secs(5),
            unhealthy_threshold: 3,
            timeout: Duration::from_secs(2),
        }
    }
}

/// Probes until the instance is Ready, then until it is Unhealthy; returns early when the
/// process exits (`exited` turns `Some`) or the gate closes (stop, exit).
pub(crate) async fn run_prober(
    id: InstanceId,
    addr: SocketAddr,
    cfg: ProbeConfig,
    gate: Arc<EventGate>,
    mut exited: watch::Receiver<Option<String>>,
) {
    let probing = async {
        let mut ticks = interval(cfg.starting_interval);
        ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut passed = 0;
        while passed < cfg.healthy_threshold.max(1) {
            ticks.tick().await;
            passed = if ping(addr, cfg.timeout).await.is_ok() {
                passed + 1
            } else {
                0
            };
        }
        if !gate.send(InstanceEvent::Ready {
            id: id.clone(),
            addr,
        }) {
            return;
        }
        let mut ticks = interval_at(Instant::now() + cfg.ready_interval, cfg.ready_interval);
        ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut failed = 0;
        loop {
            ticks.tick().await;
            match ping(addr, cfg.timeout).await {
                Ok(()) => failed = 0,
                Err(why) => {
                    failed += 1;
                    if failed >= cfg.unhealthy_threshold.max(1) {
                        let reason =
                            format!("{failed} consecutive failed health checks, last: {why}");
                        gate.send(InstanceEvent::Unhealthy { id, reason });
                        return;
                    }
                }
            }
        }
    };
    tokio::select! {
        () = probing => {}
        // Err: the monitor is gone, which also means the process is.
        _ = exited.wait_for(Option::is_some) => {}
    }
}

/// One `GET /ping` on a fresh connection; `Ok` only for a 200 within `timeout`.
pub(crate) async fn ping(addr: SocketAddr, timeout: Duration) -> Result<(), String> {
    match tokio::time::timeout(timeout, ping_once(addr)).await {
        Ok(result) => result,
        Err(_) => Err(format!("no answer within {timeout:?}")),
    }
}

async fn ping_once(addr: SocketAddr) -> Result<(), String> {
    let stream = TcpStream::connect(addr)
        .await
        .map_err(|e| format!("connect to {addr}: {e}"))?;
    let _ = stream.set_nodelay(true);
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| format!("handshake with {addr}: {e}"))?;
    let req = Request::get("/ping")
        .header(HOST, addr.to_string())
        .body(Empty::<Bytes>::new())
        .map_err(|e| e.to_string())?;
    let send = sender.send_request(req);
    tokio::pin!(send, conn);
    let resp = tokio::select! {
        resp = &mut send => resp,
        // The connection ended (e.g. `Connection: close`): any answer was already handed over.
        _ = &mut conn => send.await,
    }
    .map_err(|e| format!("GET /ping: {e}"))?;
    match resp.status() {
        StatusCode::OK => Ok(()),
        status => Err(format!("GET /ping answered {status}")),
    }
}
