//! Helpers shared by the artifact integration tests.
#![allow(unreachable_pub)] // test-crate items, not an API

use flate2::write::GzEncoder;
use flate2::Compression;

/// A gzip-compressed tar of `files` (name, bytes), as a model archive.
pub fn tar_gz(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut b = tar::Builder::new(GzEncoder::new(Vec::new(), Compression::fast()));
    for (name, data) in files {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        b.append_data(&mut h, name, *data).unwrap();
    }
    b.into_inner().unwrap().finish().unwrap()
}
