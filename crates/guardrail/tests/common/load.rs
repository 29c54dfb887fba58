//! A bounded load generator for end-to-end tests: N threads invoke an endpoint continuously
//! and record every answer (time, status, model version), until stopped or a hard cap.

#![allow(clippy::disallowed_methods)] // compares with the server's wall-clock timestamps

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

#[derive(Clone, Debug)]
pub struct Sample {
    /// When the request was sent (samples are ordered by this).
    pub at: Duration,
    /// When its answer arrived.
    pub done: Duration,
    pub status: u16,
    pub version: String,
    pub body: String,
}

pub struct Load {
    stop: Arc<AtomicBool>,
    samples: Arc<Mutex<Vec<Sample>>>,
    threads: Vec<JoinHandle<()>>,
    pub started: Instant,
    /// Wall clock at `started`, in epoch milliseconds (to compare with server timestamps).
    #[allow(dead_code)]
    pub started_wall_ms: i64,
}

/// Never run longer than this, whatever the test does.
const HARD_CAP: Duration = Duration::from_secs(300);

impl Load {
    pub fn start(url: &str, endpoint: &str, threads: usize) -> Load {
        let stop = Arc::new(AtomicBool::new(false));
        let samples = Arc::new(Mutex::new(Vec::new()));
        let started = Instant::now();
        let started_wall_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0);
        let threads = (0..threads)
            .map(|_| {
                let (stop, samples) = (stop.clone(), samples.clone());
                let target = format!("{url}/endpoints/{endpoint}/invocations");
                std::thread::spawn(move || {
                    let client = reqwest::blocking::Client::builder()
                        .timeout(Duration::from_secs(30))
                        .build()
                        .unwrap();
                    while !stop.load(Ordering::Relaxed) && started.elapsed() < HARD_CAP {
                        let sent = started.elapsed();
                        let (status, body) = match client
                            .post(&target)
                            .header("content-type", "application/json")
                            .body("{}")
                            .send()
                        {
                            Ok(r) => (r.status().as_u16(), r.text().unwrap_or_default()),
                            Err(e) => (0, e.to_string()),
                        };
                        let version = serde_json::from_str::<serde_json::Value>(&body)
                            .ok()
                            .and_then(|v| v["model_version"].as_str().map(str::to_string))
                            .unwrap_or_default();
                        samples.lock().unwrap().push(Sample {
                            at: sent,
                            done: started.elapsed(),
                            status,
                            version,
                            body,
                        });
                    }
                })
            })
            .collect();
        Load {
            stop,
            samples,
            threads,
            started,
            started_wall_ms,
        }
    }

    /// A copy of the samples recorded after `since` (relative to `started`).
    #[allow(dead_code)]
    pub fn samples_since(&self, since: Duration) -> Vec<Sample> {
        let samples = self.samples.lock().unwrap();
        samples.iter().filter(|s| s.at >= since).cloned().collect()
    }

    pub fn count(&self) -> usize {
        self.samples.lock().unwrap().len()
    }

    pub fn stop(mut self) -> Vec<Sample> {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
        let mut s = self.samples.lock().unwrap().clone();
        s.sort_by_key(|x| x.at);
        s
    }
}

impl Drop for Load {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// The versions in order of first appearance of each change ("v1", "v2", ...), collapsing
/// runs: v1 v1 v2 v1 v2 v2 → [v1, v2, v1, v2].
pub fn version_runs(samples: &[Sample]) -> Vec<String> {
    let mut runs: Vec<String> = Vec::new();
    for s in samples.iter().filter(|s| s.status == 200) {
        if runs.last() != Some(&s.version) {
            runs.push(s.version.clone());
        }
    }
    runs
}

pub fn failures(samples: &[Sample]) -> Vec<&Sample> {
    samples.iter().filter(|s| s.status != 200).collect()
}
