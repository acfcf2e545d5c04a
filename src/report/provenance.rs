//! Where the evidence an entry was audited from came from: a dump that `capture` wrote records the
//! live source it was taken from, when, and by which tool version (in the dump's manifest), and the
//! report carries that on the entry's row in report.json, so a report made offline from captured
//! dumps says what it rests on.

use serde::{Deserialize, Serialize};

/// A captured dump's provenance.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Captured {
    /// The source the dump was taken from (the inventory entry's `url`, credentials never included).
    pub from: String,
    /// When it was taken (RFC 3339, UTC).
    pub at: String,
    /// The tool and version that took it (`xen-sr-audit 0.1.0`).
    pub by: String,
}

impl Captured {
    /// The provenance from a dump's manifest pairs, looked up with `get`; `None` when the dump
    /// records none (not written by `capture`).
    pub fn from_manifest<'a>(
        get: impl Fn(&str) -> Option<&'a str>,
        keys: [&str; 3],
    ) -> Option<Captured> {
        let [from, at, by] = keys.map(|k| get(k).unwrap_or_default().to_string());
        (!from.is_empty() || !at.is_empty() || !by.is_empty()).then_some(Captured { from, at, by })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn provenance_only_when_the_dump_records_some() {
        let pairs = [
            ("f", "https://xs01/"),
            ("a", "2026-11-30T11:00:00Z"),
            ("b", "xen-sr-audit 0.1.0"),
        ];
        let get = |k: &str| pairs.iter().find(|(key, _)| *key == k).map(|(_, v)| *v);
        assert_eq!(
            Captured::from_manifest(get, ["f", "a", "b"]),
            Some(Captured {
                from: "https://xs01/".into(),
                at: "2026-11-30T11:00:00Z".into(),
                by: "xen-sr-audit 0.1.0".into(),
            })
        );
        assert_eq!(Captured::from_manifest(get, ["x", "y", "z"]), None);
    }
}
