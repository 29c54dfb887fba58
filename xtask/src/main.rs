//! `cargo xtask codegen [--check] [--botocore-data DIR] [--botocore-version V] [--out DIR]`
//! (or `cargo run -p xtask -- codegen …`).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use xtask::{botocore, codegen};

#[derive(Parser)]
#[command(name = "xtask", about = "Guardrail project automation")]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Generate crates/guardrail-api/src/generated/ from botocore's service models.
    Codegen {
        /// Generate in memory and fail if the checked-in files differ.
        #[arg(long)]
        check: bool,
        /// botocore's data directory (default: $BOTOCORE_DATA, else the botocore in .venv).
        #[arg(long, value_name = "DIR")]
        botocore_data: Option<PathBuf>,
        /// botocore version for the header (default: read from <data>/../__init__.py).
        #[arg(long, value_name = "VERSION")]
        botocore_version: Option<String>,
        /// Output directory (default: crates/guardrail-api/src/generated).
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
    },
}

fn main() -> ExitCode {
    match run() {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> anyhow::Result<ExitCode> {
    let Cmd::Codegen {
        check,
        botocore_data,
        botocore_version,
        out,
    } = Cli::parse().command;
    let root = codegen::repo_root();
    let data = botocore::locate_data_dir(botocore_data.as_deref(), &root)?;
    let version = match botocore_version {
        Some(v) => v,
        None => botocore::read_version(&data)?,
    };
    let out_dir = out.unwrap_or_else(|| codegen::default_out_dir(&root));
    let files = codegen::generate_all(&data, &version).context("code generation failed")?;
    if check {
        let problems = codegen::check_files(&out_dir, &files)?;
        if problems.is_empty() {
            eprintln!(
                "codegen: {} is up to date (botocore {version})",
                out_dir.display()
            );
            return Ok(ExitCode::SUCCESS);
        }
        eprintln!("codegen --check: generated code differs from the checked-in files (botocore {version}):");
        for p in &problems {
            eprintln!("  {p}");
        }
        eprintln!("run `cargo xtask codegen` and commit the result");
        return Ok(ExitCode::FAILURE);
    }
    codegen::write_files(&out_dir, &files)?;
    for (name, text) in &files {
        eprintln!(
            "codegen: wrote {} ({} lines)",
            out_dir.join(name).display(),
            text.lines().count()
        );
    }
    Ok(ExitCode::SUCCESS)
}
