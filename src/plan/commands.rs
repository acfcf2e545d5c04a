//! The command lines of each action, for the Mitaka-era novaclient (3.x, the default) or
//! python-openstackclient (`--cli openstack`), as argument vectors. Every identifier that goes into a
//! command comes from XAPI or Nova and is untrusted: it must look like an identifier (a uuid, a volume
//! id, a `/dev/xvdX` device) or the action gets no command; and [`sh_quote`] quotes every argument
//! written into plan.sh, so a hostile name cannot inject shell.

use crate::plan::input::{BlockedInstance, FindingIn};
use crate::plan::rules::ActionKind;

/// `--cli`: which client the commands are written for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Cli {
    #[default]
    Nova,
    Openstack,
}

/// One step of an action: a command line, and what it is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub argv: Vec<String>,
    pub purpose: &'static str,
}

impl Step {
    fn new(purpose: &'static str, argv: &[&str]) -> Step {
        Step {
            argv: argv.iter().map(|s| s.to_string()).collect(),
            purpose,
        }
    }

    /// The command as one shell line, every argument quoted.
    pub fn shell_line(&self) -> String {
        self.argv
            .iter()
            .map(|a| sh_quote(a))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// POSIX single quoting: safe for any text, control characters included.
pub fn sh_quote(arg: &str) -> String {
    let plain = !arg.is_empty()
        && arg
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./=:".contains(&b));
    if plain {
        arg.to_string()
    } else {
        format!("'{}'", arg.replace('\'', r"'\''"))
    }
}

/// An identifier that may go on a command line: letters, digits and inner dashes, not an option.
fn is_safe_id(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && !s.starts_with('-')
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

/// The device Nova re-attaches a data volume at: its BDM's `device_name`, else `/dev/xvd<letter>` of
/// the VBD's userdevice (Nova's `_mountpoint_to_number` read backwards).
pub fn device_of(f: &FindingIn) -> Option<String> {
    let bdm_name = f
        .nova_device
        .strip_prefix("/dev/")
        .unwrap_or(&f.nova_device);
    let is_name = |n: &str| {
        (3..=6).contains(&n.len())
            && n.bytes().all(|b| b.is_ascii_lowercase())
            && ["xvd", "vd", "sd", "hd"].iter().any(|p| n.starts_with(p))
    };
    if is_name(bdm_name) {
        return Some(format!("/dev/{bdm_name}"));
    }
    let n: u8 = f.userdevice.parse().ok().filter(|n| *n < 26)?;
    Some(format!("/dev/xvd{}", (b'a' + n) as char))
}

/// The steps of an action, or why none can be written safely.
pub fn steps(inst: &BlockedInstance, kind: ActionKind, cli: Cli) -> Result<Vec<Step>, String> {
    let server = inst.instance_uuid.as_str();
    if !is_safe_id(server) {
        return Err(format!(
            "instance uuid {:?} is not an identifier: act by hand",
            server.escape_debug().to_string()
        ));
    }
    match kind {
        ActionKind::ColdMigrate | ActionKind::ColdMigrateHalted => Ok(migrate_steps(server, cli)),
        ActionKind::DetachReattach => {
            let mut out = Vec::new();
            for f in &inst.targets {
                out.extend(reattach_steps(server, f, cli)?);
            }
            Ok(out)
        }
        ActionKind::NotPlanned => Ok(Vec::new()),
    }
}

fn migrate_steps(server: &str, cli: Cli) -> Vec<Step> {
    match cli {
        Cli::Nova => vec![
            Step::new(
                "cold-migrate (the scheduler picks the destination)",
                &["nova", "migrate", "--poll", server],
            ),
            Step::new("status must be VERIFY_RESIZE", &["nova", "show", server]),
            Step::new(
                "confirm (never revert)",
                &["nova", "resize-confirm", server],
            ),
        ],
        Cli::Openstack => vec![
            Step::new(
                "cold-migrate (the scheduler picks the destination)",
                &["openstack", "server", "migrate", "--wait", server],
            ),
            Step::new(
                "status must be VERIFY_RESIZE",
                &["openstack", "server", "show", "-c", "status", server],
            ),
            Step::new(
                "confirm (never revert)",
                &["openstack", "server", "resize", "--confirm", server],
            ),
        ],
    }
}

fn reattach_steps(server: &str, f: &FindingIn, cli: Cli) -> Result<Vec<Step>, String> {
    let volume = f.volume_id.as_str();
    let sr = f.sr_uuid.as_str();
    if !is_safe_id(volume) || !is_safe_id(sr) {
        return Err(format!(
            "volume {:?} / SR {:?} is not an identifier: act by hand",
            volume.escape_debug().to_string(),
            sr.escape_debug().to_string()
        ));
    }
    let device = device_of(f).ok_or_else(|| {
        format!(
            "no device to re-attach userdevice {:?} at: act by hand",
            f.userdevice
        )
    })?;
    let sr_check = format!("uuid={sr}");
    let check = Step::new(
        "on the pool master: must print nothing (the legacy SR is gone)",
        &["xe", "sr-list", &sr_check, "--minimal"],
    );
    Ok(match cli {
        Cli::Nova => vec![
            Step::new(
                "detach the data volume",
                &["nova", "volume-detach", server, volume],
            ),
            check,
            Step::new(
                "re-attach at the same device",
                &["nova", "volume-attach", server, volume, &device],
            ),
        ],
        Cli::Openstack => vec![
            Step::new(
                "detach the data volume",
                &["openstack", "server", "remove", "volume", server, volume],
            ),
            check,
            Step::new(
                "re-attach at the same device",
                &[
                    "openstack",
                    "server",
                    "add",
                    "volume",
                    "--device",
                    &device,
                    server,
                    volume,
                ],
            ),
        ],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_keeps_hostile_text_one_word() {
        let cases = [
            ("abc-123", "abc-123"),
            ("", "''"),
            ("a b", "'a b'"),
            ("$(rm -rf /)", "'$(rm -rf /)'"),
            ("it's", r"'it'\''s'"),
            ("a\nb;c", "'a\nb;c'"),
            ("`x`", "'`x`'"),
        ];
        for (raw, quoted) in cases {
            assert_eq!(sh_quote(raw), quoted, "{raw:?}");
        }
    }

    #[test]
    fn devices_come_from_the_bdm_or_the_userdevice() {
        let f = |ud: &str, dev: &str| FindingIn {
            userdevice: ud.into(),
            nova_device: dev.into(),
            ..Default::default()
        };
        let cases = [
            (f("1", ""), Some("/dev/xvdb")),
            (f("3", "vdd"), Some("/dev/vdd")),
            (f("2", "/dev/sdc"), Some("/dev/sdc")),
            (f("x", ""), None),
            (f("3", "3"), Some("/dev/xvdd")),
            (f("1", "/dev/xvdb; rm -rf /"), Some("/dev/xvdb")),
            (f("x", "/dev/xvdb; rm -rf /"), None),
        ];
        for (finding, want) in cases {
            assert_eq!(device_of(&finding).as_deref(), want, "{finding:?}");
        }
    }

    #[test]
    fn a_hostile_instance_uuid_gets_no_command() {
        let inst = BlockedInstance {
            instance_uuid: "--all-tenants; reboot".into(),
            ..Default::default()
        };
        assert!(steps(&inst, ActionKind::ColdMigrate, Cli::Nova).is_err());
    }
}
