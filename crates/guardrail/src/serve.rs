//! `guardrail serve`: build every component from the config, run, shut down in order.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use guardrail_artifacts::ArtifactCache;
use guardrail_backend::{
    CombinedBackend, ContainerBackend, ContainerConfig, ProbeConfig, ProcessBackend,
};
use guardrail_controller::{Clock, Controller, ControllerConfig, ControllerParts};
use guardrail_monitor::{Monitor, MonitorConfig};
use guardrail_proxy::{Router, RouterConfig};
use guardrail_store::Store;
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::{mpsc, watch};

use crate::config::Config;

pub(crate) async fn serve(cfg: Config) -> anyhow::Result<()> {
    std::fs::create_dir_all(&cfg.data_dir)
        .with_context(|| format!("cannot create data dir {}", cfg.data_dir.display()))?;
    // Instances of a previous run that crashed must not survive it.
    let reaped = guardrail_backend::reap_orphans(&cfg.data_dir);
    if reaped > 0 {
        tracing::warn!(
            count = reaped,
            "stopped instance processes left by a previous run"
        );
    }
    let store = Store::open(&cfg.data_dir.join("guardrail.db")).context("cannot open the store")?;

    let (events_tx, events_rx) = mpsc::unbounded_channel();
    let containers = match &cfg.containers {
        None => None,
        Some(c) => Some(start_container_backend(&cfg, c, events_tx.clone()).await?),
    };
    let backend = Arc::new(CombinedBackend::new(
        ProcessBackend::new(cfg.data_dir.clone(), events_tx, ProbeConfig::default()),
        containers,
    ));
    let artifacts = ArtifactCache::new(cfg.data_dir.join("models"), cfg.model_data.clone())
        .context("cannot prepare the model artifact directory")?;
    let clock = Clock::system();
    let monitor = Monitor::open(store.clone(), clock.clone(), MonitorConfig::default())
        .await
        .context("cannot load alarms and metrics from the store")?;
    let router = Arc::new(Router::with_observer(
        RouterConfig {
            invocation_timeout: Duration::from_secs(cfg.invocation_timeout_s),
            max_concurrency_per_instance: cfg.max_concurrent_invocations_per_instance,
            ..RouterConfig::default()
        },
        monitor.recorder(),
    ));
    let (shutdown_tx, shutdown_rx) = watch::channel(false);
    let controller = Controller::start(
        ControllerParts {
            store: store.clone(),
            backend: backend.clone(),
            router: router.clone(),
            images: cfg.images.clone(),
            artifacts,
            platform_env: [
                ("AWS_REGION".to_string(), cfg.region.clone()),
                ("AWS_DEFAULT_REGION".to_string(), cfg.region.clone()),
            ]
            .into(),
            clock: clock.clone(),
            data_dir: cfg.data_dir.clone(),
            config: ControllerConfig::default(),
            alarms: Arc::new(monitor.clone()),
            deployments: Some(monitor.telemetry()),
        },
        events_rx,
        shutdown_rx.clone(),
    )
    .await
    .context("cannot resume endpoints from the store")?;
    monitor.spawn(Arc::new(controller.clone()), shutdown_rx);

    let state = guardrail_http::AppState::new(guardrail_http::AppParts {
        store,
        controller: controller.clone(),
        router,
        monitor,
        limits: cfg.limits,
        region: cfg.region.clone(),
        account_id: cfg.account_id.clone(),
        auth: cfg.auth.clone(),
    });
    let app = guardrail_http::app(state);
    let listener = tokio::net::TcpListener::bind(cfg.listen)
        .await
        .with_context(|| format!("cannot listen on {}", cfg.listen))?;
    let local = listener.local_addr()?;
    tracing::info!(
        address = %local,
        data_dir = %cfg.data_dir.display(),
        region = %cfg.region,
        "Guardrail listening on http://{local}"
    );
    match &cfg.auth.credentials {
        Some(keys) => tracing::info!(
            access_key_ids = ?keys.key_ids(),
            metrics = if cfg.auth.metrics_token.is_some() { "bearer token" } else { "SigV4" },
            "authentication is on: every request except /healthz must be SigV4-signed by a configured key"
        ),
        None => {
            tracing::warn!(
                "authentication is off: no [[credentials]] configured, any access key is accepted"
            );
            if cfg.insecure && !local.ip().is_loopback() {
                tracing::warn!(
                    address = %local,
                    "--insecure: accepting unauthenticated requests on a non-loopback address"
                );
            }
            if cfg.auth.metrics_token.is_some() {
                tracing::info!("/metrics requires the configured bearer token");
            }
        }
    }

    let mut sigterm = signal(SignalKind::terminate())?;
    let mut sigint = signal(SignalKind::interrupt())?;
    let (fast_tx, mut fast_rx) = watch::channel(false);
    let graceful = async move {
        tokio::select! {
            _ = sigterm.recv() => tracing::info!("SIGTERM: finishing in-flight requests, then stopping instances"),
            _ = sigint.recv() => {
                tracing::info!("SIGINT: stopping fast");
                let _ = fast_tx.send(true);
            }
        }
    };
    axum::serve(listener, app)
        .with_graceful_shutdown(graceful)
        .await
        .context("server failed")?;
    let fast = *fast_rx.borrow_and_update();

    // The HTTP server has finished in-flight requests; now stop reconciling and instances.
    let _ = shutdown_tx.send(true);
    controller.wait_stopped(Duration::from_secs(5)).await;
    let grace = if fast {
        Duration::from_secs(2)
    } else {
        Duration::from_secs(30)
    };
    guardrail_backend::InstanceBackend::stop_all(backend.as_ref(), grace).await;
    tracing::info!("stopped");
    Ok(())
}

/// Connects to the container engine and removes what a crashed run of this data dir left.
async fn start_container_backend(
    cfg: &Config,
    settings: &crate::config::ContainerSettings,
    events: mpsc::UnboundedSender<guardrail_backend::InstanceEvent>,
) -> anyhow::Result<ContainerBackend> {
    let config = ContainerConfig {
        engine: settings.engine.clone(),
        network: settings.network,
        owner: owner_of(&cfg.data_dir),
    };
    let backend = ContainerBackend::connect(config, events, ProbeConfig::default())
        .await
        .context("the container backend ([containers]) cannot reach its engine")?;
    let removed = backend
        .remove_leftovers()
        .await
        .context("cannot remove containers left by a previous run")?;
    if removed > 0 {
        tracing::warn!(count = removed, "removed containers left by a previous run");
    }
    tracing::info!(engine = backend.engine(), "container backend on");
    Ok(backend)
}

/// Names this server to the container engine: a stable hash of its data dir, so a restart on
/// the same dir finds its own containers and never another server's.
fn owner_of(data_dir: &std::path::Path) -> String {
    use sha2::{Digest as _, Sha256};
    let dir = std::fs::canonicalize(data_dir).unwrap_or_else(|_| data_dir.to_path_buf());
    let digest = Sha256::digest(dir.as_os_str().as_encoded_bytes());
    digest.iter().take(8).map(|b| format!("{b:02x}")).collect()
}
