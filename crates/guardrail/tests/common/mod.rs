//! Test kit: start the real `guardrail` binary on a free loopback port with a temp data dir,
//! talk to it over HTTP, and wait on conditions with deadlines (never fixed sleeps).

#![allow(dead_code, unreachable_pub)]
// Signs requests and compares with the server's wall-clock timestamps.
#![allow(clippy::disallowed_methods)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

pub mod load;

pub const BIN: &str = env!("CARGO_BIN_EXE_guardrail");

pub struct Server {
    pub child: Option<Child>,
    pub url: String,
    pub data_dir: PathBuf,
    pub log: PathBuf,
    client: reqwest::blocking::Client,
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `GUARDRAIL_TEST_BACKEND=container` runs the tests that use [`image`] against the container
/// backend (podman's Docker-compatible service, `$GUARDRAIL_TEST_ENGINE` or
/// `unix:///run/podman/podman.sock`) with the images `scripts/test-images.sh` builds.
pub fn container_mode() -> bool {
    std::env::var("GUARDRAIL_TEST_BACKEND").is_ok_and(|b| b == "container")
}

pub fn engine_address() -> String {
    std::env::var("GUARDRAIL_TEST_ENGINE")
        .unwrap_or_else(|_| "unix:///run/podman/podman.sock".to_string())
}

/// The image of model version `version` (`"v1"`, `"v2"`): a process image from the config's
/// `[images]`, or in container mode a container image whose env names the version.
pub fn image(version: &str) -> String {
    if container_mode() {
        format!("localhost/guardrail-test/model:{version}")
    } else {
        format!("model:{version}")
    }
}

pub fn write_config(dir: &Path) -> PathBuf {
    write_config_with(dir, container_mode())
}

/// The test config, with a `[containers]` table when `containers`.
pub fn write_config_with(dir: &Path, containers: bool) -> PathBuf {
    let path = dir.join("guardrail.toml");
    let containers = if containers {
        format!("[containers]\nengine = \"{}\"\n", engine_address())
    } else {
        String::new()
    };
    std::fs::write(
        &path,
        format!(
            r#"
{containers}
[images."model:v1"]
command = ["{BIN}", "model-server"]
env = {{ MODEL_VERSION = "v1" }}

[images."model:v2"]
command = ["{BIN}", "model-server"]
env = {{ MODEL_VERSION = "v2" }}
"#
        ),
    )
    .unwrap();
    path
}

impl Server {
    /// Starts the binary on `data_dir` and waits (bounded) until it answers `/healthz`.
    pub fn start(data_dir: &Path) -> Server {
        Self::start_with_config(data_dir, "")
    }

    /// Like [`Server::start`], with `extra_toml` put before the image tables of the config, so
    /// it may set top-level keys and add tables (e.g. `metrics_token`, `[[credentials]]`).
    pub fn start_with_config(data_dir: &Path, extra_toml: &str) -> Server {
        // A test that configures containers itself gets no second `[containers]` table.
        let containers = container_mode() && !extra_toml.contains("[containers]");
        let config = write_config_with(data_dir.parent().unwrap_or(data_dir), containers);
        let images = std::fs::read_to_string(&config).unwrap();
        std::fs::write(&config, format!("{extra_toml}\n{images}")).unwrap();
        let port = free_port();
        let log = data_dir.with_extension(format!("{port}.log"));
        let child = Command::new(BIN)
            .args(["serve", "--config"])
            .arg(&config)
            .args(["--listen", &format!("127.0.0.1:{port}"), "--data-dir"])
            .arg(data_dir)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("start guardrail");
        let server = Server {
            child: Some(child),
            url: format!("http://127.0.0.1:{port}"),
            data_dir: data_dir.to_path_buf(),
            log,
            client: reqwest::blocking::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .unwrap(),
        };
        server.wait_for("healthz", Duration::from_secs(30), || {
            server
                .client
                .get(format!("{}/healthz", server.url))
                .send()
                .is_ok_and(|r| r.status().is_success())
        });
        server
    }

    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }

    /// Polls `cond` every 50 ms until it holds or `deadline` passes (then panics with logs).
    pub fn wait_for(&self, what: &str, deadline: Duration, mut cond: impl FnMut() -> bool) {
        let start = Instant::now();
        while start.elapsed() < deadline {
            if cond() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!(
            "timed out after {deadline:?} waiting for {what}\n--- server log ---\n{}",
            self.log_tail()
        );
    }

    /// Calls a SageMaker control-plane operation; returns (HTTP status, JSON body).
    pub fn call(&self, op: &str, body: Value) -> (u16, Value) {
        let r = self
            .client
            .post(&self.url)
            .header("x-amz-target", format!("SageMaker.{op}"))
            .header("content-type", "application/x-amz-json-1.1")
            .body(body.to_string())
            .send()
            .unwrap();
        let status = r.status().as_u16();
        (status, r.json().unwrap_or(Value::Null))
    }

    /// Calls a CloudWatch operation in awsJson1_0 (what boto3 sends); returns (status, body).
    #[allow(dead_code)] // not every test binary uses CloudWatch
    pub fn cw(&self, op: &str, body: Value) -> (u16, Value) {
        let r = self
            .client
            .post(&self.url)
            .header(
                "x-amz-target",
                format!("GraniteServiceVersion20100801.{op}"),
            )
            .header("content-type", "application/x-amz-json-1.0")
            .body(body.to_string())
            .send()
            .unwrap();
        let status = r.status().as_u16();
        (status, r.json().unwrap_or(Value::Null))
    }

    #[allow(dead_code)]
    pub fn cw_ok(&self, op: &str, body: Value) -> Value {
        let (status, v) = self.cw(op, body);
        assert_eq!(status, 200, "{op} failed: {v}\n{}", self.log_tail());
        v
    }

    pub fn ok(&self, op: &str, body: Value) -> Value {
        let (status, v) = self.call(op, body);
        assert_eq!(status, 200, "{op} failed: {v}\n{}", self.log_tail());
        v
    }

    pub fn invoke(&self, endpoint: &str, body: &str) -> (u16, Value, reqwest::header::HeaderMap) {
        let r = self
            .client
            .post(format!("{}/endpoints/{endpoint}/invocations", self.url))
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .unwrap();
        let status = r.status().as_u16();
        let headers = r.headers().clone();
        (status, r.json().unwrap_or(Value::Null), headers)
    }

    pub fn status(&self, endpoint: &str) -> String {
        let v = self.ok("DescribeEndpoint", json!({"EndpointName": endpoint}));
        v["EndpointStatus"].as_str().unwrap_or_default().to_string()
    }

    pub fn wait_status(&self, endpoint: &str, status: &str, deadline: Duration) {
        self.wait_for(&format!("{endpoint} {status}"), deadline, || {
            self.status(endpoint) == status
        });
    }

    /// InService with every desired instance ready (after a restart, instances are relaunched
    /// while the endpoint stays InService).
    pub fn wait_serving(&self, endpoint: &str, deadline: Duration) {
        self.wait_for(&format!("{endpoint} serving"), deadline, || {
            let d = self.ok("DescribeEndpoint", json!({"EndpointName": endpoint}));
            d["EndpointStatus"] == "InService"
                && d["ProductionVariants"].as_array().is_some_and(|vs| {
                    vs.iter()
                        .all(|v| v["CurrentInstanceCount"] == v["DesiredInstanceCount"])
                })
        });
    }

    /// Model + config (+ endpoint) with one variant.
    pub fn create_endpoint(&self, name: &str, image: &str, env: Value, count: u32) {
        self.ok(
            "CreateModel",
            json!({"ModelName": format!("{name}-m"), "PrimaryContainer": {"Image": image, "Environment": env}}),
        );
        self.ok(
            "CreateEndpointConfig",
            json!({"EndpointConfigName": format!("{name}-c"), "ProductionVariants": [{
                "VariantName": "AllTraffic", "ModelName": format!("{name}-m"),
                "InitialInstanceCount": count, "InstanceType": "ml.m5.large"}]}),
        );
        self.ok(
            "CreateEndpoint",
            json!({"EndpointName": name, "EndpointConfigName": format!("{name}-c")}),
        );
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().unwrap().id()
    }

    /// SIGTERM and wait (bounded) for exit; returns the exit code.
    pub fn terminate(&mut self) -> Option<i32> {
        let mut child = self.child.take()?;
        signal(child.id(), "TERM");
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(40) {
            if let Some(status) = child.try_wait().unwrap() {
                return status.code();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = child.kill();
        panic!(
            "server did not stop within 40 s of SIGTERM\n{}",
            self.log_tail()
        );
    }

    pub fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if self.child.is_some() {
            let _ = self.terminate();
        }
    }
}

pub fn signal(pid: u32, sig: &str) {
    let _ = Command::new("kill")
        .args([&format!("-{sig}"), &pid.to_string()])
        .status();
}

pub fn alive(pid: u32) -> bool {
    // A zombie still has a /proc entry; treat state Z as dead.
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| s.split_whitespace().nth(2).is_none_or(|st| st != "Z"))
        .unwrap_or(false)
}

/// The seed in `var`, or a fresh one from the clock (print it so a failure can be replayed).
#[allow(dead_code)]
pub fn seed_from_env(var: &str) -> u64 {
    std::env::var(var)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
                | 1
        })
}

/// A small deterministic generator (xorshift) so runs replay from a printed seed.
#[allow(dead_code)]
pub struct Rng(pub u64);

#[allow(dead_code)]
impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// Uniform-ish in `0..n`.
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// The server's name for itself at the container engine, as `guardrail serve` derives it
/// from its data dir (the `guardrail.owner` label).
pub fn container_owner(data_dir: &Path) -> String {
    use sha2::{Digest as _, Sha256};
    let dir = std::fs::canonicalize(data_dir).unwrap_or_else(|_| data_dir.to_path_buf());
    let digest = Sha256::digest(dir.as_os_str().as_encoded_bytes());
    digest.iter().take(8).map(|b| format!("{b:02x}")).collect()
}

/// Runs one engine call on a throwaway runtime (the tests are synchronous).
pub fn with_engine<T>(f: impl AsyncFnOnce(bollard::Docker) -> T) -> T {
    let docker = bollard::Docker::connect_with_host(&engine_address()).expect("engine address");
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f(docker))
}

/// Ids of the running containers of the server on `data_dir`.
pub fn instance_containers(data_dir: &Path) -> Vec<String> {
    let owner = container_owner(data_dir);
    with_engine(async move |docker| {
        let filters = std::collections::HashMap::from([(
            "label".to_string(),
            vec![format!("guardrail.owner={owner}")],
        )]);
        let options = bollard::query_parameters::ListContainersOptions {
            filters: Some(filters),
            ..Default::default()
        };
        let listed = docker
            .list_containers(Some(options))
            .await
            .expect("list containers");
        listed.into_iter().filter_map(|c| c.id).collect()
    })
}

/// Whether the container runs (a removed one does not).
pub fn container_running(id: &str) -> bool {
    with_engine(async move |docker| {
        docker
            .inspect_container(
                id,
                None::<bollard::query_parameters::InspectContainerOptions>,
            )
            .await
            .ok()
            .and_then(|c| c.state?.running)
            .unwrap_or(false)
    })
}

/// Which instance gave an `/invocations` answer: its pid, or in container mode its container
/// (the host name the model server reports is the container id's prefix).
pub fn instance_of(answer: &Value) -> String {
    if container_mode() {
        answer["host"].as_str().unwrap_or_default().to_string()
    } else {
        answer["pid"].to_string()
    }
}

/// Kills the instance [`instance_of`] named, as a crash would: SIGKILL to the process, or to
/// the container through the engine.
pub fn crash_instance(instance: &str) {
    if container_mode() {
        crash_container(instance);
    } else {
        signal(instance.parse().expect("a pid"), "KILL");
    }
}

/// SIGKILLs a container (by id or id prefix) through the engine.
pub fn crash_container(id: &str) {
    let id = id.to_string();
    with_engine(async move |docker| {
        let kill = bollard::query_parameters::KillContainerOptions {
            signal: "SIGKILL".into(),
        };
        docker
            .kill_container(&id, Some(kill))
            .await
            .expect("kill the container");
    });
}
