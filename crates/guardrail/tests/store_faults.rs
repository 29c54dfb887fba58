//! A full disk under the store: writes fail with an internal error and change nothing, reads
//! keep working, the server stays up, and once space is back writes succeed again. The data
//! dir is a small tmpfs (needs mount rights, as root in CI; skipped with a note otherwise).

mod common;

use std::process::Command;
use std::time::Duration;

use common::*;
use serde_json::json;

struct Tmpfs(std::path::PathBuf);

impl Tmpfs {
    fn mount(path: &std::path::Path, size: &str) -> Option<Tmpfs> {
        std::fs::create_dir_all(path).ok()?;
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(path)
            .status()
            .is_ok_and(|s| s.success());
        ok.then(|| Tmpfs(path.to_path_buf()))
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

fn create_model(server: &Server, name: &str) -> (u16, serde_json::Value) {
    server.call(
        "CreateModel",
        json!({"ModelName": name, "PrimaryContainer": {"Image": "model:v1",
               "Environment": {"PAD": "x".repeat(1000)}}}),
    )
}

#[test]
fn a_full_disk_fails_writes_cleanly_and_the_server_recovers() {
    let dir = tempfile::tempdir().unwrap();
    let mnt = dir.path().join("small");
    let Some(_fs) = Tmpfs::mount(&mnt, "4m") else {
        println!("store-fault-report skipped: cannot mount a tmpfs here");
        return;
    };
    let data = mnt.join("data");
    let server = Server::start(&data);
    assert_eq!(create_model(&server, "before").0, 200);
    // Fill the file system, leaving the store no room.
    let filler = mnt.join("filler");
    let _ = Command::new("dd")
        .args(["if=/dev/zero", "bs=64k"])
        .arg(format!("of={}", filler.display()))
        .stderr(std::process::Stdio::null())
        .status();
    let mut failures = Vec::new();
    for i in 0..200 {
        let (status, body) = create_model(&server, &format!("full-{i}"));
        if status != 200 {
            failures.push((i, status, body));
            break;
        }
    }
    let (i, status, body) = failures
        .first()
        .cloned()
        .expect("a write failed on the full disk");
    assert_eq!(status, 500, "{body}");
    assert_eq!(body["__type"], "InternalFailure", "{body}");
    // Nothing half-written: the failed model does not exist; reads still work.
    let (st, _) = server.call("DescribeModel", json!({"ModelName": format!("full-{i}")}));
    assert_eq!(st, 400, "the failed CreateModel left nothing behind");
    server.ok("DescribeModel", json!({"ModelName": "before"}));
    // Space comes back: writes work again, on the same running server.
    std::fs::remove_file(&filler).unwrap();
    server.wait_for("writes work again", Duration::from_secs(10), || {
        create_model(&server, "after").0 == 200
    });
    server.ok("DescribeModel", json!({"ModelName": "after"}));
    println!("store-fault-report first_failed_write={i} status={status} recovered=true");
}
