//! Finding botocore's data directory and version, and reading its gzip-compressed models.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context};

use crate::model::Model;

/// The data directory: `--botocore-data`, else `$BOTOCORE_DATA`, else the botocore installed in
/// the repository's `.venv` (created by `scripts/setup.sh`).
pub fn locate_data_dir(explicit: Option<&Path>, repo_root: &Path) -> anyhow::Result<PathBuf> {
    locate(explicit, std::env::var_os("BOTOCORE_DATA"), repo_root)
}

fn locate(
    explicit: Option<&Path>,
    env: Option<std::ffi::OsString>,
    repo_root: &Path,
) -> anyhow::Result<PathBuf> {
    if let Some(dir) = explicit {
        return check_data_dir(dir);
    }
    if let Some(dir) = env.filter(|v| !v.is_empty()) {
        return check_data_dir(Path::new(&dir)).context("from $BOTOCORE_DATA");
    }
    let python = repo_root.join(".venv/bin/python");
    if python.exists() {
        let out = Command::new(&python)
            .args([
                "-c",
                "import botocore,os;print(os.path.dirname(botocore.__file__))",
            ])
            .output()
            .with_context(|| format!("running {}", python.display()))?;
        if out.status.success() {
            let pkg = String::from_utf8_lossy(&out.stdout).trim().to_owned();
            return check_data_dir(&Path::new(&pkg).join("data"));
        }
    }
    bail!(
        "botocore's service models not found: run scripts/setup.sh (it creates .venv with \
         boto3), or pass --botocore-data DIR / set BOTOCORE_DATA to botocore's data directory"
    )
}

fn check_data_dir(dir: &Path) -> anyhow::Result<PathBuf> {
    if !dir.join("sagemaker").is_dir() {
        bail!(
            "{} is not botocore's data directory (no sagemaker/ in it); run scripts/setup.sh or \
             pass --botocore-data <site-packages>/botocore/data",
            dir.display()
        );
    }
    Ok(dir.to_path_buf())
}

/// botocore's `__version__`, read from `<data>/../__init__.py`.
pub fn read_version(data_dir: &Path) -> anyhow::Result<String> {
    let init = data_dir.join("..").join("__init__.py");
    let text = std::fs::read_to_string(&init)
        .with_context(|| format!("reading {} (or pass --botocore-version)", init.display()))?;
    parse_version(&text).with_context(|| format!("no __version__ in {}", init.display()))
}

/// Extracts `__version__ = '1.2.3'` (either quote style).
pub fn parse_version(init_py: &str) -> Option<String> {
    init_py.lines().find_map(|line| {
        let rest = line
            .trim()
            .strip_prefix("__version__")?
            .trim_start()
            .strip_prefix('=')?;
        let rest = rest.trim();
        let q = rest.chars().next().filter(|c| *c == '\'' || *c == '"')?;
        let inner = &rest[1..];
        Some(inner[..inner.find(q)?].to_owned())
    })
}

/// Reads `<data>/<model_dir>/service-2.json.gz` (or an uncompressed `service-2.json`).
pub fn load_model(data_dir: &Path, model_dir: &str) -> anyhow::Result<Model> {
    let dir = data_dir.join(model_dir);
    let gz = dir.join("service-2.json.gz");
    let text = if gz.exists() {
        let file = std::fs::File::open(&gz).with_context(|| format!("opening {}", gz.display()))?;
        let mut s = String::new();
        flate2::read::GzDecoder::new(file)
            .read_to_string(&mut s)
            .with_context(|| format!("decompressing {}", gz.display()))?;
        s
    } else {
        let plain = dir.join("service-2.json");
        std::fs::read_to_string(&plain)
            .with_context(|| format!("reading {} (nor {})", plain.display(), gz.display()))?
    };
    Model::from_json(&text).with_context(|| format!("parsing the model in {}", dir.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_dir_comes_from_the_flag_the_environment_or_the_venv() {
        let tmp = std::env::temp_dir().join(format!("xtask-botocore-{}", std::process::id()));
        let pkg = tmp.join("site-packages/botocore");
        std::fs::create_dir_all(pkg.join("data/sagemaker")).expect("mkdir");
        std::fs::write(pkg.join("__init__.py"), "__version__ = '9.8.7'\n").expect("write");
        let root = tmp.join("repo");
        let bin = root.join(".venv/bin");
        std::fs::create_dir_all(&bin).expect("mkdir");
        let no_venv = tmp.join("elsewhere");

        let data = pkg.join("data");
        assert_eq!(locate(Some(&data), None, &no_venv).expect("flag"), data);
        assert!(
            locate(Some(&tmp), None, &no_venv).is_err(),
            "not a data dir"
        );
        assert_eq!(
            locate(None, Some(data.clone().into()), &no_venv).expect("env"),
            data
        );
        let err = locate(None, None, &no_venv)
            .expect_err("nothing found")
            .to_string();
        assert!(err.contains("scripts/setup.sh"), "{err}");

        // A fake .venv python that prints botocore's package directory.
        let python = bin.join("python");
        std::fs::write(&python, format!("#!/bin/sh\necho {}\n", pkg.display())).expect("write");
        let chmod = std::process::Command::new("chmod")
            .arg("+x")
            .arg(&python)
            .status();
        assert!(chmod.is_ok_and(|s| s.success()));
        let found = locate(None, None, &root).expect("venv");
        assert_eq!(found, data);
        assert_eq!(read_version(&found).expect("version"), "9.8.7");
        std::fs::remove_dir_all(&tmp).expect("cleanup");
    }

    #[test]
    fn version_is_read_from_init_py() {
        let text = "import os\n__version__ = '1.44.5'\nfoo = 1\n";
        assert_eq!(parse_version(text).as_deref(), Some("1.44.5"));
        assert_eq!(parse_version("__version__=\"2.0\"").as_deref(), Some("2.0"));
        assert_eq!(parse_version("version = '1'"), None);
    }
}
