//! Instance health metrics for process instances, read from `/proc` once a second:
//! `CPUUtilization` (percent of one core, summed over cores) and `MemoryUtilization` (percent of
//! the host's memory) in namespace `/aws/sagemaker/Endpoints`, one sample per instance.

use std::collections::HashMap;
use std::time::Instant;

use guardrail_core::time::Timestamp;
use guardrail_metrics::{MetricId, MetricStore, Unit};

use crate::telemetry::Telemetry;

pub(crate) const NAMESPACE: &str = "/aws/sagemaker/Endpoints";
/// Linux reports process CPU time in USER_HZ ticks, which is 100 on every architecture's ABI.
const TICKS_PER_SECOND: f64 = 100.0;

/// Lists the running instance processes: `(endpoint name, variant, pid)`.
pub trait ProcessLister: Send + Sync + 'static {
    fn processes(&self) -> Vec<(String, String, u32)>;
}

impl ProcessLister for guardrail_controller::Controller {
    fn processes(&self) -> Vec<(String, String, u32)> {
        self.instance_processes()
            .into_iter()
            .map(|p| (p.endpoint_name, p.variant, p.pid))
            .collect()
    }
}

/// CPU time seen at the previous sample, per pid.
#[derive(Default)]
pub(crate) struct ResourceSampler {
    last: HashMap<u32, (u64, Instant)>,
}

fn cpu_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may contain spaces and parentheses: fields start after the last ')'.
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // After the name: state is field 3, so utime (14) and stime (15) are at 11 and 12.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(utime + stime)
}

fn kib_field(text: &str, key: &str) -> Option<f64> {
    text.lines()
        .find(|l| l.starts_with(key))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

fn memory_percent(pid: u32, total_kib: f64) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let rss = kib_field(&status, "VmRSS:")?;
    (total_kib > 0.0).then(|| 100.0 * rss / total_kib)
}

impl ResourceSampler {
    /// Samples every process and records one datapoint per instance.
    pub(crate) fn sample(
        &mut self,
        processes: &[(String, String, u32)],
        store: &mut MetricStore,
        telemetry: &Telemetry,
        now: Timestamp,
    ) {
        let total_kib = std::fs::read_to_string("/proc/meminfo")
            .ok()
            .and_then(|m| kib_field(&m, "MemTotal:"))
            .unwrap_or(0.0);
        let mut seen = HashMap::new();
        for (endpoint, variant, pid) in processes {
            let at = Instant::now();
            let Some(ticks) = cpu_ticks(*pid) else {
                continue;
            };
            let dims = [
                ("EndpointName", endpoint.as_str()),
                ("VariantName", variant.as_str()),
            ];
            if let Some((prev, prev_at)) = self.last.get(pid) {
                let secs = at.duration_since(*prev_at).as_secs_f64();
                if secs > 0.0 {
                    let cpu = 100.0 * ticks.saturating_sub(*prev) as f64 / TICKS_PER_SECOND / secs;
                    record(store, "CPUUtilization", &dims, now, cpu);
                    telemetry.instance_cpu(endpoint, variant, *pid, cpu);
                }
            }
            if let Some(mem) = memory_percent(*pid, total_kib) {
                record(store, "MemoryUtilization", &dims, now, mem);
                telemetry.instance_memory(endpoint, variant, *pid, mem);
            }
            seen.insert(*pid, (ticks, at));
        }
        telemetry.retain_instances(&seen.keys().copied().collect::<Vec<_>>());
        self.last = seen;
    }
}

fn record(store: &mut MetricStore, name: &str, dims: &[(&str, &str)], now: Timestamp, v: f64) {
    if let Ok(id) = MetricId::new(NAMESPACE, name, dims.iter().copied()) {
        if let Err(e) = store.record(&id, now, v, Unit::Percent) {
            tracing::warn!(metric = name, error = %e, "metric not recorded");
        }
    }
}
