//! The process backend with real processes on 127.0.0.1.
//!
//! How the model server is launched: this test binary re-executes itself. The command is
//! `[<this test binary>, "child_process_entry", "--exact", "--nocapture", "--test-threads=1",
//! "-q"]` with `GUARDRAIL_TEST_CHILD=model-server` in the instance env: libtest then runs only
//! [`child_process_entry`], which sees the variable and becomes a real
//! `guardrail_model_server::run(ModelServerConfig::from_env())` process (port from
//! `SAGEMAKER_BIND_TO_PORT`, knobs from the env). No cargo invocation, no extra binary target, no
//! Python: the path always exists (`std::env::current_exe`) and is built by the same `cargo test`.
//! Other misbehaving processes are plain `sh -c` one-liners.
//!
//! Every wait is bounded by a deadline; state is awaited through events or polling, never a
//! fixed sleep. A few tests watch for the *absence* of an event during a window: that window is
//! the assertion, not a wait.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use bytes::Bytes;
use guardrail_backend::{
    reap_orphans, BackendError, InstanceBackend, InstanceEvent, InstanceId, InstanceSpec,
    LaunchedInstance, ProbeConfig, ProcessBackend, Program,
};
use http_body_util::Full;
use hyper::{Request, StatusCode};
use hyper_util::rt::TokioIo;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use tokio::io::{AsyncBufReadExt as _, BufReader};
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver};
use tokio::time::{timeout, Instant};

mod common;

use common::{fast_probe, http, DEADLINE};

const CHILD_ENV: &str = "GUARDRAIL_TEST_CHILD";

/// Not a test of its own: the entry point of the child processes the tests launch (see the
/// module docs). In a normal test run `GUARDRAIL_TEST_CHILD` is unset and this returns at once.
#[test]
fn child_process_entry() {
    let Ok(role) = std::env::var(CHILD_ENV) else {
        return;
    };
    let rt = tokio::runtime::Runtime::new().unwrap();
    let code = match role.as_str() {
        "model-server" => {
            eprintln!("model-server child pid {} starting", std::process::id());
            let result = rt.block_on(async {
                guardrail_model_server::run(guardrail_model_server::ModelServerConfig::from_env()?)
                    .await
            });
            match result {
                Ok(()) => {
                    eprintln!("model-server child exited cleanly");
                    0
                }
                Err(e) => {
                    eprintln!("model-server child failed: {e:#}");
                    1
                }
            }
        }
        "crashing-server" => rt.block_on(crashing_server()),
        other => panic!("unknown {CHILD_ENV}={other}"),
    };
    std::process::exit(code);
}

/// Plays a Guardrail server that launches one instance and is then `kill -9`ed by the test:
/// prints `LEADER <pid>` once the instance runs, then waits forever.
async fn crashing_server() -> i32 {
    let data_dir = PathBuf::from(std::env::var("GUARDRAIL_TEST_DATA_DIR").unwrap());
    let (tx, _rx) = unbounded_channel();
    let backend = ProcessBackend::new(data_dir.clone(), tx, ProbeConfig::default());
    // The leader forks a grandchild that stays in the group; PR_SET_PDEATHSIG reaches only the
    // leader, so the grandchild is what reap_orphans must clean up.
    let script = format!(
        "sleep 60 & echo $! > {}; wait",
        data_dir.join("grandchild.pid").display()
    );
    let launched = backend
        .launch(spec(&data_dir, "orphan-1", sh(&script), &[]))
        .await
        .unwrap();
    println!("LEADER {}", launched.pid.unwrap());
    std::future::pending::<()>().await;
    unreachable!()
}

// ---------------------------------------------------------------------------------------------

struct Harness {
    dir: tempfile::TempDir,
    backend: ProcessBackend,
    events: UnboundedReceiver<InstanceEvent>,
}

impl Harness {
    fn new() -> Self {
        Self::with_probe(fast_probe())
    }

    fn with_probe(probe: ProbeConfig) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let (tx, events) = unbounded_channel();
        let backend = ProcessBackend::new(dir.path().to_path_buf(), tx, probe);
        Self {
            dir,
            backend,
            events,
        }
    }

    fn data_dir(&self) -> &Path {
        self.dir.path()
    }

    fn log(&self, id: &str) -> PathBuf {
        self.data_dir().join("logs").join(format!("{id}.log"))
    }

    fn pid_file(&self, id: &str) -> PathBuf {
        self.data_dir().join("instances").join(format!("{id}.pid"))
    }

    async fn launch_model_server(&self, id: &str, env: &[(&str, &str)]) -> LaunchedInstance {
        self.backend
            .launch(spec(self.data_dir(), id, model_server_command(), env))
            .await
            .unwrap()
    }

    async fn next_event(&mut self) -> InstanceEvent {
        match timeout(DEADLINE, self.events.recv()).await {
            Ok(Some(event)) => event,
            Ok(None) => panic!("event channel closed"),
            Err(_) => panic!("no event within {DEADLINE:?}"),
        }
    }

    /// Asserts that no event arrives during `window`.
    async fn no_event_for(&mut self, window: Duration) {
        if let Ok(event) = timeout(window, self.events.recv()).await {
            panic!("unexpected event {event:?}");
        }
    }

    fn dump_log(&self, id: &str) -> String {
        std::fs::read_to_string(self.log(id)).unwrap_or_default()
    }
}

fn model_server_command() -> Vec<String> {
    let exe = std::env::current_exe().unwrap();
    vec![
        exe.display().to_string(),
        "child_process_entry".into(),
        "--exact".into(),
        "--nocapture".into(),
        "--test-threads=1".into(),
        "-q".into(),
    ]
}

fn sh(script: &str) -> Vec<String> {
    vec!["sh".into(), "-c".into(), script.into()]
}

fn spec(data_dir: &Path, id: &str, command: Vec<String>, env: &[(&str, &str)]) -> InstanceSpec {
    let mut vars: BTreeMap<String, String> = env
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    vars.entry(CHILD_ENV.into())
        .or_insert_with(|| "model-server".into());
    InstanceSpec {
        id: InstanceId::from(id),
        program: Program::Process { command },
        env: vars,
        log_path: data_dir.join("logs").join(format!("{id}.log")),
        model_dir: None,
        resources: None,
        labels: BTreeMap::new(),
    }
}

fn id(s: &str) -> InstanceId {
    InstanceId::from(s)
}

/// Alive and not a zombie.
fn is_alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => {
            let state = stat[stat.rfind(')').unwrap() + 1..]
                .split_whitespace()
                .next();
            state != Some("Z")
        }
        Err(_) => false,
    }
}

/// Polls `cond` until it holds or the deadline passes.
async fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + DEADLINE;
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Processes (zombies excluded) whose process group is `pgid`.
fn live_group_members(pgid: u32) -> Vec<u32> {
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
                let f: Vec<&str> = stat[stat.rfind(')').unwrap() + 1..]
                    .split_whitespace()
                    .collect();
                f[0] != "Z" && f[2] == pgid.to_string()
            })
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn launch_becomes_ready_serves_invocations_and_stops_gracefully() {
    let mut h = Harness::new();
    // The port variable is always the backend's, whatever the spec says.
    let launched = h
        .launch_model_server(
            "m-ready",
            &[("MODEL_VERSION", "v7"), ("SAGEMAKER_BIND_TO_PORT", "1")],
        )
        .await;
    assert_eq!(launched.id, id("m-ready"));
    assert!(launched.addr.ip().is_loopback());
    let pid = launched.pid.unwrap();
    assert!(h.pid_file("m-ready").exists());

    assert_eq!(
        h.next_event().await,
        InstanceEvent::Ready {
            id: id("m-ready"),
            addr: launched.addr
        },
        "log: {}",
        h.dump_log("m-ready")
    );
    assert_eq!(h.backend.running(), vec![id("m-ready")]);

    let req = Request::post("/invocations")
        .header("host", "localhost")
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from_static(b"{\"x\":1}")))
        .unwrap();
    let (status, body) = http(launched.addr, req).await;
    assert_eq!(status, StatusCode::OK);
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(v["model_version"], "v7");
    assert_eq!(v["pid"], pid);
    assert_eq!(v["bytes"], 7);
    assert_eq!(v["content_type"], "application/json");

    // Idempotent: the running instance comes back unchanged.
    let again = h.launch_model_server("m-ready", &[]).await;
    assert_eq!(again, launched);

    let t = Instant::now();
    h.backend
        .stop(&id("m-ready"), Duration::from_secs(10))
        .await
        .unwrap();
    assert!(t.elapsed() < Duration::from_secs(5), "SIGTERM was enough");
    assert!(!is_alive(pid));
    assert!(h.backend.running().is_empty());
    assert!(!h.pid_file("m-ready").exists());
    let log = h.dump_log("m-ready");
    assert!(log.contains("model-server child exited cleanly"), "{log}");
    assert!(log.contains("exited with status 0"), "{log}");
    // A stop is the caller's own act: no Exited event for it. Stopping again is a no-op.
    assert!(h.events.try_recv().is_err());
    h.backend
        .stop(&id("m-ready"), Duration::from_secs(1))
        .await
        .unwrap();
}

#[tokio::test]
async fn startup_delay_delays_ready() {
    let mut h = Harness::new();
    let t = Instant::now();
    h.launch_model_server("m-slow", &[("STARTUP_DELAY_S", "1.0")])
        .await;
    let event = h.next_event().await;
    assert!(matches!(event, InstanceEvent::Ready { .. }), "{event:?}");
    assert!(t.elapsed() >= Duration::from_secs(1), "{:?}", t.elapsed());
    h.backend.stop_all(Duration::from_secs(5)).await;
    assert!(h.backend.running().is_empty());
}

#[tokio::test]
async fn ping_fail_never_becomes_ready() {
    let mut h = Harness::new();
    let launched = h.launch_model_server("m-sick", &[("PING_FAIL", "1")]).await;
    // Proof that it is up and answering 503 (so the prober has something to refuse)...
    let deadline = Instant::now() + DEADLINE;
    loop {
        let ping = async {
            let stream = tokio::net::TcpStream::connect(launched.addr).await.ok()?;
            let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
                .await
                .ok()?;
            tokio::spawn(conn);
            let req = Request::get("/ping")
                .header("host", "localhost")
                .body(Full::<Bytes>::default())
                .unwrap();
            Some(sender.send_request(req).await.ok()?.status())
        };
        if let Some(status) = ping.await {
            assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
            break;
        }
        assert!(Instant::now() < deadline, "model server never came up");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // ...then 20 more probe periods without any event.
    h.no_event_for(fast_probe().starting_interval * 20).await;
    assert_eq!(h.backend.running(), vec![id("m-sick")]);
    h.backend
        .stop(&id("m-sick"), Duration::from_secs(5))
        .await
        .unwrap();
}

#[tokio::test]
async fn a_process_killed_from_outside_is_reported_exited_and_can_be_relaunched() {
    let mut h = Harness::new();
    let first = h.launch_model_server("m-kill", &[]).await;
    assert!(matches!(h.next_event().await, InstanceEvent::Ready { .. }));
    let pid = first.pid.unwrap();
    kill(Pid::from_raw(pid as i32), Signal::SIGKILL).unwrap();
    assert_eq!(
        h.next_event().await,
        InstanceEvent::Exited {
            id: id("m-kill"),
            reason: "killed by signal 9".into()
        }
    );
    assert!(h.backend.running().is_empty());
    assert!(!h.pid_file("m-kill").exists());

    // Launch after an exit starts a new process.
    let second = h.launch_model_server("m-kill", &[]).await;
    assert_ne!(second.pid, first.pid);
    assert!(matches!(h.next_event().await, InstanceEvent::Ready { .. }));
    h.backend.stop_all(Duration::from_secs(5)).await;
    h.no_event_for(Duration::from_millis(200)).await;
}

#[tokio::test]
async fn a_process_that_exits_before_ready_is_reported_with_its_status_and_output() {
    let mut h = Harness::new();
    h.backend
        .launch(spec(
            h.data_dir(),
            "m-bad",
            sh("echo model failed to load >&2; exit 3"),
            &[],
        ))
        .await
        .unwrap();
    assert_eq!(
        h.next_event().await,
        InstanceEvent::Exited {
            id: id("m-bad"),
            reason: "exited with status 3".into()
        }
    );
    assert!(h.dump_log("m-bad").contains("model failed to load"));
    h.no_event_for(fast_probe().starting_interval * 4).await;
}

#[tokio::test]
async fn a_ready_instance_that_stops_answering_becomes_unhealthy_once() {
    let probe = ProbeConfig {
        timeout: Duration::from_millis(300),
        ..fast_probe()
    };
    let mut h = Harness::with_probe(probe.clone());
    let launched = h.launch_model_server("m-hang", &[]).await;
    assert!(matches!(h.next_event().await, InstanceEvent::Ready { .. }));
    let pid = Pid::from_raw(launched.pid.unwrap() as i32);
    // A frozen process: connections are accepted by the kernel, pings time out.
    kill(pid, Signal::SIGSTOP).unwrap();
    let event = h.next_event().await;
    kill(pid, Signal::SIGCONT).unwrap();
    match event {
        InstanceEvent::Unhealthy { id: got, reason } => {
            assert_eq!(got, id("m-hang"));
            assert!(
                reason.starts_with("3 consecutive failed health checks"),
                "{reason}"
            );
        }
        other => panic!("expected Unhealthy, got {other:?}"),
    }
    // Probing has stopped: no further event even though it answers again.
    h.no_event_for(fast_probe().ready_interval * 5).await;
    assert_eq!(
        h.backend.running(),
        vec![id("m-hang")],
        "not stopped by the backend"
    );
    h.backend
        .stop(&id("m-hang"), Duration::from_secs(5))
        .await
        .unwrap();
}

#[tokio::test]
async fn stop_escalates_to_sigkill_for_the_whole_group() {
    let h = Harness::new();
    let launched = h
        .backend
        .launch(spec(
            h.data_dir(),
            "m-stubborn",
            // `sleep` inherits the ignored SIGTERM and stays in the group.
            sh("trap '' TERM; echo trap set; sleep 30; echo unreachable"),
            &[],
        ))
        .await
        .unwrap();
    let pid = launched.pid.unwrap();
    // SIGTERM before the trap is set would simply work; wait for it to be in place.
    wait_until("the trap is set", || {
        h.dump_log("m-stubborn").contains("trap set")
    })
    .await;
    wait_until("sleep runs in the group", || {
        live_group_members(pid).len() >= 2
    })
    .await;

    let grace = Duration::from_millis(300);
    let t = Instant::now();
    h.backend.stop(&id("m-stubborn"), grace).await.unwrap();
    let took = t.elapsed();
    assert!(took >= grace, "{took:?}");
    assert!(took < grace + Duration::from_secs(5), "{took:?}");
    assert!(!is_alive(pid));
    assert_eq!(live_group_members(pid), Vec::<u32>::new());
    let log = h.dump_log("m-stubborn");
    assert!(log.contains("killed by signal 9"), "{log}");
    assert!(!log.lines().any(|l| l == "unreachable"), "{log}");
}

#[tokio::test]
async fn stop_all_stops_everything_concurrently() {
    let mut h = Harness::new();
    let mut pids = Vec::new();
    for name in ["m-a", "m-b", "m-c"] {
        pids.push(h.launch_model_server(name, &[]).await.pid.unwrap());
    }
    for _ in 0..3 {
        assert!(matches!(h.next_event().await, InstanceEvent::Ready { .. }));
    }
    assert_eq!(h.backend.running(), vec![id("m-a"), id("m-b"), id("m-c")]);
    h.backend.stop_all(Duration::from_secs(5)).await;
    assert!(h.backend.running().is_empty());
    assert!(pids.iter().all(|&pid| !is_alive(pid)));
}

#[tokio::test]
async fn dropping_the_backend_kills_its_instances() {
    let h = Harness::new();
    let launched = h
        .backend
        .launch(spec(h.data_dir(), "m-drop", sh("sleep 30"), &[]))
        .await
        .unwrap();
    let pid = launched.pid.unwrap();
    assert!(is_alive(pid));
    drop(h.backend);
    wait_until("the instance is killed", || !is_alive(pid)).await;
}

#[tokio::test]
async fn a_command_that_does_not_exist_is_a_spawn_error() {
    let h = Harness::new();
    let err = h
        .backend
        .launch(spec(
            h.data_dir(),
            "m-missing",
            vec!["/nonexistent/model-server".into(), "serve".into()],
            &[],
        ))
        .await
        .unwrap_err();
    match &err {
        BackendError::Spawn { command, error } => {
            assert_eq!(command, "/nonexistent/model-server serve");
            assert_eq!(error.kind(), std::io::ErrorKind::NotFound);
        }
        other => panic!("expected Spawn, got {other:?}"),
    }
    assert!(
        err.to_string().contains("/nonexistent/model-server"),
        "{err}"
    );
    assert!(h.backend.running().is_empty());
    assert!(!h.pid_file("m-missing").exists());
}

#[tokio::test]
async fn bad_ids_and_empty_commands_are_refused() {
    let h = Harness::new();
    let err = h
        .backend
        .launch(spec(h.data_dir(), "../escape", sh("true"), &[]))
        .await
        .unwrap_err();
    assert!(matches!(err, BackendError::InvalidId(_)), "{err:?}");
    let err = h
        .backend
        .launch(spec(h.data_dir(), "m-empty", vec![], &[]))
        .await
        .unwrap_err();
    assert!(matches!(err, BackendError::EmptyCommand(_)), "{err:?}");
    let mut image = spec(h.data_dir(), "m-image", vec![], &[]);
    image.program = Program::Container {
        image: "some/image:1".into(),
    };
    let err = h.backend.launch(image).await.unwrap_err();
    assert!(
        matches!(
            err,
            BackendError::WrongProgram {
                kind: "container",
                ..
            }
        ),
        "{err:?}"
    );
}

/// `kill -9` of the server: the kernel kills the leader (PR_SET_PDEATHSIG), the grandchild in
/// its group survives, and reap_orphans at the next start kills it from the pid file.
#[tokio::test]
async fn after_a_server_crash_reap_orphans_kills_what_is_left() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = tokio::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "child_process_entry",
            "--exact",
            "--nocapture",
            "--test-threads=1",
            "-q",
        ])
        .env(CHILD_ENV, "crashing-server")
        .env("GUARDRAIL_TEST_DATA_DIR", dir.path())
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(server.stdout.take().unwrap()).lines();
    let leader: u32 = timeout(DEADLINE, async {
        while let Some(line) = lines.next_line().await.unwrap() {
            if let Some(pid) = line.strip_prefix("LEADER ") {
                return pid.parse().unwrap();
            }
        }
        panic!("the crashing server ended without launching")
    })
    .await
    .expect("the crashing server launched within the deadline");
    let grandchild_file = dir.path().join("grandchild.pid");
    let read_grandchild = || {
        std::fs::read_to_string(&grandchild_file)
            .ok()
            .and_then(|s| s.trim().parse::<u32>().ok())
    };
    wait_until("the grandchild is started", || read_grandchild().is_some()).await;
    let grandchild = read_grandchild().unwrap();
    let pid_file = dir.path().join("instances").join("orphan-1.pid");
    assert!(pid_file.exists());

    server.start_kill().unwrap(); // SIGKILL, by handle
    server.wait().await.unwrap();
    wait_until("the leader got its death signal", || !is_alive(leader)).await;
    assert!(
        is_alive(grandchild),
        "the grandchild is out of the death signal's reach"
    );

    assert_eq!(reap_orphans(dir.path()), 1);
    wait_until("the grandchild is killed", || !is_alive(grandchild)).await;
    assert!(!pid_file.exists());
    assert_eq!(reap_orphans(dir.path()), 0);
}

/// A process gets the extracted model artifacts as `SM_MODEL_DIR` (the built-in model server
/// then takes its version from the directory's `VERSION` file).
#[tokio::test]
async fn a_process_finds_its_model_dir_in_sm_model_dir() {
    let mut h = Harness::new();
    let model = tempfile::tempdir().unwrap();
    std::fs::write(model.path().join("VERSION"), "from-artifacts\n").unwrap();
    let mut s = spec(h.data_dir(), "m-artifacts", model_server_command(), &[]);
    s.model_dir = Some(model.path().to_path_buf());
    let launched = h.backend.launch(s).await.unwrap();
    assert!(
        matches!(h.next_event().await, InstanceEvent::Ready { .. }),
        "{}",
        h.dump_log("m-artifacts")
    );
    let req = Request::post("/invocations")
        .header("host", "localhost")
        .body(Full::new(Bytes::from_static(b"{}")))
        .unwrap();
    let (status, body) = http(launched.addr, req).await;
    assert_eq!(status, StatusCode::OK);
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(v["model_version"], "from-artifacts");
    h.backend
        .stop(&id("m-artifacts"), Duration::from_secs(5))
        .await
        .unwrap();
}
