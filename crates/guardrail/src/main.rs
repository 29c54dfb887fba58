//! The `guardrail` binary: configuration, wiring and task supervision. Thin on purpose:
//! behaviour lives in the library crates.

mod config;
mod serve;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "guardrail",
    version,
    about = "SageMaker-compatible endpoints with deployment guardrails"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the Guardrail server in the foreground.
    Serve {
        /// TOML configuration file.
        #[arg(long)]
        config: Option<PathBuf>,
        /// Address to listen on (default 127.0.0.1:8080); overrides the file.
        #[arg(long)]
        listen: Option<String>,
        /// Where the store, instance logs and pid files live (default ./guardrail-data).
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// Allow a non-loopback --listen address without [[credentials]] (every request is
        /// then accepted unauthenticated).
        #[arg(long)]
        insecure: bool,
    },
    /// Run the built-in model server (SageMaker container contract; configured by env).
    ModelServer,
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve {
            config,
            listen,
            data_dir,
            insecure,
        } => {
            init_tracing();
            let cfg = match config::Config::load(
                config.as_deref(),
                listen.as_deref(),
                data_dir.as_deref(),
                insecure,
            ) {
                Ok(c) => c,
                Err(e) => {
                    eprintln!("guardrail: {e:#}");
                    // EX_USAGE, as linkerd does for bad configuration.
                    return std::process::ExitCode::from(64);
                }
            };
            run(serve::serve(cfg))
        }
        Command::ModelServer => run(async {
            let cfg = guardrail_model_server::ModelServerConfig::from_env()?;
            guardrail_model_server::run(cfg).await
        }),
    }
}

fn run(fut: impl std::future::Future<Output = anyhow::Result<()>>) -> std::process::ExitCode {
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("guardrail: cannot start the runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match rt.block_on(fut) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("guardrail: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("GUARDRAIL_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"))
        // The SigV4 verifier traces canonical requests and expected signatures: never log them.
        .add_directive(
            "scratchstack_aws_signature=info"
                .parse()
                .expect("a valid directive"),
        );
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}
