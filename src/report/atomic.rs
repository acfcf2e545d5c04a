//! All-or-nothing report output: every file is written to a temporary file in the output folder, and
//! only when all of them are complete are they renamed into place. A failure (disk full, permission,
//! Ctrl-C before the commit) leaves the previous reports untouched and no half-written file behind.

use crate::error::ReportError;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Check, before any work is done, that `dir` can hold the reports: it is (or can be made) a folder
/// in which a file can be created. A scan that would end unable to write its reports stops at once.
pub fn check_writable(dir: &Path) -> Result<(), ReportError> {
    if dir.exists() && !dir.is_dir() {
        return Err(ReportError::NotAFolder {
            path: dir.to_path_buf(),
        });
    }
    std::fs::create_dir_all(dir).map_err(|cause| ReportError::Io {
        path: dir.to_path_buf(),
        cause,
    })?;
    // Created and removed at once (dropped).
    tempfile::Builder::new()
        .prefix(".xsa-write-check.")
        .tempfile_in(dir)
        .map(drop)
        .map_err(|cause| ReportError::Io {
            path: dir.to_path_buf(),
            cause,
        })
}

/// A set of output files staged for an atomic commit.
#[derive(Debug)]
pub struct StagedOutputs {
    dir: PathBuf,
    staged: Vec<Staged>,
}

/// One staged file: the temporary file, where it goes, and the sha256 (hex) of its bytes.
#[derive(Debug)]
struct Staged {
    tmp: tempfile::TempPath,
    target: PathBuf,
    sha256: String,
}

impl StagedOutputs {
    pub fn new(dir: &Path) -> Result<Self, ReportError> {
        std::fs::create_dir_all(dir).map_err(|source| ReportError::Io {
            path: dir.to_path_buf(),
            cause: source,
        })?;
        Ok(StagedOutputs {
            dir: dir.to_path_buf(),
            staged: Vec::new(),
        })
    }

    /// Stage `name` with the bytes the closure writes.
    pub fn stage(
        &mut self,
        name: &str,
        write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
    ) -> Result<(), ReportError> {
        let staged = stage_file(&self.dir, name, write)?;
        self.staged.push(staged);
        Ok(())
    }

    /// Stage several files at once, each written on its own thread (the large CSV and JSON files
    /// of a big fleet are written side by side).
    #[allow(clippy::type_complexity)]
    pub fn stage_parallel(
        &mut self,
        jobs: Vec<(
            &'static str,
            Box<dyn FnOnce(&mut dyn Write) -> std::io::Result<()> + Send + '_>,
        )>,
    ) -> Result<(), ReportError> {
        let dir = self.dir.clone();
        let results: Vec<Result<Staged, ReportError>> = std::thread::scope(|scope| {
            let handles: Vec<_> = jobs
                .into_iter()
                .map(|(name, job)| {
                    let dir = &dir;
                    (name, scope.spawn(move || stage_file(dir, name, job)))
                })
                .collect();
            handles
                .into_iter()
                .map(|(name, h)| {
                    h.join().unwrap_or_else(|_| {
                        Err(ReportError::Render {
                            path: dir.join(name),
                            message: "internal error while writing".into(),
                        })
                    })
                })
                .collect()
        });
        for r in results {
            self.staged.push(r?);
        }
        Ok(())
    }

    /// The file names staged so far with the sha256 (hex) of their bytes, in staging order.
    pub fn digests(&self) -> Vec<(String, String)> {
        self.staged
            .iter()
            .filter_map(|s| {
                let name = s.target.file_name()?.to_str()?;
                Some((name.to_string(), s.sha256.clone()))
            })
            .collect()
    }

    /// Rename every staged file into place, in staging order. When a rename fails, the files
    /// already renamed are put back as they were (the earlier file restored from a hard link kept
    /// aside, or removed when there was none) and every temporary file is removed: the folder holds
    /// the earlier run's files or this run's, never a mix, and nothing half-written.
    pub fn commit(self) -> Result<Vec<PathBuf>, ReportError> {
        let mut done: Vec<(PathBuf, Option<tempfile::TempPath>)> = Vec::new();
        for s in self.staged {
            let renamed = keep_aside(&self.dir, &s.target).and_then(|aside| {
                s.tmp.persist(&s.target).map_err(|e| ReportError::Io {
                    path: s.target.clone(),
                    cause: e.error,
                })?;
                Ok(aside)
            });
            match renamed {
                Ok(aside) => done.push((s.target, aside)),
                Err(e) => {
                    roll_back(done);
                    return Err(e);
                }
            }
        }
        // Dropping the kept-aside links removes them.
        Ok(done.into_iter().map(|(target, _)| target).collect())
    }
}

/// A hard link to the file at `target`, if there is one, under a temporary name in `dir`: what a
/// failed commit restores. Removed when dropped.
fn keep_aside(dir: &Path, target: &Path) -> Result<Option<tempfile::TempPath>, ReportError> {
    if !target.is_file() {
        return Ok(None);
    }
    let io_err = |cause| ReportError::Io {
        path: target.to_path_buf(),
        cause,
    };
    let aside = tempfile::Builder::new()
        .prefix(".xsa-previous.")
        .suffix(".tmp")
        .make_in(dir, |p| {
            // A copy where the file system has no hard links.
            std::fs::hard_link(target, p).or_else(|_| std::fs::copy(target, p).map(drop))
        })
        .map_err(io_err)?;
    Ok(Some(aside.into_temp_path()))
}

/// Undo the renames of a failed commit, last first.
fn roll_back(done: Vec<(PathBuf, Option<tempfile::TempPath>)>) {
    for (target, aside) in done.into_iter().rev() {
        match aside {
            Some(aside) => {
                let _ = aside.persist(&target);
            }
            None => {
                let _ = std::fs::remove_file(&target);
            }
        }
    }
}

/// A writer that passes bytes on and hashes them on the way.
struct Hashing<'a> {
    inner: &'a mut dyn Write,
    hasher: sha2::Sha256,
}

impl Write for Hashing<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        use sha2::Digest;
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// Write one file to a temporary file in `dir`, ready to be renamed to `name`.
fn stage_file(
    dir: &Path,
    name: &str,
    write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<Staged, ReportError> {
    let target = dir.join(name);
    let io_err = |source| ReportError::Io {
        path: target.clone(),
        cause: source,
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(&format!(".{name}."))
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(io_err)?;
    let sha256 = {
        use sha2::Digest;
        let mut buffered = std::io::BufWriter::new(tmp.as_file_mut());
        let mut hashing = Hashing {
            inner: &mut buffered,
            hasher: sha2::Sha256::new(),
        };
        write(&mut hashing).map_err(io_err)?;
        let digest = hashing.hasher.finalize();
        buffered.flush().map_err(io_err)?;
        hex(&digest)
    };
    // Reports are ordinary files for their reader (tempfile creates them 0600).
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        tmp.as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o644))
            .map_err(io_err)?;
    }
    tmp.as_file().sync_all().map_err(io_err)?;
    Ok(Staged {
        tmp: tmp.into_temp_path(),
        target,
        sha256,
    })
}

/// Lower-case hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The sha256 (hex) of a file's bytes, read in pieces.
pub fn file_sha256(path: &Path) -> std::io::Result<String> {
    use sha2::Digest;
    let mut hasher = sha2::Sha256::new();
    let mut file = std::fs::File::open(path)?;
    std::io::copy(&mut file, &mut hasher)?;
    Ok(hex(&hasher.finalize()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names_in(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn a_commit_renames_every_staged_file_with_its_digest() {
        let dir = tempfile::tempdir().unwrap();
        let mut out = StagedOutputs::new(dir.path()).unwrap();
        out.stage("a.txt", |w| w.write_all(b"abc")).unwrap();
        out.stage_parallel(vec![("b.txt", Box::new(|w| w.write_all(b"")))])
            .unwrap();
        assert!(
            !dir.path().join("a.txt").exists(),
            "nothing in place before the commit"
        );
        // sha256("abc") and sha256("") as published in FIPS 180-2 and by `sha256sum`.
        assert_eq!(
            out.digests(),
            vec![
                (
                    "a.txt".to_string(),
                    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad".to_string()
                ),
                (
                    "b.txt".to_string(),
                    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855".to_string()
                ),
            ]
        );
        let done = out.commit().unwrap();
        assert_eq!(
            done,
            vec![dir.path().join("a.txt"), dir.path().join("b.txt")]
        );
        assert_eq!(names_in(dir.path()), vec!["a.txt", "b.txt"]);
        assert_eq!(std::fs::read(dir.path().join("a.txt")).unwrap(), b"abc");
        assert_eq!(
            file_sha256(&dir.path().join("a.txt")).unwrap(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn a_failed_write_or_dropped_stage_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let mut out = StagedOutputs::new(dir.path()).unwrap();
        out.stage("ok.txt", |w| w.write_all(b"fine")).unwrap();
        let failed = out.stage("bad.txt", |w| {
            w.write_all(b"half")?;
            Err(std::io::Error::other("disk full"))
        });
        assert!(matches!(failed, Err(ReportError::Io { .. })));
        let failed = out.stage_parallel(vec![(
            "bad2.txt",
            Box::new(|_| Err(std::io::Error::other("no"))),
        )]);
        assert!(failed.is_err());
        drop(out);
        assert!(
            names_in(dir.path()).is_empty(),
            "{:?}",
            names_in(dir.path())
        );
    }

    #[test]
    fn a_failed_rename_puts_back_what_was_there() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::write(d.join("first.txt"), "earlier first").unwrap();
        // "second.txt" did not exist before; "third.txt" is a folder: its rename fails.
        std::fs::create_dir_all(d.join("third.txt/inside")).unwrap();
        let mut out = StagedOutputs::new(d).unwrap();
        for name in ["first.txt", "second.txt", "third.txt"] {
            out.stage(name, |w| w.write_all(b"new")).unwrap();
        }
        let err = out.commit().unwrap_err();
        assert!(err.to_string().contains("third.txt"), "{err}");
        assert_eq!(
            std::fs::read_to_string(d.join("first.txt")).unwrap(),
            "earlier first"
        );
        assert_eq!(names_in(d), vec!["first.txt", "third.txt"]);
    }

    #[test]
    fn check_writable_refuses_a_file_and_creates_a_folder() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("file"), "x").unwrap();
        for (sub, ok) in [("file", false), ("file/below", false), ("new/deep", true)] {
            let got = check_writable(&dir.path().join(sub));
            assert_eq!(got.is_ok(), ok, "{sub}: {got:?}");
        }
        assert!(dir.path().join("new/deep").is_dir());
        assert!(names_in(&dir.path().join("new/deep")).is_empty());
        // A folder that already exists is fine too (the usual case: the same --output each run).
        check_writable(&dir.path().join("new/deep")).unwrap();
        check_writable(dir.path()).unwrap();
    }
}
