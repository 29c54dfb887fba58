//! Orphan safety across a server crash: every launched process group is recorded in
//! `<data_dir>/instances/<id>.pid` together with the identity of its leader (pid + start time
//! from `/proc/<pid>/stat` field 22, session, boot id), so that the next server start can kill
//! what is left without ever killing an unrelated process that reused a pid.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;
use serde::{Deserialize, Serialize};

use crate::InstanceId;

/// The contents of one pid file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct PidRecord {
    pub(crate) pid: i32,
    pub(crate) pgid: i32,
    /// Field 22 of `/proc/<pid>/stat`: clock ticks after boot. Together with the pid (and the
    /// boot id) it names one process for the machine's lifetime.
    pub(crate) start_time: u64,
    pub(crate) session: i32,
    pub(crate) boot_id: Option<String>,
}

impl PidRecord {
    /// Identity of a live (or not yet reaped) process that leads its own group.
    pub(crate) fn of_leader(pid: i32) -> io::Result<Self> {
        let stat = proc_stat(pid)?;
        Ok(Self {
            pid,
            pgid: stat.pgrp,
            start_time: stat.start_time,
            session: stat.session,
            boot_id: boot_id(),
        })
    }
}

pub(crate) fn pid_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("instances")
}

pub(crate) fn pid_path(data_dir: &Path, id: &InstanceId) -> PathBuf {
    pid_dir(data_dir).join(format!("{id}.pid"))
}

/// Writes the record atomically (temp file + rename), creating the directory.
pub(crate) fn write_pid_file(path: &Path, record: &PidRecord) -> io::Result<()> {
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir)?;
    }
    let tmp = path.with_extension("pid.tmp");
    let json = serde_json::to_vec(record).map_err(io::Error::other)?;
    fs::write(&tmp, json)?;
    fs::rename(&tmp, path)
}

/// Kills every process group left over from a previous run of the server and removes the pid
/// files; returns how many groups were killed. Call it at server start, before anything is
/// launched into `data_dir` (it does not know about instances launched by this process).
///
/// A group is killed (SIGKILL) only when it is provably the one recorded:
/// - its leader is still there (alive or a zombie) with the recorded start time, or
/// - the leader is gone but members remain (PR_SET_PDEATHSIG only reaches the leader), all in the
///   recorded session and all started no earlier than the recorded leader. While any member
///   lives, the kernel does not hand out the group id as a new pid, so the group is the same one.
///
/// A record whose pid now belongs to another process (start time differs) or that was written
/// before the last reboot is refused: the file is removed and nothing is signalled.
pub fn reap_orphans(data_dir: &Path) -> usize {
    let dir = pid_dir(data_dir);
    let entries = match fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return 0,
        Err(e) => {
            tracing::warn!(dir = %dir.display(), error = %e, "cannot list pid files");
            return 0;
        }
    };
    let current_boot = boot_id();
    let mut killed = 0;
    for entry in entries.flatten() {
        let path = entry.path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        if name.ends_with(".pid.tmp") {
            // A launch interrupted between write and rename: nothing to verify against.
            let _ = fs::remove_file(&path);
            continue;
        }
        if !name.ends_with(".pid") {
            continue;
        }
        let record = fs::read(&path)
            .ok()
            .and_then(|bytes| serde_json::from_slice::<PidRecord>(&bytes).ok());
        match record {
            None => tracing::warn!(file = %path.display(), "unreadable pid file removed"),
            Some(record) => match verdict(&record, current_boot.as_deref()) {
                Verdict::Kill => match killpg(Pid::from_raw(record.pgid), Signal::SIGKILL) {
                    Ok(()) => {
                        tracing::info!(file = %path.display(), pgid = record.pgid, "killed orphaned process group");
                        killed += 1;
                    }
                    Err(e) => {
                        tracing::warn!(file = %path.display(), pgid = record.pgid, error = %e, "cannot kill orphaned process group")
                    }
                },
                Verdict::Gone => {}
                Verdict::Refuse(why) => {
                    tracing::warn!(file = %path.display(), pid = record.pid, "not killing: {why}")
                }
            },
        }
        if let Err(e) = fs::remove_file(&path) {
            tracing::warn!(file = %path.display(), error = %e, "cannot remove pid file");
        }
    }
    killed
}

enum Verdict {
    Kill,
    Gone,
    Refuse(String),
}

fn verdict(record: &PidRecord, current_boot: Option<&str>) -> Verdict {
    if let (Some(then), Some(now)) = (record.boot_id.as_deref(), current_boot) {
        if then != now {
            return Verdict::Refuse("recorded before the last reboot".into());
        }
    }
    match proc_stat(record.pid) {
        Ok(stat) if stat.start_time == record.start_time && stat.pgrp == record.pgid => {
            Verdict::Kill
        }
        Ok(stat) => Verdict::Refuse(format!(
            "pid {} is not the recorded process any more (start time {} vs {}, group {} vs {})",
            record.pid, stat.start_time, record.start_time, stat.pgrp, record.pgid
        )),
        Err(_) => {
            let members = group_members(record.pgid);
            if members.is_empty() {
                Verdict::Gone
            } else if members
                .iter()
                .all(|m| m.session == record.session && m.start_time >= record.start_time)
            {
                Verdict::Kill
            } else {
                Verdict::Refuse(format!(
                    "process group {} has members that are not ours",
                    record.pgid
                ))
            }
        }
    }
}

/// The fields of `/proc/<pid>/stat` we use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ProcStat {
    pub(crate) state: char,
    pub(crate) pgrp: i32,
    pub(crate) session: i32,
    pub(crate) start_time: u64,
}

pub(crate) fn proc_stat(pid: i32) -> io::Result<ProcStat> {
    let text = fs::read_to_string(format!("/proc/{pid}/stat"))?;
    parse_stat(&text).ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("unexpected /proc/{pid}/stat"),
        )
    })
}

fn parse_stat(text: &str) -> Option<ProcStat> {
    // Field 2 (comm) is in parentheses and may itself contain spaces and ')': split after the
    // last ')'. What follows starts at field 3, so field N is at index N - 3.
    let rest = &text[text.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    Some(ProcStat {
        state: fields.first()?.chars().next()?,
        pgrp: fields.get(5 - 3)?.parse().ok()?,
        session: fields.get(6 - 3)?.parse().ok()?,
        start_time: fields.get(22 - 3)?.parse().ok()?,
    })
}

/// Every process whose process group is `pgid` (zombies included).
pub(crate) fn group_members(pgid: i32) -> Vec<ProcStat> {
    let Ok(dir) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter_map(|pid| proc_stat(pid).ok())
        .filter(|stat| stat.pgrp == pgid)
        .collect()
}

fn boot_id() -> Option<String> {
    fs::read_to_string("/proc/sys/kernel/random/boot_id")
        .ok()
        .map(|s| s.trim().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::process::{CommandExt as _, ExitStatusExt as _};
    use std::process::{Command, Stdio};

    #[test]
    fn stat_parsing_survives_odd_command_names() {
        let line =
            "4242 (a) b (c) d) S 1 4242 4242 0 -1 4194560 1 0 0 0 0 0 0 0 20 0 1 0 987654 1 2 3";
        let stat = parse_stat(line).unwrap();
        assert_eq!(
            stat,
            ProcStat {
                state: 'S',
                pgrp: 4242,
                session: 4242,
                start_time: 987654
            }
        );
        assert_eq!(parse_stat("12 (x) S 1"), None);
    }

    #[test]
    fn own_stat_is_readable() {
        let me = std::process::id() as i32;
        let stat = proc_stat(me).unwrap();
        assert_eq!(stat.pgrp, nix::unistd::getpgrp().as_raw());
        assert!(stat.start_time > 0);
    }

    fn sleeper() -> std::process::Child {
        Command::new("sleep")
            .arg("30")
            .stdin(Stdio::null())
            .process_group(0)
            .spawn()
            .unwrap()
    }

    #[test]
    fn a_matching_record_gets_its_group_killed_and_removed() {
        let dir = tempfile::tempdir().unwrap();
        let mut child = sleeper();
        let record = PidRecord::of_leader(child.id() as i32).unwrap();
        assert_eq!(record.pgid, record.pid, "the child leads its own group");
        let path = pid_path(dir.path(), &InstanceId::from("m-1"));
        write_pid_file(&path, &record).unwrap();

        assert_eq!(reap_orphans(dir.path()), 1);
        assert_eq!(child.wait().unwrap().signal(), Some(libc::SIGKILL));
        assert!(!path.exists());
        assert_eq!(reap_orphans(dir.path()), 0, "nothing left to reap");
    }

    #[test]
    fn a_record_whose_start_time_differs_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let mut child = sleeper();
        let mut record = PidRecord::of_leader(child.id() as i32).unwrap();
        record.start_time += 1; // as if the pid had been reused by this process
        let path = pid_path(dir.path(), &InstanceId::from("m-2"));
        write_pid_file(&path, &record).unwrap();

        assert_eq!(reap_orphans(dir.path()), 0);
        assert!(!path.exists(), "the stale file is removed");
        assert!(
            child.try_wait().unwrap().is_none(),
            "the process was not touched"
        );
        child.kill().unwrap();
        child.wait().unwrap();
    }

    #[test]
    fn a_record_from_another_boot_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let mut child = sleeper();
        let mut record = PidRecord::of_leader(child.id() as i32).unwrap();
        record.boot_id = Some("not-this-boot".into());
        write_pid_file(&pid_path(dir.path(), &InstanceId::from("m-3")), &record).unwrap();

        assert_eq!(reap_orphans(dir.path()), 0);
        assert!(child.try_wait().unwrap().is_none());
        child.kill().unwrap();
        child.wait().unwrap();
    }

    #[test]
    fn garbage_and_dead_records_are_cleaned_up() {
        let dir = tempfile::tempdir().unwrap();
        let instances = pid_dir(dir.path());
        fs::create_dir_all(&instances).unwrap();
        fs::write(instances.join("junk.pid"), "not json").unwrap();
        fs::write(instances.join("half.pid.tmp"), "{").unwrap();
        fs::write(instances.join("notes.txt"), "kept").unwrap();
        let mut child = sleeper();
        let record = PidRecord::of_leader(child.id() as i32).unwrap();
        child.kill().unwrap();
        child.wait().unwrap(); // reaped: pid gone, group empty
        write_pid_file(&instances.join("dead.pid"), &record).unwrap();

        assert_eq!(reap_orphans(dir.path()), 0);
        let left: Vec<_> = fs::read_dir(&instances)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(left, vec![std::ffi::OsString::from("notes.txt")]);
        assert_eq!(reap_orphans(&dir.path().join("missing")), 0);
    }
}
