//! Helpers shared by the backend test files.
#![allow(dead_code, unreachable_pub)] // each test binary uses a different subset

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use guardrail_backend::ProbeConfig;
use http_body_util::{BodyExt as _, Full};
use hyper::{Request, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::time::timeout;

/// Upper bound for anything to happen (a cold start of the test binary on a loaded 2-core box
/// included). Tests finish far sooner when all is well.
pub const DEADLINE: Duration = Duration::from_secs(30);

/// Short periods so tests are quick; the contract's 2 s ping timeout so a loaded machine does
/// not make a healthy instance look Unhealthy.
pub fn fast_probe() -> ProbeConfig {
    ProbeConfig {
        starting_interval: Duration::from_millis(50),
        healthy_threshold: 2,
        ready_interval: Duration::from_millis(100),
        unhealthy_threshold: 3,
        timeout: Duration::from_secs(2),
    }
}

pub async fn http(addr: SocketAddr, req: Request<Full<Bytes>>) -> (StatusCode, Bytes) {
    timeout(DEADLINE, async {
        let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .unwrap();
        tokio::spawn(conn);
        let resp = sender.send_request(req).await.unwrap();
        let status = resp.status();
        (status, resp.into_body().collect().await.unwrap().to_bytes())
    })
    .await
    .expect("HTTP answer within the deadline")
}
