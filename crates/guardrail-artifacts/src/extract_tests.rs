//! Extraction safety: every malicious archive is built here (raw headers where the tar crate's
//! own setters would refuse the name), and every test asserts on the file system that nothing
//! appeared outside the model directory.

use std::collections::BTreeSet;
use std::fs;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use flate2::write::GzEncoder;
use flate2::Compression;
use tar::{EntryType, Header};

use super::*;

const LIMIT: u64 = 1 << 30;

/// One archive entry, written with a raw (unchecked) name.
struct E {
    name: &'static [u8],
    kind: EntryType,
    data: Vec<u8>,
    link: &'static [u8],
    mode: u32,
}

fn file(name: &'static [u8], data: &[u8]) -> E {
    E {
        name,
        kind: EntryType::Regular,
        data: data.to_vec(),
        link: b"",
        mode: 0o644,
    }
}
fn dir(name: &'static [u8]) -> E {
    E {
        name,
        kind: EntryType::Directory,
        data: vec![],
        link: b"",
        mode: 0o755,
    }
}
fn symlink(name: &'static [u8], target: &'static [u8]) -> E {
    E {
        name,
        kind: EntryType::Symlink,
        data: vec![],
        link: target,
        mode: 0o777,
    }
}
fn hardlink(name: &'static [u8], target: &'static [u8]) -> E {
    E {
        name,
        kind: EntryType::Link,
        data: vec![],
        link: target,
        mode: 0o644,
    }
}
fn special(name: &'static [u8], kind: EntryType) -> E {
    E {
        name,
        kind,
        data: vec![],
        link: b"",
        mode: 0o644,
    }
}

fn header(e: &E) -> Header {
    // Old-style headers take any name; GNU ones are needed for types the tar crate interprets.
    let mut h = if e.kind == EntryType::GNUSparse {
        Header::new_gnu()
    } else {
        Header::new_old()
    };
    {
        let raw = h.as_old_mut();
        raw.name[..e.name.len()].copy_from_slice(e.name);
        raw.linkname[..e.link.len()].copy_from_slice(e.link);
    }
    if let Some(gnu) = h.as_gnu_mut() {
        gnu.set_real_size(e.data.len() as u64);
    }
    h.set_size(e.data.len() as u64);
    h.set_mode(e.mode);
    h.set_mtime(1_700_000_000);
    h.set_entry_type(e.kind);
    h.set_cksum();
    h
}

fn tar_bytes(entries: &[E]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for e in entries {
        b.append(&header(e), e.data.as_slice()).unwrap();
    }
    b.into_inner().unwrap()
}

fn ustar_bytes() -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    let mut h = Header::new_ustar();
    h.set_size(1);
    h.set_mode(0o644);
    b.append_data(&mut h, "a", &b"b"[..]).unwrap();
    b.into_inner().unwrap()
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut gz = GzEncoder::new(Vec::new(), Compression::fast());
    gz.write_all(bytes).unwrap();
    gz.finish().unwrap()
}

fn tar_gz(entries: &[E]) -> Vec<u8> {
    gzip(&tar_bytes(entries))
}

/// A temp root laid out as `<t>/archive.tar.gz`, `<t>/outside.txt` (a victim file) and
/// `<t>/cache/model` (the destination), so escapes land somewhere we can look.
struct Sandbox {
    _tmp: tempfile::TempDir,
    root: PathBuf,
}

impl Sandbox {
    fn new() -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().to_path_buf();
        fs::create_dir_all(root.join("cache/model")).unwrap();
        fs::write(root.join("outside.txt"), b"victim").unwrap();
        Self { _tmp: tmp, root }
    }
    fn dest(&self) -> PathBuf {
        self.root.join("cache/model")
    }
    fn extract(&self, archive: &[u8], limit: u64) -> Result<Extracted, ExtractError> {
        let path = self.root.join("archive.tar.gz");
        fs::write(&path, archive).unwrap();
        extract_tar_gz(&path, &self.dest(), limit)
    }
    /// Every path under the sandbox that is not inside the model directory.
    fn outside(&self) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        walk(&self.root, &self.root, &mut out);
        out.retain(|p| !p.starts_with("cache/model/"));
        out
    }
    fn assert_nothing_outside(&self) {
        let expected: BTreeSet<String> = ["archive.tar.gz", "cache", "cache/model", "outside.txt"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(
            self.outside(),
            expected,
            "something was created outside the model directory"
        );
        assert_eq!(fs::read(self.root.join("outside.txt")).unwrap(), b"victim");
    }
    fn inside(&self) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        walk(&self.dest(), &self.dest(), &mut out);
        out
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        // Sealed (read-only) trees must still be removable.
        remove_tree(&self.root).unwrap();
    }
}

fn walk(base: &Path, dir: &Path, out: &mut BTreeSet<String>) {
    for entry in fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        let rel = entry
            .path()
            .strip_prefix(base)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        out.insert(rel);
        if entry.file_type().unwrap().is_dir() {
            walk(base, &entry.path(), out);
        }
    }
}

#[track_caller]
fn assert_unsafe(result: Result<Extracted, ExtractError>, entry: &str, want: UnsafeReason) {
    match result {
        Err(ExtractError::Unsafe {
            kind: EntryKind::ArchiveEntry,
            entry: e,
            reason,
        }) => {
            assert_eq!(e, entry);
            assert_eq!(reason, want);
        }
        other => panic!("expected Unsafe({entry}, {want:?}), got {other:?}"),
    }
}

#[test]
fn happy_path_extracts_everything_read_only() {
    let sb = Sandbox::new();
    let mut exe = file(b"./code/serve.sh", b"#!/bin/sh\necho hi\n");
    exe.mode = 0o755;
    let long_name = format!("deep/{}/weights.bin", "d".repeat(120));
    let mut b = tar::Builder::new(Vec::new());
    for e in [
        dir(b"./"),
        dir(b"./code/"),
        exe,
        file(b"model.bin", b"weights v1"),
        file(b"nested/dir/config.json", b"{}"),
        symlink(b"latest", b"model.bin"),
        symlink(b"nested/dir/up", b"../../model.bin"),
        symlink(b"nested/dangling", b"does/not/exist"),
        hardlink(b"model-copy.bin", b"model.bin"),
        file(b"model.bin.dup", b"first"),
        file(b"model.bin.dup", b"second wins"),
    ] {
        b.append(&header(&e), e.data.as_slice()).unwrap();
    }
    // A GNU long name (> 100 bytes) through the crate's own path handling.
    let mut h = Header::new_gnu();
    h.set_size(3);
    h.set_mode(0o644);
    h.set_entry_type(EntryType::Regular);
    b.append_data(&mut h, &long_name, &b"abc"[..]).unwrap();
    let archive = gzip(&b.into_inner().unwrap());

    let out = sb.extract(&archive, LIMIT).unwrap();
    assert_eq!(out.files, 7);
    let d = sb.dest();
    assert_eq!(fs::read(d.join("model.bin")).unwrap(), b"weights v1");
    assert_eq!(fs::read(d.join("latest")).unwrap(), b"weights v1");
    assert_eq!(fs::read(d.join("nested/dir/up")).unwrap(), b"weights v1");
    assert_eq!(fs::read(d.join("model-copy.bin")).unwrap(), b"weights v1");
    assert_eq!(fs::read(d.join("model.bin.dup")).unwrap(), b"second wins");
    assert_eq!(fs::read(d.join(&long_name)).unwrap(), b"abc");
    let mode = |p: &str| {
        fs::symlink_metadata(d.join(p))
            .unwrap()
            .permissions()
            .mode()
            & 0o777
    };
    assert_eq!(mode("model.bin"), 0o444);
    assert_eq!(mode("code/serve.sh"), 0o555);
    assert_eq!(mode("nested/dir"), 0o555);
    assert_eq!(
        mode("deep"),
        0o555,
        "implicitly created parents are sealed too"
    );
    assert_eq!(
        fs::metadata(&d).unwrap().permissions().mode() & 0o777,
        0o555
    );
    sb.assert_nothing_outside();
}

#[test]
fn parent_dir_entries_are_refused() {
    for name in [&b"../x"[..], b"a/../../x", b"./../x", b"a/../b"] {
        let sb = Sandbox::new();
        let archive = tar_gz(&[
            file(b"ok.txt", b"fine"),
            E {
                name: Box::leak(name.to_vec().into_boxed_slice()),
                ..file(b"", b"evil")
            },
        ]);
        let shown = String::from_utf8_lossy(name).into_owned();
        assert_unsafe(
            sb.extract(&archive, LIMIT),
            &shown,
            UnsafeReason::LeavesModelDir,
        );
        sb.assert_nothing_outside();
        assert!(!sb.root.join("cache/x").exists() && !sb.root.join("x").exists());
    }
}

#[test]
fn absolute_entries_are_refused() {
    let victim = format!("/tmp/guardrail-artifacts-abs-{}", std::process::id());
    let name: &'static [u8] = Box::leak(victim.clone().into_bytes().into_boxed_slice());
    let sb = Sandbox::new();
    assert_unsafe(
        sb.extract(&tar_gz(&[file(name, b"evil")]), LIMIT),
        &victim,
        UnsafeReason::AbsolutePath,
    );
    assert!(!Path::new(&victim).exists());
    let sb2 = Sandbox::new();
    assert_unsafe(
        sb2.extract(&tar_gz(&[dir(b"/etc/")]), LIMIT),
        "/etc/",
        UnsafeReason::AbsolutePath,
    );
    sb.assert_nothing_outside();
    sb2.assert_nothing_outside();
}

#[test]
fn escaping_symlinks_are_refused() {
    let sb = Sandbox::new();
    assert_unsafe(
        sb.extract(&tar_gz(&[symlink(b"passwd", b"/etc/passwd")]), LIMIT),
        "passwd",
        UnsafeReason::SymlinkAbsolute {
            target: "/etc/passwd".into(),
        },
    );
    sb.assert_nothing_outside();
    assert!(sb.inside().is_empty());

    let sb = Sandbox::new();
    assert_unsafe(
        sb.extract(&tar_gz(&[symlink(b"a/up", b"../../outside.txt")]), LIMIT),
        "a/up",
        UnsafeReason::SymlinkEscapes {
            target: "../../outside.txt".into(),
        },
    );
    sb.assert_nothing_outside();
}

#[test]
fn symlink_chains_that_escape_physically_are_refused() {
    // Each target is inside lexically, but "a/b" is itself a link to the model root, so
    // "a/b/.." is the directory above it.
    let sb = Sandbox::new();
    let archive = tar_gz(&[dir(b"a/"), symlink(b"a/b", b".."), symlink(b"c", b"a/b/..")]);
    assert_unsafe(
        sb.extract(&archive, LIMIT),
        "c",
        UnsafeReason::SymlinkEscapes {
            target: "a/b/..".into(),
        },
    );
    sb.assert_nothing_outside();
}

#[test]
fn nothing_is_written_through_a_symlink() {
    // "link" points inside (to "real"), still no entry may be placed beneath it, and a file
    // entry named like an existing link replaces the link instead of writing through it.
    let sb = Sandbox::new();
    let archive = tar_gz(&[
        dir(b"real/"),
        symlink(b"link", b"real"),
        file(b"link/x", b"evil"),
    ]);
    assert_unsafe(
        sb.extract(&archive, LIMIT),
        "link/x",
        UnsafeReason::ThroughSymlink,
    );
    assert!(!sb.dest().join("real/x").exists());
    sb.assert_nothing_outside();

    let sb = Sandbox::new();
    let archive = tar_gz(&[
        file(b"target", b"original"),
        symlink(b"f", b"target"),
        file(b"f", b"replaced"),
    ]);
    sb.extract(&archive, LIMIT).unwrap();
    assert_eq!(fs::read(sb.dest().join("target")).unwrap(), b"original");
    assert_eq!(fs::read(sb.dest().join("f")).unwrap(), b"replaced");
    assert!(!fs::symlink_metadata(sb.dest().join("f"))
        .unwrap()
        .file_type()
        .is_symlink());
    sb.assert_nothing_outside();
}

#[test]
fn escaping_hardlinks_are_refused() {
    for (target, reason) in [
        (
            &b"../../outside.txt"[..],
            UnsafeReason::HardlinkEscapes {
                target: "../../outside.txt".into(),
            },
        ),
        (
            b"/etc/passwd",
            UnsafeReason::HardlinkEscapes {
                target: "/etc/passwd".into(),
            },
        ),
        (
            b"missing.bin",
            UnsafeReason::HardlinkTarget {
                target: "missing.bin".into(),
            },
        ),
    ] {
        let sb = Sandbox::new();
        let e = E {
            link: Box::leak(target.to_vec().into_boxed_slice()),
            ..hardlink(b"h", b"")
        };
        assert_unsafe(sb.extract(&tar_gz(&[e]), LIMIT), "h", reason);
        assert!(!sb.dest().join("h").exists());
        sb.assert_nothing_outside();
    }
    // Through a symlink to a file inside is refused too (it is not a regular file).
    let sb = Sandbox::new();
    let archive = tar_gz(&[file(b"f", b"x"), symlink(b"l", b"f"), hardlink(b"h", b"l")]);
    assert_unsafe(
        sb.extract(&archive, LIMIT),
        "h",
        UnsafeReason::HardlinkTarget { target: "l".into() },
    );
    sb.assert_nothing_outside();
}

#[test]
fn devices_and_fifos_are_refused() {
    for (kind, shown) in [
        (EntryType::Char, "character device"),
        (EntryType::Block, "block device"),
        (EntryType::Fifo, "fifo"),
        (EntryType::GNUSparse, "sparse file"),
    ] {
        let sb = Sandbox::new();
        assert_unsafe(
            sb.extract(&tar_gz(&[special(b"dev", kind)]), LIMIT),
            "dev",
            UnsafeReason::UnsupportedType { kind: shown.into() },
        );
        assert!(sb.inside().is_empty());
        sb.assert_nothing_outside();
    }
}

#[test]
fn file_vs_directory_clashes_are_refused() {
    let sb = Sandbox::new();
    let archive = tar_gz(&[file(b"a", b"x"), file(b"a/b", b"y")]);
    assert_unsafe(sb.extract(&archive, LIMIT), "a/b", UnsafeReason::Conflict);
    let sb = Sandbox::new();
    let archive = tar_gz(&[dir(b"a/"), file(b"a", b"y")]);
    assert_unsafe(sb.extract(&archive, LIMIT), "a", UnsafeReason::Conflict);
}

fn big_archive() -> Vec<u8> {
    // Incompressible-ish data so truncation points land inside the entry.
    let mut data = Vec::with_capacity(200_000);
    let mut x: u32 = 12345;
    for _ in 0..200_000 {
        x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
        data.push((x >> 16) as u8);
    }
    tar_gz(&[
        file(b"a.txt", b"first"),
        E {
            data,
            ..file(b"big.bin", b"")
        },
    ])
}

#[test]
fn truncated_archives_are_errors() {
    let full = big_archive();
    for cut in [full.len() / 2, full.len() - 4, full.len() - 1] {
        let sb = Sandbox::new();
        match sb.extract(&full[..cut], LIMIT) {
            Err(ExtractError::Corrupt(_)) => {}
            other => panic!(
                "cut at {cut} of {}: expected Corrupt, got {other:?}",
                full.len()
            ),
        }
        sb.assert_nothing_outside();
    }
    // Cut inside the first header: nothing recognisable at all.
    let sb = Sandbox::new();
    assert!(matches!(
        sb.extract(&full[..20], LIMIT),
        Err(ExtractError::NotAnArchive(_)) | Err(ExtractError::Corrupt(_))
    ));
    // The untouched archive is fine.
    Sandbox::new().extract(&full, LIMIT).unwrap();
}

#[test]
fn non_gzip_input_is_not_an_archive() {
    let cases: [(&[u8], &str); 4] = [
        (b"hello, this is not an archive", "gzip signature"),
        (b"", "empty"),
        (b"PK\x03\x04rest-of-zip", "zip"),
        (&ustar_bytes(), "uncompressed tar"),
    ];
    for (bytes, want) in cases {
        let sb = Sandbox::new();
        match sb.extract(bytes, LIMIT) {
            Err(ExtractError::NotAnArchive(why)) => assert!(why.contains(want), "{why}"),
            other => panic!("expected NotAnArchive({want}), got {other:?}"),
        }
        assert!(sb.inside().is_empty());
    }
    // gzip of something that is not tar.
    let sb = Sandbox::new();
    let bytes = gzip(&[b'z'; 4096]);
    assert!(
        matches!(
            sb.extract(&bytes, LIMIT),
            Err(ExtractError::NotAnArchive(_))
        ),
        "gzip of non-tar"
    );
    // Corrupt deflate data right after a valid gzip header.
    let sb = Sandbox::new();
    let mut bytes = gzip(&tar_bytes(&[file(b"a", b"b")]));
    for b in bytes.iter_mut().skip(10).take(20) {
        *b ^= 0x5a;
    }
    assert!(matches!(
        sb.extract(&bytes, LIMIT),
        Err(ExtractError::NotAnArchive(_)) | Err(ExtractError::Corrupt(_))
    ));
}

#[test]
fn gzip_bomb_hits_the_limit_before_writing() {
    // 64 MiB of zeros compresses to ~64 KiB; the limit is 1 MiB.
    let zeros = vec![0u8; 64 << 20];
    let bomb = tar_gz(&[
        file(b"small.txt", b"ok"),
        E {
            data: zeros,
            ..file(b"bomb.bin", b"")
        },
    ]);
    assert!(
        bomb.len() < 1 << 20,
        "the bomb should be small ({} bytes)",
        bomb.len()
    );
    let sb = Sandbox::new();
    match sb.extract(&bomb, 1 << 20) {
        Err(ExtractError::TooLarge { limit }) => assert_eq!(limit, 1 << 20),
        other => panic!("expected TooLarge, got {other:?}"),
    }
    assert!(
        !sb.dest().join("bomb.bin").exists(),
        "the oversized entry must not be started"
    );
    sb.assert_nothing_outside();

    // Many entries that add up over the limit fail too.
    let parts: Vec<E> = (0..5)
        .map(|i| E {
            data: vec![1u8; 300 << 10],
            ..file(NAMES[i], b"")
        })
        .collect();
    let sb = Sandbox::new();
    assert!(matches!(
        sb.extract(&tar_gz(&parts), 1 << 20),
        Err(ExtractError::TooLarge { .. })
    ));
    let total: u64 = sb
        .inside()
        .iter()
        .map(|p| fs::metadata(sb.dest().join(p)).unwrap().len())
        .sum();
    assert!(total <= 1 << 20, "wrote {total} bytes");
}

const NAMES: [&[u8]; 5] = [b"p0", b"p1", b"p2", b"p3", b"p4"];

#[test]
fn relative_component_rules() {
    let ok = |s: &str| relative_components(OsStr::new(s)).unwrap();
    assert_eq!(ok("a/b/c"), vec!["a", "b", "c"]);
    assert_eq!(ok("./a//b/./c/"), vec!["a", "b", "c"]);
    assert!(ok("./").is_empty());
    assert_eq!(
        relative_components(OsStr::new("/a")),
        Err(UnsafeReason::AbsolutePath)
    );
    assert_eq!(
        relative_components(OsStr::new("a/..")),
        Err(UnsafeReason::LeavesModelDir)
    );
}

#[test]
fn remove_tree_handles_sealed_trees_and_links() {
    let tmp = tempfile::tempdir().unwrap();
    let outside = tmp.path().join("keep");
    fs::create_dir(&outside).unwrap();
    fs::write(outside.join("f"), b"x").unwrap();
    let t = tmp.path().join("t");
    fs::create_dir_all(t.join("a/b")).unwrap();
    fs::write(t.join("a/b/f"), b"x").unwrap();
    std::os::unix::fs::symlink(&outside, t.join("a/link")).unwrap();
    seal_tree(&t).unwrap();
    remove_tree(&t).unwrap();
    assert!(!t.exists());
    assert!(outside.join("f").exists(), "links are not followed");
    remove_tree(&t).unwrap();
}
