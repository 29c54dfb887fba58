//! The shell's one clock. The wall clock is read once at boot; after that time advances with
//! tokio's monotonic clock, so a paused-time test moves timers and timestamps together.

use guardrail_core::time::Timestamp;

#[derive(Clone, Debug)]
pub struct Clock {
    boot_wall: Timestamp,
    boot: tokio::time::Instant,
}

impl Clock {
    #[allow(clippy::disallowed_methods)] // the one place that reads the wall clock
    pub fn system() -> Clock {
        let wall = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0);
        Clock::starting_at(Timestamp::from_millis(wall))
    }

    pub fn starting_at(wall: Timestamp) -> Clock {
        Clock {
            boot_wall: wall,
            boot: tokio::time::Instant::now(),
        }
    }

    pub fn now(&self) -> Timestamp {
        self.boot_wall
            .plus_millis(self.boot.elapsed().as_millis() as i64)
    }

    /// The tokio instant at which `t` is reached (now, if it is in the past).
    pub fn instant_at(&self, t: Timestamp) -> tokio::time::Instant {
        let ahead = (t.millis() - self.now().millis()).max(0) as u64;
        tokio::time::Instant::now() + std::time::Duration::from_millis(ahead)
    }
}
