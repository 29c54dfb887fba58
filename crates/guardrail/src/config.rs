//! The typed configuration: TOML file, then command-line overrides, validated before
//! anything starts.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use guardrail_controller::{ImageCatalog, ImageCommand};
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
    /// Seconds a container may take to answer an invocation (SageMaker: 60).
    pub(crate) invocation_timeout_s: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ImageConfig {
    pub(crate) command: Vec<String>,
    #[serde(default)]
    pub(crate) env: BTreeMap<String, String>,
}

/// Reserved for SigV4 verification.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)] // verified by a later release; parsed now so configs stay valid
pub(crate) struct Credential {
    pub(crate) access_key_id: String,
    pub(crate) secret_access_key: String,
}

#[derive(Debug)]
pub(crate) struct Config {
    pub(crate) listen: SocketAddr,
    pub(crate) data_dir: PathBuf,
    pub(crate) region: String,
    pub(crate) account_id: String,
    pub(crate) images: ImageCatalog,
    pub(crate) auth_enabled: bool,
    pub(crate) invocation_timeout_s: u64,
}

impl Config {
    pub(crate) fn load(
        file: Option<&Path>,
        listen: Option<&str>,
        data_dir: Option<&Path>,
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
        for c in &parsed.credentials {
            if c.access_key_id.is_empty() || c.secret_access_key.is_empty() {
                anyhow::bail!("[[credentials]] entries need access_key_id and secret_access_key");
            }
        }
        Ok(Config {
            listen,
            data_dir: data_dir
                .map(Path::to_path_buf)
                .or(parsed.data_dir)
                .unwrap_or_else(|| PathBuf::from("./guardrail-data")),
            region: parsed.region.unwrap_or_else(|| "us-east-1".into()),
            account_id,
            images: ImageCatalog::new(images),
            auth_enabled: !parsed.credentials.is_empty(),
            invocation_timeout_s: parsed.invocation_timeout_s.unwrap_or(60),
        })
    }
}
