//! Guardrail's own figures in Prometheus text format (`GET /metrics`): the invocation metrics
//! of `AWS/SageMaker` as counters and histograms, instance health gauges, alarm evaluations,
//! and the controller's deployments (by mode and outcome), step durations and rollbacks.

use std::collections::HashMap;

use guardrail_core::deploy::{DeploymentEvent, EventKind, Outcome};
use guardrail_core::time::Timestamp;
use guardrail_metrics::{MemoryUsage, StateValue};
use parking_lot::Mutex;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::{Family, MetricConstructor};
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

use crate::recorder::Accum;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct FleetLabels {
    endpoint: String,
    variant: String,
    config: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ErrorLabels {
    endpoint: String,
    variant: String,
    config: String,
    kind: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct VariantLabels {
    endpoint: String,
    variant: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct InstanceLabels {
    endpoint: String,
    variant: String,
    pid: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateLabels {
    state: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ModeLabels {
    mode: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    mode: String,
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StepLabels {
    mode: String,
    step: &'static str,
}

#[derive(Clone)]
struct Buckets(fn() -> Histogram);

impl MetricConstructor<Histogram> for Buckets {
    fn new_metric(&self) -> Histogram {
        (self.0)()
    }
}

fn latency_histogram() -> Histogram {
    // 50 µs … ~26 s.
    Histogram::new(exponential_buckets(0.000_05, 2.0, 20))
}

fn step_histogram() -> Histogram {
    // 10 ms … ~1.4 h.
    Histogram::new(exponential_buckets(0.01, 2.0, 20))
}

pub struct Telemetry {
    registry: Registry,
    invocations: Family<FleetLabels, Counter>,
    errors: Family<ErrorLabels, Counter>,
    not_served: Family<VariantLabels, Counter>,
    model_latency: Family<VariantLabels, Histogram, Buckets>,
    overhead_latency: Family<VariantLabels, Histogram, Buckets>,
    cpu: Family<InstanceLabels, Gauge<f64, std::sync::atomic::AtomicU64>>,
    memory: Family<InstanceLabels, Gauge<f64, std::sync::atomic::AtomicU64>>,
    instances: Mutex<HashMap<u32, InstanceLabels>>,
    alarm_evaluations: Counter,
    alarm_transitions: Family<StateLabels, Counter>,
    alarm_states_set: Family<StateLabels, Counter>,
    deployments_started: Family<ModeLabels, Counter>,
    deployments_finished: Family<OutcomeLabels, Counter>,
    rollbacks: Family<ModeLabels, Counter>,
    step_seconds: Family<StepLabels, Histogram, Buckets>,
    metric_series: Gauge,
    metric_bytes: Gauge,
    /// Per endpoint: the previous deployment event (its kind and time) for step durations.
    last_event: Mutex<HashMap<String, (EventKind, Timestamp)>>,
}

impl Default for Telemetry {
    fn default() -> Self {
        Self::new()
    }
}

impl Telemetry {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("guardrail");
        let t = Telemetry {
            invocations: Family::default(),
            errors: Family::default(),
            not_served: Family::default(),
            model_latency: Family::new_with_constructor(Buckets(latency_histogram)),
            overhead_latency: Family::new_with_constructor(Buckets(latency_histogram)),
            cpu: Family::default(),
            memory: Family::default(),
            instances: Mutex::new(HashMap::new()),
            alarm_evaluations: Counter::default(),
            alarm_transitions: Family::default(),
            alarm_states_set: Family::default(),
            deployments_started: Family::default(),
            deployments_finished: Family::default(),
            rollbacks: Family::default(),
            step_seconds: Family::new_with_constructor(Buckets(step_histogram)),
            metric_series: Gauge::default(),
            metric_bytes: Gauge::default(),
            last_event: Mutex::new(HashMap::new()),
            registry: Registry::default(),
        };
        registry.register(
            "invocations",
            "Invocations answered by a container (AWS/SageMaker Invocations)",
            t.invocations.clone(),
        );
        registry.register("invocation_errors", "Invocations the container did not answer with 2xx, by kind: 4xx, 5xx, model (any non-2xx, timeout or dropped connection)", t.errors.clone());
        registry.register("invocations_not_served", "Invocations Guardrail answered itself because no instance could take them (no ready instance, concurrency limit)", t.not_served.clone());
        registry.register(
            "model_latency_seconds",
            "Time from sending to the container to its full response (AWS/SageMaker ModelLatency)",
            t.model_latency.clone(),
        );
        registry.register(
            "overhead_latency_seconds",
            "Time spent in Guardrail besides the model (AWS/SageMaker OverheadLatency)",
            t.overhead_latency.clone(),
        );
        registry.register(
            "instance_cpu_percent",
            "CPU use of an instance process, percent of one core",
            t.cpu.clone(),
        );
        registry.register(
            "instance_memory_percent",
            "Resident memory of an instance process, percent of the host",
            t.memory.clone(),
        );
        registry.register(
            "alarm_evaluations",
            "Alarm evaluations performed",
            t.alarm_evaluations.clone(),
        );
        registry.register(
            "alarm_transitions",
            "Alarm state changes computed from data, by new state",
            t.alarm_transitions.clone(),
        );
        registry.register(
            "alarm_states_set",
            "SetAlarmState calls, by state",
            t.alarm_states_set.clone(),
        );
        registry.register(
            "deployments_started",
            "Endpoint updates started, by mode",
            t.deployments_started.clone(),
        );
        registry.register(
            "deployments_finished",
            "Endpoint updates finished, by mode and outcome",
            t.deployments_finished.clone(),
        );
        registry.register(
            "rollbacks",
            "Endpoint update rollbacks started, by mode",
            t.rollbacks.clone(),
        );
        registry.register(
            "deployment_step_seconds",
            "Duration of each deployment step, by mode and step",
            t.step_seconds.clone(),
        );
        registry.register(
            "metric_store_series",
            "Time series held by the in-memory metric store",
            t.metric_series.clone(),
        );
        registry.register(
            "metric_store_bytes",
            "Approximate heap bytes of the in-memory metric store",
            t.metric_bytes.clone(),
        );
        Telemetry { registry, ..t }
    }

    /// The Prometheus text exposition (OpenMetrics 1.0 text, which Prometheus scrapes).
    pub fn render(&self) -> String {
        let mut out = String::new();
        if let Err(e) = prometheus_client::encoding::text::encode(&mut out, &self.registry) {
            tracing::error!(error = %e, "cannot encode /metrics");
        }
        out
    }

    pub(crate) fn invocations(&self, endpoint: &str, variant: &str, config: &str, a: &Accum) {
        let fleet = FleetLabels {
            endpoint: endpoint.to_owned(),
            variant: variant.to_owned(),
            config: config.to_owned(),
        };
        self.invocations.get_or_create(&fleet).inc_by(a.invocations);
        for (kind, n) in [
            ("4xx", a.errors_4xx),
            ("5xx", a.errors_5xx),
            ("model", a.model_errors),
        ] {
            if n > 0 {
                let labels = ErrorLabels {
                    endpoint: fleet.endpoint.clone(),
                    variant: fleet.variant.clone(),
                    config: fleet.config.clone(),
                    kind,
                };
                self.errors.get_or_create(&labels).inc_by(n);
            }
        }
        let v = VariantLabels {
            endpoint: fleet.endpoint,
            variant: fleet.variant,
        };
        for (family, dist) in [
            (&self.model_latency, &a.model_latency),
            (&self.overhead_latency, &a.overhead_latency),
        ] {
            let h = family.get_or_create(&v);
            for (micros, count) in dist.points() {
                for _ in 0..count.round() as u64 {
                    h.observe(micros / 1e6);
                }
            }
        }
    }

    pub(crate) fn not_served(&self, endpoint: &str, variant: &str, n: u64) {
        let labels = VariantLabels {
            endpoint: endpoint.to_owned(),
            variant: variant.to_owned(),
        };
        self.not_served.get_or_create(&labels).inc_by(n);
    }

    fn instance_labels(&self, endpoint: &str, variant: &str, pid: u32) -> InstanceLabels {
        self.instances
            .lock()
            .entry(pid)
            .or_insert_with(|| InstanceLabels {
                endpoint: endpoint.to_owned(),
                variant: variant.to_owned(),
                pid: pid.to_string(),
            })
            .clone()
    }

    pub(crate) fn instance_cpu(&self, endpoint: &str, variant: &str, pid: u32, percent: f64) {
        let l = self.instance_labels(endpoint, variant, pid);
        self.cpu.get_or_create(&l).set(percent);
    }

    pub(crate) fn instance_memory(&self, endpoint: &str, variant: &str, pid: u32, percent: f64) {
        let l = self.instance_labels(endpoint, variant, pid);
        self.memory.get_or_create(&l).set(percent);
    }

    /// Drops the gauges of processes that are gone.
    pub(crate) fn retain_instances(&self, alive: &[u32]) {
        let mut instances = self.instances.lock();
        instances.retain(|pid, labels| {
            let keep = alive.contains(pid);
            if !keep {
                self.cpu.remove(labels);
                self.memory.remove(labels);
            }
            keep
        });
    }

    pub(crate) fn alarm_evaluations(&self, n: u64) {
        self.alarm_evaluations.inc_by(n);
    }

    pub(crate) fn alarm_transition(&self, state: StateValue) {
        let labels = StateLabels {
            state: state.as_str(),
        };
        self.alarm_transitions.get_or_create(&labels).inc();
    }

    pub(crate) fn alarm_state_set(&self, state: StateValue) {
        let labels = StateLabels {
            state: state.as_str(),
        };
        self.alarm_states_set.get_or_create(&labels).inc();
    }

    pub(crate) fn metric_store(&self, usage: MemoryUsage) {
        self.metric_series.set(usage.series as i64);
        self.metric_bytes.set(usage.approx_bytes as i64);
    }
}

fn step_name(kind: EventKind) -> &'static str {
    match kind {
        EventKind::Started => "provisioning",
        EventKind::LaunchingBatch => "launching_batch",
        EventKind::ActivatingTraffic => "activating_traffic",
        EventKind::Baking => "baking",
        EventKind::TerminationWait => "termination_wait",
        EventKind::TearingDown => "tearing_down",
        EventKind::RollbackStarted => "rollback",
        EventKind::RestoringCapacity => "restoring_capacity",
        EventKind::ReturningTraffic => "returning_traffic",
        EventKind::DrainingNew => "draining_new",
        EventKind::Finished => "finished",
    }
}

fn outcome_name(o: &Outcome) -> &'static str {
    match o {
        Outcome::Succeeded => "succeeded",
        Outcome::RolledBack { .. } => "rolled_back",
        Outcome::RollbackFailed { .. } => "rollback_failed",
        Outcome::Cancelled => "cancelled",
    }
}

impl guardrail_controller::DeploymentObserver for Telemetry {
    fn on_event(&self, endpoint_name: &str, mode: &str, event: &DeploymentEvent) {
        let mode_labels = ModeLabels {
            mode: mode.to_owned(),
        };
        match (event.kind, &event.outcome) {
            (EventKind::Started, _) => {
                self.deployments_started.get_or_create(&mode_labels).inc();
            }
            (EventKind::RollbackStarted, _) => {
                self.rollbacks.get_or_create(&mode_labels).inc();
            }
            (EventKind::Finished, Some(outcome)) => {
                let labels = OutcomeLabels {
                    mode: mode.to_owned(),
                    outcome: outcome_name(outcome),
                };
                self.deployments_finished.get_or_create(&labels).inc();
            }
            _ => {}
        }
        let mut last = self.last_event.lock();
        if let Some((kind, at)) = last.get(endpoint_name) {
            if *kind != EventKind::Finished {
                let secs = (event.at.millis() - at.millis()).max(0) as f64 / 1000.0;
                let labels = StepLabels {
                    mode: mode.to_owned(),
                    step: step_name(*kind),
                };
                self.step_seconds.get_or_create(&labels).observe(secs);
            }
        }
        if event.kind == EventKind::Finished {
            last.remove(endpoint_name);
        } else {
            last.insert(endpoint_name.to_owned(), (event.kind, event.at));
        }
    }
}
