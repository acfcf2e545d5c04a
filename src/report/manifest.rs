//! What a run wrote into `--out`, so that a later run removes only its own files. The manifest
//! (`xen-sr-audit.manifest.json`: each report file's name and sha256) is staged and renamed with the
//! reports, last. A later run that does not write a format again removes that file only when the
//! previous manifest lists it and its bytes are still the ones listed: someone else's `junit.xml`
//! in a CI workspace, a node_exporter textfile folder's `metrics.prom`, a report edited by hand or
//! written by an older version are left alone and named in one warning line.

use crate::error::ReportError;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The manifest's file name in `--out`.
pub const MANIFEST_FILE: &str = "xen-sr-audit.manifest.json";

/// The manifest: report file name -> sha256 (hex) of the bytes this tool wrote.
#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Manifest {
    pub tool: String,
    pub files: BTreeMap<String, String>,
}

impl Manifest {
    /// The manifest of the files just staged.
    pub fn of(digests: Vec<(String, String)>) -> Manifest {
        Manifest {
            tool: env!("CARGO_PKG_NAME").to_string(),
            files: digests.into_iter().collect(),
        }
    }

    /// The manifest an earlier run left in `dir`; empty when there is none or it is unreadable
    /// (then nothing counts as this tool's, and nothing is removed).
    pub fn read(dir: &Path) -> Manifest {
        std::fs::read(dir.join(MANIFEST_FILE))
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .unwrap_or_default()
    }

    pub fn write(&self, w: &mut dyn std::io::Write) -> std::io::Result<()> {
        serde_json::to_writer_pretty(&mut *w, self)?;
        w.write_all(b"\n")
    }
}

/// What clean-up did with the report files this run did not write again.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Cleanup {
    /// Written by an earlier run and unchanged since: removed.
    pub removed: Vec<PathBuf>,
    /// Not known to be this tool's unchanged output: left alone.
    pub kept: Vec<PathBuf>,
}

/// Remove from `dir` the files named in `names` that this run did not write (`written`), when
/// `previous` lists them with their current bytes; leave the others.
pub fn clean_up(
    dir: &Path,
    names: &[&str],
    written: &[PathBuf],
    previous: &Manifest,
) -> Result<Cleanup, ReportError> {
    let mut out = Cleanup::default();
    for name in names {
        let path = dir.join(name);
        if written.contains(&path) || !path.is_file() {
            continue;
        }
        if !is_unchanged_output(&path, previous.files.get(*name)) {
            out.kept.push(path);
            continue;
        }
        std::fs::remove_file(&path).map_err(|cause| ReportError::Io {
            path: path.clone(),
            cause,
        })?;
        out.removed.push(path);
    }
    Ok(out)
}

/// True when `listed` (the digest the manifest recorded) is the file's digest now.
fn is_unchanged_output(path: &Path, listed: Option<&String>) -> bool {
    listed.is_some_and(|want| {
        super::atomic::file_sha256(path).is_ok_and(|got| got.eq_ignore_ascii_case(want))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sha(text: &str) -> String {
        use sha2::Digest;
        super::super::atomic::hex(&sha2::Sha256::digest(text.as_bytes()))
    }

    #[test]
    fn only_listed_unchanged_files_are_removed() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        for (name, text) in [
            ("ours.csv", "ours"),
            ("edited.csv", "edited by hand"),
            ("foreign.xml", "someone else's"),
            ("written.json", "this run's"),
        ] {
            std::fs::write(d.join(name), text).unwrap();
        }
        let previous = Manifest::of(vec![
            ("ours.csv".into(), sha("ours")),
            ("edited.csv".into(), sha("as written")),
            ("written.json".into(), sha("older")),
        ]);
        let names = [
            "ours.csv",
            "edited.csv",
            "foreign.xml",
            "written.json",
            "absent.md",
        ];
        let got = clean_up(d, &names, &[d.join("written.json")], &previous).unwrap();
        assert_eq!(got.removed, vec![d.join("ours.csv")]);
        assert_eq!(got.kept, vec![d.join("edited.csv"), d.join("foreign.xml")]);
        assert!(!d.join("ours.csv").exists());
        for kept in ["edited.csv", "foreign.xml", "written.json"] {
            assert!(d.join(kept).is_file(), "{kept}");
        }
    }

    #[test]
    fn a_missing_or_unreadable_manifest_claims_nothing() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(Manifest::read(dir.path()), Manifest::default());
        std::fs::write(dir.path().join(MANIFEST_FILE), "{not json").unwrap();
        assert_eq!(Manifest::read(dir.path()), Manifest::default());
        let m = Manifest::of(vec![("a.csv".into(), sha("a"))]);
        let mut bytes = Vec::new();
        m.write(&mut bytes).unwrap();
        std::fs::write(dir.path().join(MANIFEST_FILE), bytes).unwrap();
        assert_eq!(Manifest::read(dir.path()), m);
    }
}
