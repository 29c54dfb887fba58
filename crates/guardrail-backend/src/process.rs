//! The local-process backend: each instance is one OS process (the image's `command`) serving
//! the container contract on a loopback port of its own.
//!
//! Safety nets, from the common case to the crash:
//! - [`InstanceBackend::stop`]: SIGTERM to the process group, SIGKILL after the grace period.
//! - When a leader exits, whatever is left in its group is SIGKILLed at once.
//! - Dropping the backend SIGKILLs every group it still runs; the per-instance monitor task owns
//!   the `Child` with `kill_on_drop`, so a runtime shut down under it kills the leader too.
//! - Linux `PR_SET_PDEATHSIG(SIGKILL)`: if the server is `kill -9`ed, the kernel kills each
//!   leader. The signal fires when the *thread* that forked the child exits, so all children are
//!   forked on one dedicated thread that lives as long as the process (see [`spawn_child`]).
//! - Pid files + [`crate::reap_orphans`] at the next start, for group members the death signal
//!   does not reach (only the leader gets it).

use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write as _};
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::os::unix::process::ExitStatusExt as _;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, OnceLock};
use std::time::Duration;

use nix::errno::Errno;
use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;
use parking_lot::Mutex;
use tokio::process::{Child, Command};
use tokio::sync::{mpsc::UnboundedSender, oneshot, watch};
use tokio::task::AbortHandle;

use crate::gate::EventGate;
use crate::orphans::{pid_path, write_pid_file, PidRecord};
use crate::probe::{run_prober, ProbeConfig};
use crate::{
    BackendError, InstanceBackend, InstanceEvent, InstanceId, InstanceSpec, LaunchedInstance,
    Program,
};

/// How long [`InstanceBackend::stop`] waits for a process to disappear after SIGKILL before it
/// reports [`BackendError::StopTimeout`] (a process stuck in uninterruptible I/O).
const KILL_WAIT: Duration = Duration::from_secs(10);

/// Runs each instance as a local process group; see the module docs for the safety nets.
///
/// The child's environment is the server's own environment (so `PATH`, `HOME` and the locale
/// work as in a shell), then [`InstanceSpec::env`] on top, then `SAGEMAKER_BIND_TO_PORT=<port>`
/// on top of everything: every instance gets its own free loopback port, chosen here.
#[derive(Clone)]
pub struct ProcessBackend {
    inner: Arc<Inner>,
}

struct Inner {
    data_dir: PathBuf,
    events: UnboundedSender<InstanceEvent>,
    probe: ProbeConfig,
    instances: Mutex<HashMap<InstanceId, Arc<Instance>>>,
    /// Serialises the check-then-spawn of `launch`, so one id never gets two processes.
    launch_lock: tokio::sync::Mutex<()>,
}

/// One launched process, shared by the map, `stop`, the monitor and the prober.
struct Instance {
    launched: LaunchedInstance,
    pgid: i32,
    gate: Arc<EventGate>,
    /// `None` while the process runs; the exit reason once the monitor has reaped it.
    exited: watch::Receiver<Option<String>>,
    stopping: AtomicBool,
    prober: AbortHandle,
}

impl crate::Tracked for Instance {
    fn is_live(&self) -> bool {
        !self.has_exited() && !self.stopping.load(Ordering::SeqCst)
    }
}

impl Instance {
    fn has_exited(&self) -> bool {
        self.exited.borrow().is_some()
    }
}

impl ProcessBackend {
    /// `data_dir` holds the pid files (`<data_dir>/instances/<id>.pid`); call
    /// [`crate::reap_orphans`] on it before the first launch. Events go to `events`.
    pub fn new(
        data_dir: PathBuf,
        events: UnboundedSender<InstanceEvent>,
        probe: ProbeConfig,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                data_dir,
                events,
                probe,
                instances: Mutex::new(HashMap::new()),
                launch_lock: tokio::sync::Mutex::new(()),
            }),
        }
    }

    async fn spawn_instance(&self, spec: InstanceSpec) -> Result<LaunchedInstance, BackendError> {
        let InstanceSpec {
            id,
            program,
            mut env,
            log_path,
            model_dir,
            ..
        } = spec;
        let Program::Process { command } = program else {
            return Err(BackendError::WrongProgram {
                id,
                kind: program.kind(),
            });
        };
        if let Some(dir) = model_dir {
            env.insert("SM_MODEL_DIR".into(), dir.display().to_string());
        }
        let port = free_port().map_err(BackendError::NoFreePort)?;
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        let shown = command.join(" ");
        let log = open_log(&log_path).map_err(|error| BackendError::LogFile {
            path: log_path.clone(),
            error,
        })?;
        let log_err = log.try_clone().map_err(|error| BackendError::LogFile {
            path: log_path.clone(),
            error,
        })?;
        append_log(
            &log_path,
            &format!("guardrail: launching instance {id} on {addr}: {shown}"),
        );

        let mut cmd = Command::new(&command[0]);
        cmd.args(&command[1..])
            .envs(&env)
            .env("SAGEMAKER_BIND_TO_PORT", port.to_string())
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_err)
            .process_group(0)
            .kill_on_drop(true);
        set_parent_death_signal(&mut cmd);
        let spawn_error = |error| BackendError::Spawn {
            command: shown.clone(),
            error,
        };
        let child = spawn_child(cmd).await.map_err(spawn_error)?;
        let pid = child.id().expect("a child not yet waited for has a pid");
        let pgid = pid as i32; // process_group(0): the child leads a group named after itself

        // Record it before anything else can fail, so a crash from here on leaves a trace.
        let pid_file = pid_path(&self.inner.data_dir, &id);
        let recorded =
            PidRecord::of_leader(pid as i32).and_then(|record| write_pid_file(&pid_file, &record));
        if let Err(error) = recorded {
            signal_group(pgid, Signal::SIGKILL);
            drop(child); // kill_on_drop + tokio's orphan reaper take care of the zombie
            let _ = fs::remove_file(&pid_file);
            return Err(BackendError::PidFile {
                id,
                path: pid_file,
                error,
            });
        }

        let launched = LaunchedInstance {
            id: id.clone(),
            addr,
            pid: Some(pid),
        };
        let gate = Arc::new(EventGate::new(self.inner.events.clone()));
        let (exited_tx, exited_rx) = watch::channel(None);
        let prober = tokio::spawn(run_prober(
            id.clone(),
            addr,
            self.inner.probe.clone(),
            gate.clone(),
            exited_rx.clone(),
        ));
        tokio::spawn(monitor(Monitor {
            child,
            id: id.clone(),
            pgid,
            pid_file,
            log_path,
            gate: gate.clone(),
            exited: exited_tx,
        }));
        let instance = Arc::new(Instance {
            launched: launched.clone(),
            pgid,
            gate,
            exited: exited_rx,
            stopping: AtomicBool::new(false),
            prober: prober.abort_handle(),
        });
        self.inner.instances.lock().insert(id.clone(), instance);
        tracing::info!(instance = %id, pid, %addr, "launched");
        Ok(launched)
    }
}

#[async_trait::async_trait]
impl InstanceBackend for ProcessBackend {
    async fn launch(&self, spec: InstanceSpec) -> Result<LaunchedInstance, BackendError> {
        if !valid_id(&spec.id) {
            return Err(BackendError::InvalidId(spec.id));
        }
        if matches!(&spec.program, Program::Process { command } if command.is_empty()) {
            return Err(BackendError::EmptyCommand(spec.id));
        }
        loop {
            let guard = self.inner.launch_lock.lock().await;
            let existing = self.inner.instances.lock().get(&spec.id).cloned();
            match existing {
                Some(inst) if !inst.has_exited() => {
                    if !inst.stopping.load(Ordering::SeqCst) {
                        return Ok(inst.launched.clone());
                    }
                    // Being stopped: let that finish (without blocking other launches), so the
                    // old and the new process never share the pid file.
                    drop(guard);
                    let mut exited = inst.exited.clone();
                    let _ = exited.wait_for(Option::is_some).await;
                }
                _ => return self.spawn_instance(spec).await,
            }
        }
    }

    async fn stop(&self, id: &InstanceId, grace: Duration) -> Result<(), BackendError> {
        let Some(inst) = self.inner.instances.lock().get(id).cloned() else {
            return Ok(());
        };
        inst.stopping.store(true, Ordering::SeqCst);
        inst.gate.close(None);
        inst.prober.abort();
        let mut exited = inst.exited.clone();
        if !inst.has_exited() {
            tracing::info!(instance = %id, pgid = inst.pgid, ?grace, "stopping: SIGTERM");
            signal_group(inst.pgid, Signal::SIGTERM);
            if !wait_exited(&mut exited, grace).await {
                tracing::warn!(instance = %id, pgid = inst.pgid, "still running after {grace:?}: SIGKILL");
                signal_group(inst.pgid, Signal::SIGKILL);
                if !wait_exited(&mut exited, KILL_WAIT).await {
                    return Err(BackendError::StopTimeout {
                        id: id.clone(),
                        pid: inst.pgid as u32,
                        waited: KILL_WAIT,
                    });
                }
            }
        }
        crate::forget_launch(&mut self.inner.instances.lock(), id, &inst);
        Ok(())
    }

    fn running(&self) -> Vec<InstanceId> {
        crate::live_ids(&self.inner.instances.lock())
    }

    async fn stop_all(&self, grace: Duration) {
        let ids: Vec<InstanceId> = self.inner.instances.lock().keys().cloned().collect();
        crate::stop_concurrently(self, ids, grace).await;
    }
}

impl Drop for Inner {
    /// The last handle is gone: nothing can stop these any more, so kill them now.
    fn drop(&mut self) {
        for (id, inst) in self.instances.get_mut().drain() {
            inst.gate.close(None);
            inst.prober.abort();
            if !inst.has_exited() {
                tracing::warn!(instance = %id, pgid = inst.pgid, "backend dropped: SIGKILL");
                signal_group(inst.pgid, Signal::SIGKILL);
            }
        }
    }
}

struct Monitor {
    child: Child,
    id: InstanceId,
    pgid: i32,
    pid_file: PathBuf,
    log_path: PathBuf,
    gate: Arc<EventGate>,
    exited: watch::Sender<Option<String>>,
}

/// Waits for the leader, cleans up after it, then publishes the exit (watch first, so that
/// `running()` no longer lists the instance when the `Exited` event is received).
async fn monitor(mut m: Monitor) {
    let reason = match m.child.wait().await {
        Ok(status) => describe(status),
        Err(e) => format!("lost track of the process: {e}"),
    };
    // Stragglers go with their leader. While a member lives its group id cannot be reused as a
    // pid, so this can only hit our own group (or nothing: ESRCH).
    signal_group(m.pgid, Signal::SIGKILL);
    let _ = fs::remove_file(&m.pid_file);
    append_log(
        &m.log_path,
        &format!("guardrail: instance {} {reason}", m.id),
    );
    tracing::info!(instance = %m.id, pid = m.pgid, "{reason}");
    m.exited.send_replace(Some(reason.clone()));
    m.gate
        .close(Some(InstanceEvent::Exited { id: m.id, reason }));
}

/// Waits up to `limit` for the monitor to report the exit; `false` if still running then.
pub(crate) async fn wait_exited(
    exited: &mut watch::Receiver<Option<String>>,
    limit: Duration,
) -> bool {
    // Err from wait_for: the monitor is gone (runtime shutting down) and its Child was dropped
    // with kill_on_drop: as good as exited. The `Ref` is dropped at once (it holds a lock).
    tokio::time::timeout(limit, exited.wait_for(Option::is_some))
        .await
        .is_ok()
}

fn describe(status: ExitStatus) -> String {
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exited with status {code}"),
        (None, Some(signal)) => format!("killed by signal {signal}"),
        (None, None) => format!("ended: {status}"),
    }
}

/// Signals a process group; "no such group" is not an error here (it is already gone).
fn signal_group(pgid: i32, signal: Signal) {
    match killpg(Pid::from_raw(pgid), signal) {
        Ok(()) | Err(Errno::ESRCH) => {}
        Err(e) => tracing::warn!(pgid, ?signal, error = %e, "cannot signal process group"),
    }
}

/// Ids become file and container names: keep them boring.
pub(crate) fn valid_id(id: &InstanceId) -> bool {
    let s = id.0.as_str();
    !s.is_empty()
        && s.len() <= 200
        && !s.starts_with('.')
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// Binds 127.0.0.1:0 and releases it. Another process may take the port before the instance
/// binds it; the instance then fails to start and is reported `Exited` like any bad start.
pub(crate) fn free_port() -> io::Result<u16> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
    Ok(listener.local_addr()?.port())
}

pub(crate) fn open_log(path: &Path) -> io::Result<File> {
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir)?;
    }
    OpenOptions::new().create(true).append(true).open(path)
}

/// A line of our own in the instance's log (best effort: the log is for humans).
pub(crate) fn append_log(path: &Path, line: &str) {
    if let Ok(mut f) = OpenOptions::new().append(true).open(path) {
        let _ = writeln!(f, "{line}");
    }
}

/// Makes the kernel SIGKILL the child when the thread that forked it dies (Linux only).
#[cfg(target_os = "linux")]
#[allow(unsafe_code)] // `pre_exec` is unsafe: the closure runs in the forked child before exec,
                      // where only async-signal-safe calls are allowed. It makes two (prctl,
                      // getppid) and builds its errors without allocating.
fn set_parent_death_signal(cmd: &mut Command) {
    let parent = std::process::id() as libc::pid_t;
    // SAFETY: see above; the closure captures a plain integer only.
    unsafe {
        cmd.pre_exec(move || {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong) != 0 {
                return Err(io::Error::last_os_error());
            }
            // The parent may have died between fork and prctl: then nobody will ever signal us.
            if libc::getppid() != parent {
                return Err(io::Error::from_raw_os_error(libc::ESRCH));
            }
            Ok(())
        });
    }
}

#[cfg(not(target_os = "linux"))]
fn set_parent_death_signal(_cmd: &mut Command) {}

struct SpawnJob {
    cmd: Command,
    runtime: tokio::runtime::Handle,
    reply: oneshot::Sender<io::Result<Child>>,
}

/// Forks `cmd` on the spawner thread: one thread, started on first use and never ended, so that
/// `PR_SET_PDEATHSIG` (tied to the forking *thread*) fires only when the whole server dies.
/// Forking on a runtime worker or a `spawn_blocking` thread would kill instances whenever that
/// thread is retired. The caller's runtime is entered for the spawn, so the returned `Child` is
/// reaped by that runtime.
async fn spawn_child(cmd: Command) -> io::Result<Child> {
    static SPAWNER: OnceLock<mpsc::Sender<SpawnJob>> = OnceLock::new();
    let spawner = SPAWNER.get_or_init(|| {
        let (tx, rx) = mpsc::channel::<SpawnJob>();
        std::thread::Builder::new()
            .name("guardrail-spawner".into())
            .spawn(move || {
                for job in rx {
                    let _entered = job.runtime.enter();
                    let mut cmd = job.cmd;
                    // Never let one bad spawn (e.g. a runtime shut down meanwhile) end the
                    // thread that every later spawn needs.
                    let spawned =
                        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| cmd.spawn()))
                            .unwrap_or_else(|_| Err(io::Error::other("spawning panicked")));
                    // If the launch was cancelled meanwhile, the Child is dropped: kill_on_drop.
                    let _ = job.reply.send(spawned);
                }
            })
            .expect("cannot start the process spawner thread");
        tx
    });
    let (reply, answer) = oneshot::channel();
    let job = SpawnJob {
        cmd,
        runtime: tokio::runtime::Handle::current(),
        reply,
    };
    spawner
        .send(job)
        .map_err(|_| io::Error::other("process spawner thread is gone"))?;
    answer
        .await
        .map_err(|_| io::Error::other("process spawner thread is gone"))?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_must_be_plain_file_names() {
        for ok in ["ep-1-v2-0", "a.b_c", "X9"] {
            assert!(valid_id(&InstanceId::from(ok)), "{ok}");
        }
        for bad in ["", ".", "..", ".hidden", "a/b", "a b", "é", "../x"] {
            assert!(!valid_id(&InstanceId::from(bad)), "{bad}");
        }
    }

    #[test]
    fn exit_statuses_read_like_the_contract() {
        assert_eq!(
            describe(ExitStatus::from_raw(1 << 8)),
            "exited with status 1"
        );
        assert_eq!(describe(ExitStatus::from_raw(0)), "exited with status 0");
        assert_eq!(describe(ExitStatus::from_raw(9)), "killed by signal 9");
    }
}
