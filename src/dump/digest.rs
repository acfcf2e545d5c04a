//! Reading a dump and its sha256 in one pass: report.json's `inputs` names every dump by the digest
//! of exactly the bytes that were audited (a second read could see a file replaced in between, and
//! would read a large fleet's dumps twice). The bytes are hashed as they come off the file, gzip or
//! not, and whatever the XML reader leaves after `</database>` is hashed too.

use super::reader::{read_dump_from, Database, Keep};
use crate::error::DumpError;
use sha2::{Digest, Sha256};
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

/// A reader that hashes everything read through it.
struct Hashing<R> {
    inner: R,
    hasher: Sha256,
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
}

/// Read a dump as [`super::read_dump`] does, and return the sha256 (lower-case hex) of its bytes.
pub fn read_dump_with_sha256(path: &Path, keep: Keep) -> Result<(Database, String), DumpError> {
    let io = |cause: std::io::Error| DumpError::Io {
        path: path.to_path_buf(),
        cause,
    };
    let file = std::fs::File::open(path).map_err(io)?;
    let mut buffered = BufReader::with_capacity(
        256 * 1024,
        Hashing {
            inner: file,
            hasher: Sha256::new(),
        },
    );
    let gzip = buffered.fill_buf().map_err(io)?.starts_with(&[0x1f, 0x8b]);
    let db = if gzip {
        let gz = BufReader::with_capacity(
            256 * 1024,
            flate2::bufread::MultiGzDecoder::new(&mut buffered),
        );
        read_dump_from(gz, path, keep)?
    } else {
        read_dump_from(&mut buffered, path, keep)?
    };
    std::io::copy(&mut buffered, &mut std::io::sink()).map_err(io)?;
    let digest = buffered.into_inner().hasher.finalize();
    Ok((db, digest.iter().map(|b| format!("{b:02x}")).collect()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_is_of_the_file_bytes_plain_and_gzip() {
        let dir = std::env::temp_dir().join(format!("xsa-digest-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        // More bytes after `</database>` than one buffer holds: they are part of the file too.
        let mut xml = b"<?xml version=\"1.0\"?><database><manifest/><table name=\"pool\"></table></database>\n".to_vec();
        xml.extend(std::iter::repeat_n(b'\n', 700 * 1024));
        let plain = dir.join("d.xml");
        std::fs::write(&plain, &xml).unwrap();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut gz, &xml).unwrap();
        let zipped = dir.join("d.xml.gz");
        std::fs::write(&zipped, gz.finish().unwrap()).unwrap();
        for p in [&plain, &zipped] {
            let (_, digest) = read_dump_with_sha256(p, Keep::Audit).unwrap();
            let want: String = Sha256::digest(std::fs::read(p).unwrap())
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            assert_eq!(digest, want, "{}", p.display());
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
