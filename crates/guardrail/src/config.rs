//! The typed configuration: TOML file, then command-line overrides, validated before
//! anything starts.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use guardrail_artifacts::ModelDataConfig;
use guardrail_backend::ContainerNetwork;
use guardrail_controller::{ImageCatalog, ImageCommand};
use guardrail_core::instance_types::InstanceResources;
use guardrail_http::auth::{AccessKey, AuthConfig, BearerToken, Credentials};
use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FileConfig {
    pub(crate) listen: Option<String>,
    pub(crate) data_dir: Option<PathBuf>,
    pub(crate) region: Option<String>,
    pub(crate) account_id: Option<String>,
    #[serde(default)]
    pub(crate) images: BTreeMap<String, ImageConfig>,
    #[serde(default)]
    pub(crate) credentials: Vec<Credential>,
    /// `Authorization: Bearer <token>` required on `/metrics` (instead of SigV4).
    pub(crate) metrics_token: Option<String>,
    /// Seconds a container may take to answer an invocation (SageMaker: 60).
    pub(crate) invocation_timeout_s: Option<u64>,
    #[serde(default)]
    pub(crate) limits: LimitsConfig,
    /// Present: images not listed in `[images]` run as containers.
    pub(crate) containers: Option<ContainersConfig>,
    #[serde(default)]
    pub(crate) model_data: ModelDataFileConfig,
}

/// `[containers]`: the container backend (docs/containers.md).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ContainersConfig {
    /// `unix:///…` or `tcp://…`; default `$DOCKER_HOST`, else `/var/run/docker.sock`.
    pub(crate) engine: Option<String>,
    /// `"publish"` (default: port 8080 published on a free loopback port) or `"host"`.
    pub(crate) network: Option<String>,
    /// `"ml.m5.large" = { vcpus = 2, memory_mib = 8192 }`: overrides the built-in table.
    #[serde(default)]
    pub(crate) instance_types: BTreeMap<String, InstanceTypeConfig>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct InstanceTypeConfig {
    pub(crate) vcpus: f64,
    pub(crate) memory_mib: u64,
}

/// `[model_data]`: where `ModelDataUrl`s are fetched from.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ModelDataFileConfig {
    pub(crate) s3_endpoint_url: Option<String>,
    #[serde(default)]
    pub(crate) local_buckets: BTreeMap<String, PathBuf>,
}

/// `[limits]`: every key optional; absent = unlimited (the concurrency default is 1024).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct LimitsConfig {
    pub(crate) max_endpoints: Option<usize>,
    pub(crate) max_instances_per_endpoint: Option<u32>,
    pub(crate) max_instances: Option<u32>,
    /// Requests one instance may have outstanding; beyond it callers get a retryable
    /// ServiceUnavailable instead of queueing without bound.
    pub(crate) max_concurrent_invocations_per_instance: Option<u32>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ImageConfig {
    pub(crate) command: Vec<String>,
    #[serde(default)]
    pub(crate) env: BTreeMap<String, String>,
}

/// One SigV4 key every request may be signed with. `Debug` never shows the secret or the
/// session token.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Credential {
    pub(crate) access_key_id: String,
    /// 8–128 printable ASCII characters (a warning below 16).
    pub(crate) secret_access_key: String,
    /// Temporary credentials: requests must carry it as `X-Amz-Security-Token`.
    pub(crate) session_token: Option<String>,
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credential")
            .field("access_key_id", &self.access_key_id)
            .finish_non_exhaustive()
    }
}

#[derive(Debug)]
pub(crate) struct Config {
    pub(crate) listen: SocketAddr,
    pub(crate) data_dir: PathBuf,
    pub(crate) region: String,
    pub(crate) account_id: String,
    pub(crate) images: ImageCatalog,
    /// SigV4 keys and the `/metrics` token (`Debug` shows key ids only).
    pub(crate) auth: AuthConfig,
    /// `--insecure`: a non-loopback `listen` without `[[credentials]]` was asked for.
    pub(crate) insecure: bool,
    pub(crate) invocation_timeout_s: u64,
    pub(crate) limits: guardrail_http::Limits,
    pub(crate) max_concurrent_invocations_per_instance: u32,
    /// The container backend's settings, when `[containers]` is present.
    pub(crate) containers: Option<ContainerSettings>,
    pub(crate) model_data: ModelDataConfig,
}

#[derive(Debug)]
pub(crate) struct ContainerSettings {
    pub(crate) engine: Option<String>,
    pub(crate) network: ContainerNetwork,
}

impl Config {
    pub(crate) fn load(
        file: Option<&Path>,
        listen: Option<&str>,
        data_dir: Option<&Path>,
        insecure: bool,
    ) -> anyhow::Result<Config> {
        let parsed: FileConfig = match file {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|e| {
                    anyhow::anyhow!("cannot read config file {}: {e}", path.display())
                })?;
                toml::from_str(&text)
                    .map_err(|e| anyhow::anyhow!("invalid config file {}: {e}", path.display()))?
            }
            None => toml::from_str("")?,
        };
        let listen_str = listen
            .map(str::to_string)
            .or(parsed.listen)
            .unwrap_or_else(|| "127.0.0.1:8080".to_string());
        let listen: SocketAddr = listen_str
            .parse()
            .map_err(|e| anyhow::anyhow!("invalid listen address {listen_str:?}: {e}"))?;
        let account_id = parsed.account_id.unwrap_or_else(|| "123456789012".into());
        if account_id.len() != 12 || !account_id.bytes().all(|b| b.is_ascii_digit()) {
            anyhow::bail!("account_id must be 12 digits, got {account_id:?}");
        }
        let mut images = HashMap::new();
        for (image, cfg) in parsed.images {
            if cfg.command.is_empty() {
                anyhow::bail!("[images.{image:?}] command must not be empty");
            }
            images.insert(
                image,
                ImageCommand {
                    command: cfg.command,
                    env: cfg.env,
                },
            );
        }
        let credentials = if parsed.credentials.is_empty() {
            None
        } else {
            let keys = parsed.credentials.into_iter().map(|c| AccessKey {
                access_key_id: c.access_key_id,
                secret_access_key: c.secret_access_key,
                session_token: c.session_token,
            });
            Some(Credentials::new(keys).map_err(|e| anyhow::anyhow!("{e}"))?)
        };
        let metrics_token = match parsed.metrics_token {
            None => None,
            Some(t) => Some(BearerToken::new(t).ok_or_else(|| {
                anyhow::anyhow!("metrics_token must be non-empty visible ASCII without spaces")
            })?),
        };
        // Without keys every request is accepted: only this machine may reach it, unless the
        // operator says otherwise.
        if credentials.is_none() && !listen.ip().is_loopback() && !insecure {
            anyhow::bail!(
                "refusing to listen on {listen} without authentication: configure [[credentials]] \
                 (SigV4 keys) or pass --insecure to accept unauthenticated requests from the network"
            );
        }
        let region = parsed.region.unwrap_or_else(|| "us-east-1".into());
        let (images, containers) = match parsed.containers {
            None => (ImageCatalog::new(images), None),
            Some(c) => {
                let network = match c.network.as_deref() {
                    None | Some("publish") => ContainerNetwork::Publish,
                    Some("host") => ContainerNetwork::Host,
                    Some(other) => anyhow::bail!(
                        "[containers] network must be \"publish\" or \"host\", got {other:?}"
                    ),
                };
                let mut types = BTreeMap::new();
                for (name, t) in c.instance_types {
                    if !(t.vcpus > 0.0 && t.vcpus.is_finite()) || t.memory_mib < 6 {
                        anyhow::bail!(
                            "[containers.instance_types.{name:?}] needs vcpus > 0 and memory_mib >= 6"
                        );
                    }
                    let r = InstanceResources {
                        vcpus: t.vcpus,
                        memory_mib: t.memory_mib,
                    };
                    types.insert(name, r);
                }
                let settings = ContainerSettings {
                    engine: c.engine,
                    network,
                };
                (ImageCatalog::with_containers(images, types), Some(settings))
            }
        };
        let model_data = ModelDataConfig {
            s3_endpoint_url: parsed.model_data.s3_endpoint_url,
            local_buckets: parsed.model_data.local_buckets,
            region: region.clone(),
            ..ModelDataConfig::default()
        };
        Ok(Config {
            listen,
            data_dir: data_dir
                .map(Path::to_path_buf)
                .or(parsed.data_dir)
                .unwrap_or_else(|| PathBuf::from("./guardrail-data")),
            region,
            account_id,
            images,
            containers,
            model_data,
            auth: AuthConfig {
                credentials,
                metrics_token,
            },
            insecure,
            invocation_timeout_s: parsed.invocation_timeout_s.unwrap_or(60),
            limits: guardrail_http::Limits {
                max_endpoints: parsed.limits.max_endpoints,
                max_instances_per_endpoint: parsed.limits.max_instances_per_endpoint,
                max_instances: parsed.limits.max_instances,
            },
            max_concurrent_invocations_per_instance: match parsed
                .limits
                .max_concurrent_invocations_per_instance
            {
                Some(0) => anyhow::bail!(
                    "[limits] max_concurrent_invocations_per_instance must be at least 1"
                ),
                Some(n) => n,
                None => 1024,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

    fn load(toml: &str, listen: Option<&str>, insecure: bool) -> anyhow::Result<Config> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("g.toml");
        std::fs::write(&path, toml).unwrap();
        Config::load(Some(&path), listen, None, insecure)
    }

    #[test]
    fn non_loopback_without_credentials_needs_insecure() {
        let e = load("", Some("0.0.0.0:8080"), false).unwrap_err();
        assert!(e.to_string().contains("--insecure"), "{e}");
        assert!(load("", Some("0.0.0.0:8080"), true).is_ok());
        assert!(load("", Some("127.0.0.1:8080"), false).is_ok());
        assert!(load("", Some("[::1]:8080"), false).is_ok());
        let with_keys = format!(
            "[[credentials]]\naccess_key_id = \"AKID1\"\nsecret_access_key = \"{SECRET}\"\n"
        );
        let cfg = load(&with_keys, Some("0.0.0.0:8080"), false).unwrap();
        assert!(cfg.auth.credentials.is_some());
    }

    #[test]
    fn secrets_are_checked_and_never_printed() {
        let toml = format!(
            "metrics_token = \"tok-123\"\n[[credentials]]\naccess_key_id = \"AKID1\"\nsecret_access_key = \"{SECRET}\"\n"
        );
        let cfg = load(&toml, None, false).unwrap();
        let shown = format!("{cfg:?}");
        assert!(shown.contains("AKID1"), "{shown}");
        assert!(
            !shown.contains(SECRET) && !shown.contains("tok-123"),
            "{shown}"
        );

        let short = "[[credentials]]\naccess_key_id = \"AKID1\"\nsecret_access_key = \"short\"\n";
        let e = load(short, None, false).unwrap_err().to_string();
        assert!(
            e.contains("8–128 printable ASCII characters (0x21–0x7E)") && !e.contains("short\""),
            "{e}"
        );
        assert!(load("metrics_token = \"\"\n", None, false).is_err());
    }

    #[test]
    fn any_secret_length_from_8_to_128_and_session_tokens() {
        let key = |secret: &str, token: &str| {
            format!(
                "[[credentials]]\naccess_key_id = \"AKID1\"\nsecret_access_key = \"{secret}\"\n{token}"
            )
        };
        for len in [8, 12, 39, 41, 128] {
            let cfg = load(&key(&"s".repeat(len), ""), None, false);
            assert!(cfg.is_ok(), "{len}: {:?}", cfg.err());
        }
        for len in [7, 129] {
            assert!(
                load(&key(&"s".repeat(len), ""), None, false).is_err(),
                "{len}"
            );
        }
        let with_token = key("twelve-chars", "session_token = \"tok/en+value==\"\n");
        let cfg = load(&with_token, None, false).unwrap();
        let shown = format!("{cfg:?}");
        assert!(
            !shown.contains("tok/en+value==") && !shown.contains("twelve-chars"),
            "{shown}"
        );
        let empty_token = key("twelve-chars", "session_token = \"\"\n");
        let e = load(&empty_token, None, false).unwrap_err().to_string();
        assert!(e.contains("session_token"), "{e}");
    }

    /// The README's full config example is a config this binary accepts.
    #[test]
    fn the_readme_example_loads() {
        let readme = include_str!("../../../README.md");
        let example = readme
            .split("```toml\n")
            .skip(1)
            .filter_map(|b| b.split("```").next())
            .find(|b| b.contains("[limits]"))
            .expect("the README has a full config example");
        let cfg = load(example, None, false).unwrap();
        assert!(cfg.containers.is_some());
        assert!(cfg.auth.metrics_token.is_some());
        assert_eq!(cfg.model_data.local_buckets.len(), 1);
    }
}
