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

/// Remove the files named in `names` from `dir` that are not in `keep`: reports an earlier run
/// wrote in formats this run did not, which would otherwise sit beside this run's reports.
pub fn remove_stale(
    dir: &Path,
    names: &[&str],
    keep: &[PathBuf],
) -> Result<Vec<PathBuf>, ReportError> {
    let mut removed = Vec::new();
    for name in names {
        let p = dir.join(name);
        if keep.contains(&p) || !p.is_file() {
            continue;
        }
        std::fs::remove_file(&p).map_err(|cause| ReportError::Io {
            path: p.clone(),
            cause,
        })?;
        removed.push(p);
    }
    Ok(removed)
}

/// A set of output files staged for an atomic commit.
#[derive(Debug)]
pub struct StagedOutputs {
    dir: PathBuf,
    staged: Vec<(tempfile::TempPath, PathBuf)>,
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
        let results: Vec<Result<(tempfile::TempPath, PathBuf), ReportError>> =
            std::thread::scope(|scope| {
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

    /// Rename every staged file into place.
    pub fn commit(self) -> Result<Vec<PathBuf>, ReportError> {
        let mut done = Vec::new();
        for (tmp, target) in self.staged {
            tmp.persist(&target).map_err(|e| ReportError::Io {
                path: target.clone(),
                cause: e.error,
            })?;
            done.push(target);
        }
        Ok(done)
    }
}

/// Write one file to a temporary file in `dir`, ready to be renamed to `name`.
fn stage_file(
    dir: &Path,
    name: &str,
    write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<(tempfile::TempPath, PathBuf), ReportError> {
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
    {
        let mut buffered = std::io::BufWriter::new(tmp.as_file_mut());
        write(&mut buffered).map_err(io_err)?;
        buffered.flush().map_err(io_err)?;
    }
    // Reports are ordinary files for their reader (tempfile creates them 0600).
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        tmp.as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o644))
            .map_err(io_err)?;
    }
    tmp.as_file().sync_all().map_err(io_err)?;
    Ok((tmp.into_temp_path(), target))
}
