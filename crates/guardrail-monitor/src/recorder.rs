//! Per-second accumulation of the router's invocation reports. The request path only adds to
//! an accumulator under a short lock; the monitor's tick drains finished seconds into the
//! metric store (so the store's lock is never taken per request).

use std::collections::{BTreeMap, HashMap};

use guardrail_controller::Clock;
use guardrail_metrics::Distribution;
use guardrail_proxy::{InvocationObserver, InvocationOutcome, InvocationRecord};
use parking_lot::Mutex;

/// One second of one (endpoint, variant, config)'s invocations.
#[derive(Clone, Debug, Default)]
pub(crate) struct Accum {
    pub(crate) invocations: u64,
    pub(crate) errors_4xx: u64,
    pub(crate) errors_5xx: u64,
    pub(crate) model_errors: u64,
    /// Σ 1/(serving instances) over the requests.
    pub(crate) per_instance: f64,
    /// Microseconds.
    pub(crate) model_latency: Distribution,
    /// Microseconds.
    pub(crate) overhead_latency: Distribution,
}

/// Requests Guardrail could not route to any container, per (endpoint, variant).
pub(crate) type NotServed = HashMap<(String, String), u64>;

type Configs = HashMap<String, Accum>;
type Variants = HashMap<String, Configs>;
type Endpoints = HashMap<String, Variants>;

#[derive(Default)]
struct Seconds {
    by_second: BTreeMap<i64, Endpoints>,
    not_served: NotServed,
}

/// A drained accumulator: `(second, endpoint, variant, config, data)`.
pub(crate) type Drained = (i64, String, String, String, Accum);

pub struct InvocationRecorder {
    clock: Clock,
    seconds: Mutex<Seconds>,
}

impl InvocationRecorder {
    pub fn new(clock: Clock) -> Self {
        InvocationRecorder {
            clock,
            seconds: Mutex::new(Seconds::default()),
        }
    }

    /// Takes every second before `before_s` (those can no longer change), and the not-served
    /// counts so far.
    pub(crate) fn drain(&self, before_s: i64) -> (Vec<Drained>, NotServed) {
        let mut guard = self.seconds.lock();
        let keep = guard.by_second.split_off(&before_s);
        let done = std::mem::replace(&mut guard.by_second, keep);
        let not_served = std::mem::take(&mut guard.not_served);
        drop(guard);
        let mut out = Vec::new();
        for (second, endpoints) in done {
            for (endpoint, variants) in endpoints {
                for (variant, configs) in variants {
                    for (config, accum) in configs {
                        out.push((second, endpoint.clone(), variant.clone(), config, accum));
                    }
                }
            }
        }
        (out, not_served)
    }
}

/// Looks up `key` without allocating when present.
fn entry<'m, V: Default>(map: &'m mut HashMap<String, V>, key: &str) -> &'m mut V {
    if !map.contains_key(key) {
        map.insert(key.to_owned(), V::default());
    }
    map.get_mut(key).expect("inserted above")
}

impl InvocationObserver for InvocationRecorder {
    fn observe(&self, r: &InvocationRecord<'_>) {
        if r.outcome == InvocationOutcome::NotServed {
            *self
                .seconds
                .lock()
                .not_served
                .entry((r.endpoint.to_owned(), r.variant.to_owned()))
                .or_default() += 1;
            return;
        }
        let second = self.clock.now().millis().div_euclid(1000);
        let model_us = r.model_latency.unwrap_or_default().as_micros() as f64;
        let overhead_us = (r.total.as_micros() as f64 - model_us).max(0.0);
        let (is_4xx, is_5xx) = match r.outcome {
            InvocationOutcome::ModelStatus(s) => ((400..500).contains(&s), s >= 500),
            _ => (false, false),
        };
        let model_error = r.outcome != InvocationOutcome::Success;
        let mut guard = self.seconds.lock();
        let endpoints = guard.by_second.entry(second).or_default();
        let a = entry(entry(entry(endpoints, r.endpoint), r.variant), r.config);
        a.invocations += 1;
        a.errors_4xx += u64::from(is_4xx);
        a.errors_5xx += u64::from(is_5xx);
        a.model_errors += u64::from(model_error);
        a.per_instance += 1.0 / r.serving_instances.max(1) as f64;
        a.model_latency.add(model_us);
        a.overhead_latency.add(overhead_us);
    }
}
