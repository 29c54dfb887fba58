//! Safe extraction of an untrusted `model.tar.gz`, and the path rules S3 prefix downloads share.
//!
//! `tar::Archive::unpack` would skip some bad entries silently; here every entry is checked
//! before anything is written, and a bad one fails the whole model with a message naming it:
//! absolute names, any `..` component, links that point outside the model directory, devices and
//! fifos. Nothing is ever written through a symbolic link (parents are checked component by
//! component; files are created with `O_EXCL`), so a link planted by an earlier entry cannot
//! redirect a later one. Once everything is out, every symbolic link is resolved against the real
//! tree (following chains of links) and must stay inside. The total of file sizes is bounded, and
//! the gzip stream is read to its end so a truncated download is caught by its CRC/length check.
//!
//! Synchronous: callers run it on `spawn_blocking`.

use std::collections::VecDeque;
use std::ffi::{OsStr, OsString};
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufReader, Read, Seek, SeekFrom};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};

use flate2::read::MultiGzDecoder;
use tar::EntryType;

use crate::error::{ArtifactError, EntryKind, UnsafeReason};

/// Symbolic links followed at most while checking one link (Linux gives up at 40 too).
const MAX_LINK_HOPS: u32 = 40;
/// Bytes after the end of the tar data that are still read to verify the gzip trailer.
const MAX_TRAILER_BYTES: u64 = 16 << 20;

/// What went wrong, before the URL is known.
#[derive(Debug)]
pub(crate) enum ExtractError {
    NotAnArchive(String),
    Corrupt(String),
    Unsafe {
        kind: EntryKind,
        entry: String,
        reason: UnsafeReason,
    },
    TooLarge {
        limit: u64,
    },
    Io {
        action: String,
        source: io::Error,
    },
}

impl ExtractError {
    pub(crate) fn with_url(self, url: &str) -> ArtifactError {
        let url = url.to_owned();
        match self {
            ExtractError::NotAnArchive(detail) => ArtifactError::NotAnArchive { url, detail },
            ExtractError::Corrupt(detail) => ArtifactError::CorruptArchive { url, detail },
            ExtractError::Unsafe {
                kind,
                entry,
                reason,
            } => ArtifactError::UnsafeEntry {
                url,
                kind,
                entry,
                reason,
            },
            ExtractError::TooLarge { limit } => ArtifactError::TooLarge { url, limit },
            ExtractError::Io { action, source } => ArtifactError::Io {
                url,
                action,
                source: source.into(),
            },
        }
    }
}

fn io_err(action: impl Into<String>) -> impl FnOnce(io::Error) -> ExtractError {
    let action = action.into();
    move |source| ExtractError::Io { action, source }
}

/// What was extracted.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Extracted {
    pub(crate) files: u64,
    pub(crate) bytes: u64,
}

/// Extracts the gzip-compressed tar at `archive` into `dest`, an existing empty directory that
/// nobody else writes to. On error `dest` may hold part of the model (the caller discards it);
/// nothing outside `dest` has been touched. On success every file and directory is read-only.
pub(crate) fn extract_tar_gz(
    archive: &Path,
    dest: &Path,
    limit: u64,
) -> Result<Extracted, ExtractError> {
    let mut file = File::open(archive).map_err(io_err("opening the downloaded archive"))?;
    sniff_gzip(&mut file)?;
    file.seek(SeekFrom::Start(0))
        .map_err(io_err("reading the downloaded archive"))?;

    let mut tar = tar::Archive::new(MultiGzDecoder::new(BufReader::with_capacity(1 << 20, file)));
    let mut out = Extracted::default();
    let mut symlinks: Vec<Vec<OsString>> = Vec::new();
    let mut seen_entry = false;
    // Before the first good header, a failure means "this is not a tar.gz"; after, "damaged".
    let bad = |seen: bool, what: String| {
        if seen {
            ExtractError::Corrupt(what)
        } else {
            ExtractError::NotAnArchive(what)
        }
    };

    let entries = tar.entries().map_err(|e| bad(false, e.to_string()))?;
    for entry in entries {
        let mut entry = entry.map_err(|e| bad(seen_entry, e.to_string()))?;
        seen_entry = true;
        let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let unsafe_entry = |reason| ExtractError::Unsafe {
            kind: EntryKind::ArchiveEntry,
            entry: name.clone(),
            reason,
        };
        let kind = entry.header().entry_type();
        if kind.is_pax_global_extensions() {
            continue;
        }
        if !(kind.is_file()
            || kind.is_contiguous()
            || kind.is_dir()
            || kind.is_symlink()
            || kind.is_hard_link())
        {
            return Err(unsafe_entry(UnsafeReason::UnsupportedType {
                kind: type_name(kind),
            }));
        }
        let rel =
            relative_components(OsStr::from_bytes(&entry.path_bytes())).map_err(&unsafe_entry)?;
        let Some((leaf, parents)) = rel.split_last() else {
            // "./" (or "/"-less empty name): the model directory itself.
            if kind.is_dir() {
                continue;
            }
            return Err(unsafe_entry(UnsafeReason::BadName));
        };
        let parent = ensure_dirs(dest, parents).map_err(|r| match r {
            Placement::Unsafe(reason) => unsafe_entry(reason),
            Placement::Io(e) => ExtractError::Io {
                action: format!("creating the directory of \"{name}\""),
                source: e,
            },
        })?;
        let path = parent.join(leaf);
        let existing = fs::symlink_metadata(&path).ok();

        if kind.is_dir() {
            match existing {
                Some(m) if m.is_dir() => {}
                Some(_) => return Err(unsafe_entry(UnsafeReason::Conflict)),
                None => fs::create_dir(&path)
                    .map_err(io_err(format!("creating directory \"{name}\"")))?,
            }
            continue;
        }
        // A later entry of the same name replaces an earlier file or link, as tar does; the
        // old one is unlinked, never written through.
        match existing {
            Some(m) if m.is_dir() => return Err(unsafe_entry(UnsafeReason::Conflict)),
            Some(_) => fs::remove_file(&path).map_err(io_err(format!("replacing \"{name}\"")))?,
            None => {}
        }

        if kind.is_symlink() {
            let target = entry
                .link_name_bytes()
                .ok_or_else(|| unsafe_entry(UnsafeReason::BadName))?;
            let target = Path::new(OsStr::from_bytes(&target)).to_path_buf();
            check_symlink_target(parents.len(), &target).map_err(&unsafe_entry)?;
            std::os::unix::fs::symlink(&target, &path)
                .map_err(io_err(format!("creating symbolic link \"{name}\"")))?;
            symlinks.push(rel);
        } else if kind.is_hard_link() {
            let target = entry
                .link_name_bytes()
                .ok_or_else(|| unsafe_entry(UnsafeReason::BadName))?;
            let shown = String::from_utf8_lossy(&target).into_owned();
            let source =
                hardlink_source(dest, OsStr::from_bytes(&target), &shown).map_err(&unsafe_entry)?;
            fs::hard_link(&source, &path)
                .map_err(io_err(format!("creating hard link \"{name}\"")))?;
            out.files += 1;
        } else {
            let size = entry.size();
            out.bytes = out.bytes.saturating_add(size);
            if out.bytes > limit {
                return Err(ExtractError::TooLarge { limit });
            }
            let executable = entry.header().mode().is_ok_and(|m| m & 0o111 != 0);
            let mut file = OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(if executable { 0o700 } else { 0o600 })
                .open(&path)
                .map_err(io_err(format!("creating \"{name}\"")))?;
            copy_entry(&mut entry, &mut file, size, &name)?;
            out.files += 1;
        }
    }

    // The tar data ended (two zero blocks or EOF); the gzip stream must end cleanly too.
    let mut rest = tar.into_inner().take(MAX_TRAILER_BYTES + 1);
    let trailing = io::copy(&mut rest, &mut io::sink())
        .map_err(|e| bad(seen_entry, format!("gzip stream: {e}")))?;
    if trailing > MAX_TRAILER_BYTES {
        return Err(ExtractError::Corrupt(
            "more than 16 MiB of data after the end of the tar archive".into(),
        ));
    }

    for link in &symlinks {
        let path = dest.join(link.iter().collect::<PathBuf>());
        // Replaced by a later entry (a file, or a link checked under its own name).
        if !fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_symlink()) {
            continue;
        }
        if !symlink_stays_inside(dest, link) {
            let target = fs::read_link(&path)
                .map(|t| t.display().to_string())
                .unwrap_or_default();
            let entry = link
                .iter()
                .map(|c| c.to_string_lossy())
                .collect::<Vec<_>>()
                .join("/");
            return Err(ExtractError::Unsafe {
                kind: EntryKind::ArchiveEntry,
                entry,
                reason: UnsafeReason::SymlinkEscapes { target },
            });
        }
    }
    seal_tree(dest).map_err(io_err("making the model read-only"))?;
    Ok(out)
}

/// The first bytes must be gzip's; say what they look like otherwise.
fn sniff_gzip(file: &mut File) -> Result<(), ExtractError> {
    let mut head = [0u8; 262];
    let mut n = 0;
    while n < head.len() {
        match file
            .read(&mut head[n..])
            .map_err(io_err("reading the downloaded archive"))?
        {
            0 => break,
            k => n += k,
        }
    }
    let head = &head[..n];
    if head.starts_with(&[0x1f, 0x8b]) {
        return Ok(());
    }
    let what = if head.is_empty() {
        "the file is empty".to_owned()
    } else if head.starts_with(b"PK\x03\x04") {
        "it is a zip file".to_owned()
    } else if head.len() >= 262 && &head[257..262] == b"ustar" {
        "it is an uncompressed tar archive (compress it with gzip: model.tar.gz)".to_owned()
    } else if head.starts_with(b"BZh") {
        "it is bzip2-compressed".to_owned()
    } else if head.starts_with(&[0xfd, b'7', b'z', b'X', b'Z']) {
        "it is xz-compressed".to_owned()
    } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        "it is zstd-compressed".to_owned()
    } else {
        let shown: Vec<String> = head.iter().take(4).map(|b| format!("{b:02x}")).collect();
        format!(
            "it does not start with the gzip signature 1f 8b (first bytes: {})",
            shown.join(" ")
        )
    };
    Err(ExtractError::NotAnArchive(what))
}

fn type_name(kind: EntryType) -> String {
    match kind {
        EntryType::Char => "character device".into(),
        EntryType::Block => "block device".into(),
        EntryType::Fifo => "fifo".into(),
        EntryType::GNUSparse => "sparse file".into(),
        other => format!("entry of tar type '{}'", other.as_byte().escape_ascii()),
    }
}

/// A name inside the model directory as plain components: absolute names and any `..` are
/// refused (even `a/../b`, which would stay inside: no legitimate archive needs it), `.` is
/// dropped. Empty means the model directory itself.
pub(crate) fn relative_components(name: &OsStr) -> Result<Vec<OsString>, UnsafeReason> {
    let mut out = Vec::new();
    for c in Path::new(name).components() {
        match c {
            Component::Prefix(_) | Component::RootDir => return Err(UnsafeReason::AbsolutePath),
            Component::ParentDir => return Err(UnsafeReason::LeavesModelDir),
            Component::CurDir => {}
            Component::Normal(n) => out.push(n.to_owned()),
        }
    }
    Ok(out)
}

/// Why a path could not be placed.
#[derive(Debug)]
pub(crate) enum Placement {
    Unsafe(UnsafeReason),
    Io(io::Error),
}

/// Creates (as needed) the directories `parents` under `root`, refusing to pass through a
/// symbolic link or a file; returns the innermost directory. New directories are `0o755` until
/// the caller seals the tree.
pub(crate) fn ensure_dirs(root: &Path, parents: &[OsString]) -> Result<PathBuf, Placement> {
    let mut dir = root.to_path_buf();
    for part in parents {
        dir.push(part);
        match fs::symlink_metadata(&dir) {
            Ok(m) if m.file_type().is_symlink() => {
                return Err(Placement::Unsafe(UnsafeReason::ThroughSymlink))
            }
            Ok(m) if m.is_dir() => {}
            Ok(_) => return Err(Placement::Unsafe(UnsafeReason::Conflict)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                fs::create_dir(&dir).map_err(Placement::Io)?
            }
            Err(e) => return Err(Placement::Io(e)),
        }
    }
    Ok(dir)
}

/// Lexical check of a symbolic link's target, relative to the link's directory (`depth`
/// components below the model directory).
fn check_symlink_target(depth: usize, target: &Path) -> Result<(), UnsafeReason> {
    let shown = || target.display().to_string();
    if target.as_os_str().is_empty() {
        return Err(UnsafeReason::BadName);
    }
    let mut level = depth as i64;
    for c in target.components() {
        match c {
            Component::Prefix(_) | Component::RootDir => {
                return Err(UnsafeReason::SymlinkAbsolute { target: shown() })
            }
            Component::ParentDir => {
                level -= 1;
                if level < 0 {
                    return Err(UnsafeReason::SymlinkEscapes { target: shown() });
                }
            }
            Component::CurDir => {}
            Component::Normal(_) => level += 1,
        }
    }
    Ok(())
}

/// A hard link's target is named relative to the archive root and must be a regular file
/// already extracted, reached without passing through a symbolic link.
fn hardlink_source(root: &Path, target: &OsStr, shown: &str) -> Result<PathBuf, UnsafeReason> {
    let escapes = || UnsafeReason::HardlinkEscapes {
        target: shown.to_owned(),
    };
    let not_file = || UnsafeReason::HardlinkTarget {
        target: shown.to_owned(),
    };
    let comps = relative_components(target).map_err(|_| escapes())?;
    let Some((leaf, parents)) = comps.split_last() else {
        return Err(not_file());
    };
    let mut dir = root.to_path_buf();
    for part in parents {
        dir.push(part);
        match fs::symlink_metadata(&dir) {
            Ok(m) if m.is_dir() && !m.file_type().is_symlink() => {}
            _ => return Err(not_file()),
        }
    }
    let source = dir.join(leaf);
    match fs::symlink_metadata(&source) {
        Ok(m) if m.file_type().is_file() => Ok(source),
        _ => Err(not_file()),
    }
}

/// Resolves the symbolic link at `link` (components under `root`) the way the kernel would,
/// following links met on the way, and says whether it stays inside `root`. Missing components
/// are taken lexically (a dangling link inside is harmless). A chain longer than the kernel
/// follows cannot be opened at all, so it counts as inside.
fn symlink_stays_inside(root: &Path, link: &[OsString]) -> bool {
    let Some((_, parents)) = link.split_last() else {
        return false;
    };
    let Ok(target) = fs::read_link(root.join(link.iter().collect::<PathBuf>())) else {
        return false;
    };
    let mut stack: Vec<OsString> = parents.to_vec();
    let mut queue: VecDeque<OsString> = VecDeque::new();
    if !push_front(&mut queue, &target) {
        return false;
    }
    let mut hops = 1;
    while let Some(c) = queue.pop_front() {
        if c == ".." {
            if stack.pop().is_none() {
                return false;
            }
            continue;
        }
        stack.push(c);
        let here = root.join(stack.iter().collect::<PathBuf>());
        let is_link = fs::symlink_metadata(&here).is_ok_and(|m| m.file_type().is_symlink());
        if !is_link {
            continue;
        }
        hops += 1;
        if hops > MAX_LINK_HOPS {
            return true;
        }
        let Ok(next) = fs::read_link(&here) else {
            return false;
        };
        stack.pop();
        if !push_front(&mut queue, &next) {
            return false;
        }
    }
    true
}

/// Puts `target`'s components (`..` kept, `.` dropped) in front of `queue`; false if absolute.
fn push_front(queue: &mut VecDeque<OsString>, target: &Path) -> bool {
    let mut comps = Vec::new();
    for c in target.components() {
        match c {
            Component::Prefix(_) | Component::RootDir => return false,
            Component::CurDir => {}
            Component::ParentDir => comps.push(OsString::from("..")),
            Component::Normal(n) => comps.push(n.to_owned()),
        }
    }
    for c in comps.into_iter().rev() {
        queue.push_front(c);
    }
    true
}

/// Copies exactly the entry's `size` bytes: read errors are a damaged archive, write errors
/// our disk.
fn copy_entry(
    entry: &mut impl Read,
    file: &mut File,
    size: u64,
    name: &str,
) -> Result<(), ExtractError> {
    use std::io::Write;
    let mut buf = vec![0u8; 256 << 10];
    let mut left = size;
    while left > 0 {
        let want = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
        let n = match entry.read(&mut buf[..want]) {
            Ok(0) => {
                let got = size - left;
                return Err(ExtractError::Corrupt(format!(
                    "entry \"{name}\" breaks off after {got} of {size} bytes"
                )));
            }
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(ExtractError::Corrupt(format!("entry \"{name}\": {e}"))),
        };
        file.write_all(&buf[..n])
            .map_err(io_err(format!("writing \"{name}\"")))?;
        left -= n as u64;
    }
    Ok(())
}

fn set_mode(path: &Path, mode: u32) -> io::Result<()> {
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
}

/// Makes every file and directory under `root` (and `root`) read-only, without following links.
pub(crate) fn seal_tree(root: &Path) -> io::Result<()> {
    for entry in fs::read_dir(root)? {
        let entry = entry?;
        let ft = entry.file_type()?;
        let path = entry.path();
        if ft.is_dir() {
            seal_tree(&path)?;
        } else if ft.is_file() {
            let mode = entry.metadata()?.permissions().mode();
            set_mode(&path, if mode & 0o111 != 0 { 0o555 } else { 0o444 })?;
        }
    }
    set_mode(root, 0o555)
}

/// Removes a tree that may have been sealed read-only (which stops a non-root user from
/// unlinking its entries): directories are made writable again first, links never followed.
pub(crate) fn remove_tree(path: &Path) -> io::Result<()> {
    match fs::symlink_metadata(path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
        Ok(m) if !m.is_dir() => return fs::remove_file(path),
        Ok(_) => {}
    }
    unseal_dirs(path)?;
    fs::remove_dir_all(path)
}

fn unseal_dirs(dir: &Path) -> io::Result<()> {
    set_mode(dir, 0o700)?;
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        if entry.file_type()?.is_dir() {
            unseal_dirs(&entry.path())?;
        }
    }
    Ok(())
}

#[cfg(test)]
#[path = "extract_tests.rs"]
mod tests;
