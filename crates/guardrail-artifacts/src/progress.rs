//! Download progress in the log: big models take minutes, and an operator watching a `Creating`
//! endpoint should see bytes moving (every ~5 s, or every 10 % when the size is known).

use std::time::{Duration, Instant};

use crate::error::human_bytes;

const EVERY: Duration = Duration::from_secs(5);

pub(crate) struct Progress {
    url: String,
    total: Option<u64>,
    done: u64,
    started: Instant,
    last_log: Instant,
    last_tenth: u64,
}

impl Progress {
    pub(crate) fn start(url: &str, total: Option<u64>) -> Self {
        match total {
            Some(t) => tracing::info!(url, size = t, "downloading model data ({})", human_bytes(t)),
            None => tracing::info!(url, "downloading model data (size unknown)"),
        }
        let now = Instant::now();
        Self {
            url: url.to_owned(),
            total,
            done: 0,
            started: now,
            last_log: now,
            last_tenth: 0,
        }
    }

    pub(crate) fn done(&self) -> u64 {
        self.done
    }

    pub(crate) fn add(&mut self, n: u64) {
        self.done += n;
        let tenth = match self.total {
            Some(t) if t > 0 => self.done.saturating_mul(10) / t,
            _ => 0,
        };
        if tenth > self.last_tenth || self.last_log.elapsed() >= EVERY {
            self.last_tenth = tenth;
            self.last_log = Instant::now();
            match self.total {
                Some(t) if t > 0 => tracing::info!(
                    url = %self.url,
                    bytes = self.done,
                    "model data download: {} of {} ({}%)",
                    human_bytes(self.done),
                    human_bytes(t),
                    self.done.saturating_mul(100) / t
                ),
                _ => {
                    tracing::info!(url = %self.url, bytes = self.done, "model data download: {}", human_bytes(self.done))
                }
            }
        }
    }

    pub(crate) fn finish(&self) {
        let secs = self.started.elapsed().as_secs_f64();
        let rate = if secs > 0.0 {
            (self.done as f64 / secs) as u64
        } else {
            self.done
        };
        tracing::info!(
            url = %self.url,
            bytes = self.done,
            "model data downloaded: {} in {:.1} s ({}/s)",
            human_bytes(self.done),
            secs,
            human_bytes(rate)
        );
    }
}
