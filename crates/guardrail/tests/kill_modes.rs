//! Kill test for every deployment mode: `kill -9` the server at a random point of an update,
//! restart it on the same data dir, and check that
//! - every acknowledged Model / EndpointConfig / Endpoint / alarm still exists,
//! - the in-flight update reaches the outcome it would have reached without the crash
//!   (success: InService on the new config, no FailureReason, answered by v2; rollback:
//!   InService on the old config, FailureReason naming the alarm, answered by v1),
//! - no instance process of the killed server survives it, and after the outcome exactly the
//!   expected fleet runs, every process a child of the new server,
//! - the endpoint answers again within `ANSWER_BOUND` of the restart and reaches its outcome
//!   within `OUTCOME_BOUND`.
//!
//! Modes: none (no DeploymentConfig), ALL_AT_ONCE, CANARY, LINEAR, ROLLING (2 instances per
//! fleet, bakes and termination waits of 1 s), and a rollback scenario: a CANARY whose alarm
//! was tripped by SetAlarmState during the canary bake, acknowledged before the kill. The
//! alarm's Period is 1 s, so by the time the server is back the alarm is usually OK again and
//! only its history records the trip; the canary bake is 120 s, so only the trip can end the
//! update within the bound. Six runs per mode by default, each on a fresh data dir, the kill
//! at a seeded random delay within the update's duration (`Mode::kill_window_ms`; the ignored
//! test `calibrate_kill_windows` measures the durations); a third of the runs kill the
//! server once more while it recovers. Every kill prints
//! `kill-report mode=… run=… seed=… kill=… delay_ms=… phase=…` (phase: what DescribeEndpoint
//! showed just before the kill), every run `kill-run …`, every mode ends with
//! `kill-summary mode=… runs=… kills=… outcome_ok=… answer_after_restart_ms(min/median/max)=…
//! outcome_after_restart_ms(min/median/max)=…`. A failed run does not stop the others: the
//! mode's test fails at the end with every failed run's seed, message and server log tails.
//!
//! Replay one run: `GUARDRAIL_KILL_SEED=<seed> GUARDRAIL_KILL_MODE=<mode> GUARDRAIL_KILL_RUNS=1
//! cargo test -p guardrail --test kill_modes -- --nocapture`. `GUARDRAIL_KILL_RUNS` sets the
//! number of runs per mode, `GUARDRAIL_KILL_MODE` skips the other modes.
//!
//! The mode tests share one lock, so they never run concurrently (a 2-core CI machine would
//! otherwise time six servers against each other).

#![allow(clippy::disallowed_methods)] // compares with the server's wall-clock timestamps

mod common;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use common::load::Load;
use common::*;
use serde_json::{json, Value};

/// From the (last) restart to the first invocation answered 200.
const ANSWER_BOUND: Duration = Duration::from_secs(30);
/// From the (last) restart to the update's final outcome.
const OUTCOME_BOUND: Duration = Duration::from_secs(60);
/// Old instance processes must be gone this long after the restart at the latest.
const ORPHAN_BOUND: Duration = Duration::from_secs(10);
const DEFAULT_RUNS: u64 = 6;

static SERIAL: Mutex<()> = Mutex::new(());

/// A small deterministic generator (xorshift) so runs replay from the printed seed.
fn next(seed: &mut u64) -> u64 {
    *seed ^= *seed << 13;
    *seed ^= *seed >> 7;
    *seed ^= *seed << 17;
    *seed
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Mode {
    None,
    AllAtOnce,
    Canary,
    Linear,
    Rolling,
    Rollback,
}

impl Mode {
    fn name(self) -> &'static str {
        match self {
            Mode::None => "none",
            Mode::AllAtOnce => "ALL_AT_ONCE",
            Mode::Canary => "CANARY",
            Mode::Linear => "LINEAR",
            Mode::Rolling => "ROLLING",
            Mode::Rollback => "rollback",
        }
    }

    /// Instances per fleet.
    fn instances(self) -> u32 {
        2
    }

    /// The kill lands in `[0, window)` after UpdateEndpoint was acknowledged (for the rollback
    /// scenario: after SetAlarmState was acknowledged). Each window is the uninterrupted
    /// update's duration on a 2-core machine (`calibrate_kill_windows` prints it) plus a little
    /// margin, so most kills land inside the update and a few just after its end.
    fn kill_window_ms(self) -> u64 {
        match self {
            // provision 2 green → switch → drain and stop blue: ~0.3–0.5 s
            Mode::None => 600,
            // provision → switch → bake 1 s → T 1 s → teardown: ~2.4 s
            Mode::AllAtOnce => 3_000,
            // provision → canary → bake 1 s → full → bake 1 s → teardown: ~2.5 s
            Mode::Canary => 3_000,
            // provision → step 1 → bake 1 s → step 2 → bake 1 s → T 1 s → teardown: ~3.5 s
            Mode::Linear => 4_000,
            // 2 × (launch 1 → shift → bake 1 s → stop 1 old): ~2.9 s
            Mode::Rolling => 3_500,
            // trip → swap back to blue → drain green (v2 answers in 0.5 s) → stop it: ~0.2 s
            Mode::Rollback => 400,
        }
    }

    /// The crash point for a random draw `r`. Half of the rollback scenario's kills land
    /// within 60 ms of the trip's acknowledgement (before or just as the engine reacts; picked
    /// by bit 32 of the draw), the other half anywhere in the window.
    fn kill_delay(self, r: u64) -> Duration {
        let window = self.kill_window_ms();
        let ms = if self == Mode::Rollback && (r >> 32) & 1 == 0 {
            r % 60
        } else {
            r % window
        };
        Duration::from_millis(ms)
    }

    fn has_alarm(self) -> bool {
        self != Mode::None
    }

    fn deployment_config(self, alarm: &str) -> Option<Value> {
        let rollback = json!({"Alarms": [{"AlarmName": alarm}]});
        match self {
            Mode::None => None,
            Mode::AllAtOnce => Some(json!({
                "BlueGreenUpdatePolicy": {"TrafficRoutingConfiguration": {"Type": "ALL_AT_ONCE", "WaitIntervalInSeconds": 1},
                                          "TerminationWaitInSeconds": 1},
                "AutoRollbackConfiguration": rollback})),
            Mode::Canary => Some(json!({
                "BlueGreenUpdatePolicy": {"TrafficRoutingConfiguration": {"Type": "CANARY", "WaitIntervalInSeconds": 1,
                                              "CanarySize": {"Type": "INSTANCE_COUNT", "Value": 1}}},
                "AutoRollbackConfiguration": rollback})),
            Mode::Linear => Some(json!({
                "BlueGreenUpdatePolicy": {"TrafficRoutingConfiguration": {"Type": "LINEAR", "WaitIntervalInSeconds": 1,
                                              "LinearStepSize": {"Type": "INSTANCE_COUNT", "Value": 1}},
                                          "TerminationWaitInSeconds": 1},
                "AutoRollbackConfiguration": rollback})),
            Mode::Rolling => Some(json!({
                "RollingUpdatePolicy": {"MaximumBatchSize": {"Type": "INSTANCE_COUNT", "Value": 1},
                                        "WaitIntervalInSeconds": 1},
                "AutoRollbackConfiguration": rollback})),
            // A long canary bake: without the alarm this update would take > 60 s, so only
            // the (durably recorded) trip can end it within the outcome bound.
            Mode::Rollback => Some(json!({
                "BlueGreenUpdatePolicy": {"TrafficRoutingConfiguration": {"Type": "CANARY", "WaitIntervalInSeconds": 120,
                                              "CanarySize": {"Type": "INSTANCE_COUNT", "Value": 1}}},
                "AutoRollbackConfiguration": rollback})),
        }
    }

    /// The v2 model's Environment. In the rollback scenario v2 answers slowly and a light
    /// load runs, so green has invocations in flight when the alarm trips and the rollback
    /// (swap back, drain green, stop it) takes ~0.2 s instead of a few milliseconds: kills
    /// land inside it.
    fn v2_env(self) -> Value {
        if self == Mode::Rollback {
            json!({"LATENCY_MS": "500"})
        } else {
            json!({})
        }
    }

    fn expect_rollback(self) -> bool {
        self == Mode::Rollback
    }
}

/// Something a 200 answer acknowledged; it must survive every crash.
#[derive(Debug, Clone)]
enum Acked {
    Model(String),
    Config(String),
    Endpoint(String),
    Alarm(String),
}

/// One process, named by pid and start time (so a reused pid is never mistaken for it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Proc {
    pid: u32,
    /// Field 22 of `/proc/<pid>/stat` (clock ticks after boot), as in the server's pid files.
    start: u64,
    ppid: u32,
}

/// `(state, ppid, start time)` of a process, from `/proc/<pid>/stat`.
fn stat(pid: u32) -> Option<(String, u32, u64)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The fields after the parenthesised command name start with field 3 (state).
    let rest: Vec<&str> = text[text.rfind(')')? + 1..].split_whitespace().collect();
    Some((
        rest.first()?.to_string(),
        rest.get(1)?.parse().ok()?,
        rest.get(19)?.parse().ok()?,
    ))
}

/// Whether `p` (that very process, not a reuse of its pid) still runs; a zombie does not.
fn process_running(p: &Proc) -> bool {
    stat(p.pid).is_some_and(|(state, _, start)| state != "Z" && start == p.start)
}

/// One instance: a process, or (in container mode) a container by id.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Inst {
    Process(Proc),
    Container(String),
}

impl Inst {
    fn running(&self) -> bool {
        match self {
            Inst::Process(p) => process_running(p),
            Inst::Container(id) => container_running(id),
        }
    }

    /// Launched by the server `pid` (a container is its server's by the owner label it was
    /// found by).
    fn belongs_to(&self, pid: u32) -> bool {
        match self {
            Inst::Process(p) => p.ppid == pid,
            Inst::Container(_) => true,
        }
    }
}

/// The instances of this data dir that run: processes, or containers in container mode.
fn instances(data: &Path) -> Vec<Inst> {
    if container_mode() {
        return instance_containers(data)
            .into_iter()
            .map(Inst::Container)
            .collect();
    }
    instance_procs(data)
        .into_iter()
        .map(Inst::Process)
        .collect()
}

/// Instance processes of this data dir, found by where their stdout goes
/// (`<data_dir>/logs/<endpoint>/<instance>.log`): precise even when other tests run
/// model servers on the same machine, and independent of the pid files the server writes
/// (a launch cut between spawn and pid file is not missed).
fn instance_procs(data: &Path) -> Vec<Proc> {
    let logs = std::fs::canonicalize(data.join("logs")).unwrap_or_else(|_| data.join("logs"));
    let mut out = Vec::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(target) = std::fs::read_link(format!("/proc/{pid}/fd/1")) else {
            continue;
        };
        if !target.starts_with(&logs) {
            continue;
        }
        if let Some((state, ppid, start)) = stat(pid) {
            if state != "Z" {
                out.push(Proc { pid, start, ppid });
            }
        }
    }
    out
}

/// Processes recorded in the server's pid files (`<data_dir>/instances/*.pid`).
fn pid_file_procs(data: &Path) -> Vec<Proc> {
    std::fs::read_dir(data.join("instances"))
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| std::fs::read_to_string(e.path()).ok())
        .filter_map(|t| serde_json::from_str::<Value>(&t).ok())
        .filter_map(|v| {
            Some(Proc {
                pid: v["pid"].as_u64()? as u32,
                start: v["start_time"].as_u64()?,
                ppid: 0,
            })
        })
        .collect()
}

/// The last `lines` lines of a server log, without the terminal colour codes.
fn tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let mut plain = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            // CSI: ESC [ parameters final-byte
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            plain.push(c);
        }
    }
    let all: Vec<&str> = plain.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// Calls `op` and records `what` as acknowledged when it answered 200 (it must).
fn acked_call(server: &Server, acked: &mut Vec<Acked>, what: Acked, op: &str, body: Value) {
    server.ok(op, body);
    acked.push(what);
}

fn assert_acked_exist(server: &Server, acked: &[Acked]) {
    for a in acked {
        match a {
            Acked::Model(n) => {
                let (s, v) = server.call("DescribeModel", json!({"ModelName": n}));
                assert_eq!(s, 200, "acknowledged model {n} lost: {v}");
            }
            Acked::Config(n) => {
                let (s, v) =
                    server.call("DescribeEndpointConfig", json!({"EndpointConfigName": n}));
                assert_eq!(s, 200, "acknowledged endpoint config {n} lost: {v}");
            }
            Acked::Endpoint(n) => {
                let (s, v) = server.call("DescribeEndpoint", json!({"EndpointName": n}));
                assert_eq!(s, 200, "acknowledged endpoint {n} lost: {v}");
            }
            Acked::Alarm(n) => {
                let v = server.cw_ok("DescribeAlarms", json!({"AlarmNames": [n]}));
                let found = v["MetricAlarms"]
                    .as_array()
                    .is_some_and(|a| a.iter().any(|m| m["AlarmName"] == n.as_str()));
                assert!(found, "acknowledged alarm {n} lost: {v}");
            }
        }
    }
}

/// Timings of one run, from the last restart.
struct RunTimes {
    answer: Duration,
    outcome: Duration,
    kills: u32,
}

/// What a run leaves for the report when it fails.
#[derive(Default)]
struct RunCtx {
    /// The run's temp dir (data dir and server logs), kept until the run is reported.
    dir: Option<tempfile::TempDir>,
    logs: Vec<PathBuf>,
    kills: u32,
}

/// Where the update was just before a kill, for the report: the endpoint status, then the
/// pending (green) variant's status, or the top-level (blue) one's when there is none.
fn phase(server: &Server, ep: &str) -> String {
    let (status, d) = server.call("DescribeEndpoint", json!({"EndpointName": ep}));
    if status != 200 {
        return format!("describe-{status}");
    }
    let variant = |v: &Value| {
        v["ProductionVariants"][0]["VariantStatus"][0]["Status"]
            .as_str()
            .map(str::to_string)
    };
    let mut out = d["EndpointStatus"].as_str().unwrap_or("?").to_string();
    if let Some(green) = variant(&d["PendingDeploymentSummary"]) {
        out.push_str(&format!("/green:{green}"));
    }
    if let Some(blue) = variant(&d) {
        out.push_str(&format!("/blue:{blue}"));
    }
    out
}

fn kill_now(server: &mut Server, ctx: &mut RunCtx, data: &Path) -> Vec<Inst> {
    // Everything the server had launched: by stdout and by pid file (the two can only differ
    // for a launch cut between spawn and pid file, or a stop cut before removing it). What it
    // launches between this snapshot and the kill is caught by the final fleet check.
    let mut before = instances(data);
    before.extend(pid_file_procs(data).into_iter().map(Inst::Process));
    before.sort();
    before.dedup_by(|a, b| match (a, b) {
        (Inst::Process(a), Inst::Process(b)) => (a.pid, a.start) == (b.pid, b.start),
        (a, b) => a == b,
    });
    server.kill9();
    ctx.kills += 1;
    before
}

/// Waits (bounded) until none of `procs` runs any more; returns those still running.
fn wait_gone(procs: &[Inst], deadline: Duration) -> Vec<Inst> {
    let start = Instant::now();
    loop {
        let left: Vec<Inst> = procs.iter().filter(|p| p.running()).cloned().collect();
        if left.is_empty() || start.elapsed() >= deadline {
            return left;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
}

fn start_server(data: &Path, ctx: &mut RunCtx) -> Server {
    let server = Server::start(data);
    ctx.logs.push(server.log.clone());
    server
}

/// `Some(true)` when `d` is the expected final state, `Some(false)` when it is final but wrong,
/// `None` while the update (or the relaunch of the fleet) is still going.
fn final_state(d: &Value, expect_config: &str, n: u32) -> Option<bool> {
    match d["EndpointStatus"].as_str() {
        Some("Updating") | Some("Creating") | Some("RollingBack") | None => None,
        Some("InService") => {
            let serving = d["ProductionVariants"].as_array().is_some_and(|vs| {
                vs.iter().all(|v| {
                    v["CurrentInstanceCount"] == v["DesiredInstanceCount"]
                        && v["CurrentInstanceCount"] == n
                })
            });
            if d["EndpointConfigName"] != expect_config {
                Some(false)
            } else if serving {
                Some(true)
            } else {
                None
            }
        }
        Some(_) => Some(false),
    }
}

fn run_once(mode: Mode, run: u64, seed0: u64, ctx: &mut RunCtx) -> RunTimes {
    let mut seed = seed0;
    let n = mode.instances();
    let data = ctx
        .dir
        .insert(tempfile::tempdir().unwrap())
        .path()
        .join("data");
    let mut server = start_server(&data, ctx);
    let ep = "kill";
    let alarm = "kill-guard";
    let mut acked = Vec::new();

    acked_call(
        &server,
        &mut acked,
        Acked::Model("kill-m".into()),
        "CreateModel",
        json!({"ModelName": "kill-m", "PrimaryContainer": {"Image": image("v1")}}),
    );
    acked_call(
        &server,
        &mut acked,
        Acked::Config("kill-c".into()),
        "CreateEndpointConfig",
        json!({"EndpointConfigName": "kill-c", "ProductionVariants": [{"VariantName": "AllTraffic",
               "ModelName": "kill-m", "InitialInstanceCount": n, "InstanceType": "ml.m5.large"}]}),
    );
    acked_call(
        &server,
        &mut acked,
        Acked::Endpoint(ep.into()),
        "CreateEndpoint",
        json!({"EndpointName": ep, "EndpointConfigName": "kill-c"}),
    );
    acked_call(
        &server,
        &mut acked,
        Acked::Model("kill-m2".into()),
        "CreateModel",
        json!({"ModelName": "kill-m2", "PrimaryContainer": {"Image": image("v2"), "Environment": mode.v2_env()}}),
    );
    acked_call(
        &server,
        &mut acked,
        Acked::Config("kill-c2".into()),
        "CreateEndpointConfig",
        json!({"EndpointConfigName": "kill-c2", "ProductionVariants": [{"VariantName": "AllTraffic",
               "ModelName": "kill-m2", "InitialInstanceCount": n, "InstanceType": "ml.m5.large"}]}),
    );
    if mode.has_alarm() {
        // A custom metric nobody publishes: OK (missing data not breaching) unless set.
        server.cw_ok(
            "PutMetricAlarm",
            json!({"AlarmName": alarm, "Namespace": "Custom/KillTest", "MetricName": "Guard",
                   "Statistic": "Sum", "Period": 1, "EvaluationPeriods": 1, "Threshold": 1.0,
                   "ComparisonOperator": "GreaterThanOrEqualToThreshold", "TreatMissingData": "notBreaching"}),
        );
        acked.push(Acked::Alarm(alarm.into()));
    }
    server.wait_serving(ep, Duration::from_secs(30));

    let mut update = json!({"EndpointName": ep, "EndpointConfigName": "kill-c2"});
    if let Some(dc) = mode.deployment_config(alarm) {
        update["DeploymentConfig"] = dc;
    }
    server.ok("UpdateEndpoint", update);
    let load = (mode == Mode::Rollback).then(|| Load::start(&server.url, ep, 2));
    if mode == Mode::Rollback {
        // Trip the alarm while the canary bakes (a monitored window): green answers first.
        server.wait_for("a v2 answer (canary live)", Duration::from_secs(30), || {
            server.invoke(ep, "{}").1["model_version"] == "v2"
        });
        server.cw_ok(
            "SetAlarmState",
            json!({"AlarmName": alarm, "StateValue": "ALARM", "StateReason": "kill test trip"}),
        );
    }
    let delay = mode.kill_delay(next(&mut seed));
    std::thread::sleep(delay); // the crash point itself, not a wait for state
    let at = phase(&server, ep);
    let before = kill_now(&mut server, ctx, &data);
    drop(load.map(Load::stop));
    println!(
        "kill-report mode={} run={run} seed={seed0} kill=1 delay_ms={} phase={at} instances_before={}",
        mode.name(),
        delay.as_millis(),
        before.len()
    );

    let mut restarted = Instant::now();
    server = start_server(&data, ctx);
    let mut old = before;
    // A third of the runs crash again while the server recovers.
    if next(&mut seed).is_multiple_of(3) {
        let left = wait_gone(&old, ORPHAN_BOUND);
        assert!(
            left.is_empty(),
            "instances of the first killed server still run {ORPHAN_BOUND:?} after the restart: {left:?}"
        );
        // Counted from the spawn of the new server; it cannot land before /healthz answered.
        let delay = Duration::from_millis(next(&mut seed) % 1_500);
        std::thread::sleep(delay.saturating_sub(restarted.elapsed()));
        let at = phase(&server, ep);
        let actual = restarted.elapsed();
        old = kill_now(&mut server, ctx, &data);
        println!(
            "kill-report mode={} run={run} seed={seed0} kill=2 delay_ms={} (after restart; drawn {}) phase={at} instances_before={}",
            mode.name(),
            actual.as_millis(),
            delay.as_millis(),
            old.len()
        );
        restarted = Instant::now();
        server = start_server(&data, ctx);
    }

    // No instance of a killed server survives it.
    let left = wait_gone(&old, ORPHAN_BOUND);
    assert!(
        left.is_empty(),
        "instances of the killed server still run {ORPHAN_BOUND:?} after the restart: {left:?}"
    );

    // Answer again, and reach the outcome, within the bounds.
    let (expect_config, expect_version) = if mode.expect_rollback() {
        ("kill-c", "v1")
    } else {
        ("kill-c2", "v2")
    };
    let mut answer = None;
    let mut outcome = None;
    let mut last = Value::Null;
    while answer.is_none() || outcome.is_none() {
        let elapsed = restarted.elapsed();
        if answer.is_none() {
            assert!(
                elapsed < ANSWER_BOUND,
                "no invocation answered within {ANSWER_BOUND:?} of the restart; last describe: {last}"
            );
            if server.invoke(ep, "{}").0 == 200 {
                answer = Some(restarted.elapsed());
            }
        }
        if outcome.is_none() {
            assert!(
                elapsed < OUTCOME_BOUND,
                "no final outcome within {OUTCOME_BOUND:?} of the restart; last describe: {last}"
            );
            last = server.ok("DescribeEndpoint", json!({"EndpointName": ep}));
            match final_state(&last, expect_config, n) {
                Some(true) => outcome = Some(restarted.elapsed()),
                Some(false) => {
                    panic!("wrong outcome: expected InService on {expect_config}, got {last}")
                }
                None => {}
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let (answer, outcome) = (answer.unwrap(), outcome.unwrap());

    // The outcome in detail.
    assert!(
        last.get("PendingDeploymentSummary").is_none(),
        "pending summary after the end: {last}"
    );
    if mode.expect_rollback() {
        let reason = last["FailureReason"].as_str().unwrap_or_default();
        assert!(
            reason.starts_with("Update rolled back") && reason.contains(alarm),
            "FailureReason must name the alarm: {last}"
        );
    } else {
        assert!(
            last.get("FailureReason").is_none(),
            "no FailureReason after a successful update: {last}"
        );
    }
    if let Some(dc) = mode.deployment_config(alarm) {
        assert_eq!(last["LastDeploymentConfig"], dc, "{last}");
    }
    assert_acked_exist(&server, &acked);
    for i in 0..10 {
        let (status, body, _) = server.invoke(ep, "{}");
        assert_eq!(status, 200, "invocation {i} after the outcome: {body}");
        assert_eq!(
            body["model_version"], expect_version,
            "invocation {i} after the outcome answered by the wrong fleet: {body}"
        );
    }

    // Exactly the final fleet runs, all children of the live server (no orphan, no leak).
    let me = server.pid();
    let mut procs = Vec::new();
    let settled = Instant::now();
    while settled.elapsed() < ORPHAN_BOUND {
        procs = instances(&data);
        if procs.len() == n as usize && procs.iter().all(|p| p.belongs_to(me)) {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        procs.len() == n as usize && procs.iter().all(|p| p.belongs_to(me)),
        "expected exactly {n} instance processes, children of server {me}, {ORPHAN_BOUND:?} after the outcome: {procs:?}"
    );

    // A clean stop leaves nothing behind either.
    let code = server.terminate();
    assert_eq!(code, Some(0), "graceful stop after the run");
    let left = wait_gone(&procs, ORPHAN_BOUND);
    assert!(left.is_empty(), "instances left after SIGTERM: {left:?}");

    RunTimes {
        answer,
        outcome,
        kills: ctx.kills,
    }
}

fn panic_text(e: &(dyn std::any::Any + Send)) -> String {
    e.downcast_ref::<String>()
        .cloned()
        .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "panic".into())
}

fn min_median_max(v: &[Duration]) -> String {
    if v.is_empty() {
        return "-/-/-".into();
    }
    let mut ms: Vec<u128> = v.iter().map(Duration::as_millis).collect();
    ms.sort_unstable();
    format!("{}/{}/{}", ms[0], ms[ms.len() / 2], ms[ms.len() - 1])
}

fn kill_mode(mode: Mode) {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    if let Ok(only) = std::env::var("GUARDRAIL_KILL_MODE") {
        if !only.eq_ignore_ascii_case(mode.name()) {
            println!(
                "kill-summary mode={} skipped (GUARDRAIL_KILL_MODE={only})",
                mode.name()
            );
            return;
        }
    }
    let runs: u64 = std::env::var("GUARDRAIL_KILL_RUNS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(DEFAULT_RUNS);
    // With GUARDRAIL_KILL_SEED, run 0 uses exactly that seed (replay); otherwise a fresh base
    // seed, mixed with the mode so that modes do not share kill points.
    let base: u64 = match std::env::var("GUARDRAIL_KILL_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
    {
        Some(seed) => seed,
        None => {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64;
            now ^ (mode as u64).wrapping_mul(0xA24B_AED4_963E_E407)
        }
    };
    let started = Instant::now();
    let mut answers = Vec::new();
    let mut outcomes = Vec::new();
    let mut kills = 0;
    let mut failures = Vec::new();
    for run in 0..runs {
        let seed = base.wrapping_add(run.wrapping_mul(0x9E37_79B9_7F4A_7C15)) | 1;
        let mut ctx = RunCtx::default();
        let result = catch_unwind(AssertUnwindSafe(|| run_once(mode, run, seed, &mut ctx)));
        kills += ctx.kills;
        match result {
            Ok(t) => {
                println!(
                    "kill-run mode={} run={run} seed={seed} kills={} outcome_ok=true answer_after_restart_ms={} outcome_after_restart_ms={}",
                    mode.name(),
                    t.kills,
                    t.answer.as_millis(),
                    t.outcome.as_millis()
                );
                answers.push(t.answer);
                outcomes.push(t.outcome);
            }
            Err(e) => {
                let msg = panic_text(&*e);
                let mut report = format!(
                    "mode={} run={run} seed={seed} kills={} (replay: GUARDRAIL_KILL_SEED={seed} GUARDRAIL_KILL_MODE={} GUARDRAIL_KILL_RUNS=1)\n{msg}",
                    mode.name(),
                    ctx.kills,
                    mode.name()
                );
                for (i, log) in ctx.logs.iter().enumerate() {
                    report.push_str(&format!(
                        "\n--- server #{i} log tail ({}) ---\n{}",
                        log.display(),
                        tail(log, 30)
                    ));
                }
                println!(
                    "kill-run mode={} run={run} seed={seed} outcome_ok=false\n{report}",
                    mode.name()
                );
                failures.push(report);
            }
        }
    }
    println!(
        "kill-summary mode={} runs={runs} kills={kills} outcome_ok={}/{runs} answer_after_restart_ms(min/median/max)={} outcome_after_restart_ms(min/median/max)={} wall_s={:.1}",
        mode.name(),
        answers.len(),
        min_median_max(&answers),
        min_median_max(&outcomes),
        started.elapsed().as_secs_f64()
    );
    assert!(
        failures.is_empty(),
        "{} of {runs} {} kill runs failed:\n{}",
        failures.len(),
        mode.name(),
        failures.join("\n\n")
    );
}

#[test]
fn kill_9_during_plain_update() {
    kill_mode(Mode::None);
}

#[test]
fn kill_9_during_all_at_once() {
    kill_mode(Mode::AllAtOnce);
}

#[test]
fn kill_9_during_canary() {
    kill_mode(Mode::Canary);
}

#[test]
fn kill_9_during_linear() {
    kill_mode(Mode::Linear);
}

#[test]
fn kill_9_during_rolling() {
    kill_mode(Mode::Rolling);
}

#[test]
fn kill_9_during_alarm_rollback() {
    kill_mode(Mode::Rollback);
}

/// Not a kill test: runs every mode once without a crash and prints how long the update takes
/// (from the acknowledgement of UpdateEndpoint, or of SetAlarmState for the rollback scenario,
/// to the final outcome), to check that each mode's kill window covers its whole update.
#[test]
#[ignore]
fn calibrate_kill_windows() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    for mode in [
        Mode::None,
        Mode::AllAtOnce,
        Mode::Canary,
        Mode::Linear,
        Mode::Rolling,
        Mode::Rollback,
    ] {
        let n = mode.instances();
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let server = Server::start(&data);
        server.create_endpoint("cal", &image("v1"), json!({}), n);
        server.ok(
            "CreateModel",
            json!({"ModelName": "cal-m2", "PrimaryContainer": {"Image": image("v2"), "Environment": mode.v2_env()}}),
        );
        server.ok(
            "CreateEndpointConfig",
            json!({"EndpointConfigName": "cal-c2", "ProductionVariants": [{"VariantName": "AllTraffic",
                   "ModelName": "cal-m2", "InitialInstanceCount": n, "InstanceType": "ml.m5.large"}]}),
        );
        server.cw_ok(
            "PutMetricAlarm",
            json!({"AlarmName": "cal-guard", "Namespace": "Custom/KillTest", "MetricName": "Guard",
                   "Statistic": "Sum", "Period": 1, "EvaluationPeriods": 1, "Threshold": 1.0,
                   "ComparisonOperator": "GreaterThanOrEqualToThreshold", "TreatMissingData": "notBreaching"}),
        );
        server.wait_serving("cal", Duration::from_secs(30));
        let procs = instances(&data).len();
        let mut update = json!({"EndpointName": "cal", "EndpointConfigName": "cal-c2"});
        if let Some(dc) = mode.deployment_config("cal-guard") {
            update["DeploymentConfig"] = dc;
        }
        server.ok("UpdateEndpoint", update);
        let load = (mode == Mode::Rollback).then(|| Load::start(&server.url, "cal", 2));
        if mode == Mode::Rollback {
            server.wait_for("canary live", Duration::from_secs(30), || {
                server.invoke("cal", "{}").1["model_version"] == "v2"
            });
            server.cw_ok(
                "SetAlarmState",
                json!({"AlarmName": "cal-guard", "StateValue": "ALARM", "StateReason": "calibration"}),
            );
        }
        let start = Instant::now();
        let expect = if mode.expect_rollback() {
            "cal-c"
        } else {
            "cal-c2"
        };
        let mut peak = 0;
        server.wait_for("outcome", Duration::from_secs(60), || {
            peak = peak.max(instances(&data).len());
            let d = server.ok("DescribeEndpoint", json!({"EndpointName": "cal"}));
            final_state(&d, expect, n) == Some(true)
        });
        let to_outcome = start.elapsed();
        drop(load.map(Load::stop));
        server.wait_for("fleet settled", Duration::from_secs(10), || {
            instances(&data).len() == n as usize
        });
        println!(
            "calibration mode={} update_ms={} settled_ms={} kill_window_ms={} procs_before={procs} peak_procs={peak}",
            mode.name(),
            to_outcome.as_millis(),
            start.elapsed().as_millis(),
            mode.kill_window_ms()
        );
    }
}
