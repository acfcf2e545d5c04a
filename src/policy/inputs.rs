//! A run's inputs: what it read (the sha256 of every dump and Nova export, of the waivers file and
//! the inventory) and the options that change verdicts (`--nova-*`, `--fail-on`), with the tool's
//! version. Recorded in report.json so that two runs can be told apart by more than their inventory
//! text, and compared *in kind* when one is the other's baseline: a run with `--nova-bdms` against
//! one without, or another target port, reclassifies attachments without anything being fixed, and
//! the comparison must say so rather than count that as progress.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::io::Read;
use std::path::Path;

/// One file a run read, and its digest.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InputFile {
    pub path: String,
    /// sha256 of the file's bytes, lower-case hex.
    pub sha256: String,
}

/// A dump an inventory entry was read from.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DumpInput {
    pub entry: String,
    pub path: String,
    pub sha256: String,
}

/// What a run read and the options that change its verdicts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Inputs {
    pub tool_version: String,
    pub inventory_sha256: String,
    /// Every dump read, in inventory order.
    #[serde(default)]
    pub dumps: Vec<DumpInput>,
    /// Inventory entries read live from XAPI (nothing to digest).
    #[serde(default)]
    pub live_entries: usize,
    #[serde(default)]
    pub nova_servers: Vec<InputFile>,
    #[serde(default)]
    pub nova_bdms: Vec<InputFile>,
    /// `--nova-target-port` and `--nova-target-host` (they matter only with `--nova-bdms`).
    #[serde(default)]
    pub nova_target_port: String,
    #[serde(default)]
    pub nova_target_host: String,
    pub fail_on: String,
    /// The waivers file, if any.
    #[serde(default)]
    pub waivers: Option<InputFile>,
    /// False when these inputs were inferred from a report written before schema 3 (no digests).
    #[serde(default = "yes")]
    pub recorded: bool,
}

fn yes() -> bool {
    true
}

/// sha256 of a text read from elsewhere than a file (a Nova database's export), lower-case hex.
pub fn text_sha256(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// sha256 of a file's bytes, lower-case hex.
pub fn file_sha256(path: &Path) -> std::io::Result<String> {
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

impl Inputs {
    /// The inputs' kind as one line: two runs of one kind have the same line, and
    /// [`differences_in_kind`] lists how two lines differ. The data itself (digests) is left out.
    pub fn kind(&self) -> String {
        let nova = if self.nova_bdms.is_empty() {
            String::new()
        } else {
            format!(
                " port={} host={}",
                self.nova_target_port, self.nova_target_host
            )
        };
        format!(
            "bdms={} servers={}{nova} fail_on={} waivers={} sources={} tool={}",
            given(&self.nova_bdms),
            given(&self.nova_servers),
            self.fail_on,
            if self.waivers.is_some() {
                "with"
            } else {
                "without"
            },
            self.sources(),
            self.tool_version
        )
    }

    fn sources(&self) -> &'static str {
        match (self.dumps.is_empty(), self.live_entries == 0) {
            (false, true) => "dumps",
            (true, false) => "live XAPI",
            (false, false) => "dumps and live XAPI",
            (true, true) => "nothing",
        }
    }
}

fn given(files: &[InputFile]) -> &'static str {
    if files.is_empty() {
        "without"
    } else {
        "with"
    }
}

/// How a baseline's inputs differ in kind from this run's: options and sources that change
/// verdicts, not the data itself (a new dump of the same pool is what a comparison is for).
/// Empty when they are of one kind.
pub fn differences_in_kind(old: &Inputs, new: &Inputs) -> Vec<String> {
    let mut out = Vec::new();
    let mut differ = |what: &str, was: &str, now: &str| {
        if was != now {
            out.push(format!("{what} {was} -> {now}"));
        }
    };
    differ("--nova-bdms:", given(&old.nova_bdms), given(&new.nova_bdms));
    differ(
        "--nova-servers:",
        given(&old.nova_servers),
        given(&new.nova_servers),
    );
    if !old.nova_bdms.is_empty() || !new.nova_bdms.is_empty() {
        differ(
            "--nova-target-port",
            &old.nova_target_port,
            &new.nova_target_port,
        );
        let host = |h: &str| {
            if h.is_empty() {
                "(none)".to_string()
            } else {
                h.to_string()
            }
        };
        differ(
            "--nova-target-host",
            &host(&old.nova_target_host),
            &host(&new.nova_target_host),
        );
    }
    differ("--fail-on", &old.fail_on, &new.fail_on);
    differ(
        "waivers:",
        if old.waivers.is_some() {
            "with"
        } else {
            "without"
        },
        if new.waivers.is_some() {
            "with"
        } else {
            "without"
        },
    );
    differ("sources:", old.sources(), new.sources());
    differ("tool version", &old.tool_version, &new.tool_version);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> Inputs {
        Inputs {
            tool_version: "1.0.0".into(),
            dumps: vec![DumpInput::default()],
            nova_target_port: "3260".into(),
            fail_on: "blocked".into(),
            recorded: true,
            ..Default::default()
        }
    }

    #[test]
    fn kind_changes_exactly_when_differences_in_kind_are_found() {
        let mut other_dump = base();
        other_dump.dumps[0].sha256 = "another week's bytes".into();
        let mut with_bdms = base();
        with_bdms.nova_bdms = vec![InputFile::default()];
        let mut waived = base();
        waived.waivers = Some(InputFile::default());
        for new in [other_dump, with_bdms, waived] {
            assert_eq!(
                base().kind() == new.kind(),
                differences_in_kind(&base(), &new).is_empty(),
                "{} / {}",
                base().kind(),
                new.kind()
            );
        }
    }

    #[test]
    fn differences_in_kind_table() {
        let bdms = || vec![InputFile::default()];
        let cases: Vec<(Inputs, Vec<&str>)> = vec![
            (base(), vec![]),
            (
                Inputs {
                    dumps: vec![DumpInput::default(), DumpInput::default()],
                    ..base()
                },
                vec![],
            ),
            (
                Inputs {
                    nova_bdms: bdms(),
                    ..base()
                },
                vec!["--nova-bdms: without -> with"],
            ),
            // The port is only a difference where BDMs are read.
            (
                Inputs {
                    nova_target_port: "3261".into(),
                    ..base()
                },
                vec![],
            ),
            (
                Inputs {
                    fail_on: "review".into(),
                    waivers: Some(InputFile::default()),
                    ..base()
                },
                vec!["--fail-on blocked -> review", "waivers: without -> with"],
            ),
            (
                Inputs {
                    dumps: vec![],
                    live_entries: 2,
                    ..base()
                },
                vec!["sources: dumps -> live XAPI"],
            ),
        ];
        for (new, want) in cases {
            assert_eq!(differences_in_kind(&base(), &new), want, "{new:?}");
        }
        let old = Inputs {
            nova_bdms: bdms(),
            ..base()
        };
        let new = Inputs {
            nova_bdms: bdms(),
            nova_target_port: "3261".into(),
            ..base()
        };
        assert_eq!(
            differences_in_kind(&old, &new),
            vec!["--nova-target-port 3260 -> 3261"]
        );
    }

    #[test]
    fn file_sha256_of_known_bytes() {
        let dir = std::env::temp_dir().join(format!("xsa-inputs-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("abc");
        std::fs::write(&p, b"abc").unwrap();
        assert_eq!(
            file_sha256(&p).unwrap(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
