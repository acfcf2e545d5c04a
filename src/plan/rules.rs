//! Which action clears a blocked instance, by Nova's own code paths (read at tag mitaka-eol;
//! liberty-eol is the same for every function cited here). A volume's SR is named by whichever
//! nova-compute *connects* it, so an action fixes a volume only if it makes an upgraded compute
//! reconnect that volume. Each rule names the Nova function it relies on; the table-driven test below
//! holds one row per rule.

use crate::plan::input::BlockedInstance;

/// What to do with one instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ActionKind {
    /// `nova migrate` then `nova resize-confirm`: the destination reconnects every volume.
    ColdMigrate,
    /// The same on a halted instance: it is migrated and stays halted.
    ColdMigrateHalted,
    /// `nova volume-detach` then `nova volume-attach` of each blocked data volume.
    DetachReattach,
    /// Nothing can be planned (no host has room for it): reported, not planned.
    NotPlanned,
}

impl ActionKind {
    /// The `action` column of plan.csv.
    pub fn as_str(self) -> &'static str {
        match self {
            ActionKind::ColdMigrate => "cold-migrate",
            ActionKind::ColdMigrateHalted => "cold-migrate-halted",
            ActionKind::DetachReattach => "detach-reattach",
            ActionKind::NotPlanned => "not-planned",
        }
    }

    /// Whether the instance moves to another host (and needs memory there).
    pub fn moves(self) -> bool {
        matches!(
            self,
            ActionKind::ColdMigrate | ActionKind::ColdMigrateHalted
        )
    }
}

/// `--prefer`: what to do with an instance whose blocked volumes are all data volumes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Prefer {
    /// Detach and re-attach each data volume: no move, no local-disk copy (the default).
    #[default]
    Detach,
    /// Cold-migrate it as if its boot volume were blocked.
    Migrate,
}

/// The chosen action, why, and the Nova code it relies on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Choice {
    pub kind: ActionKind,
    pub why: &'static str,
    pub nova: &'static str,
}

pub const NOVA_COLD_MIGRATE: &str = "nova/virt/xenapi/vmops.py VMOps.finish_migration -> \
_attach_mapped_block_devices -> volumeops.VolumeOps.connect_volume (destination reconnects every \
volume); VMOps.confirm_migration -> volume_utils.purge_sr on the source";
pub const NOVA_HALTED: &str = "nova/compute/api.py API.resize allows vm_state STOPPED; \
nova/compute/manager.py finish_resize passes power_on=False and vmops.finish_migration leaves it halted";
pub const NOVA_ROOT_NOT_DETACHABLE: &str = "nova/api/openstack/compute/volumes.py \
VolumeAttachmentController.delete: \"Can't detach root device volume\" (boot_index 0)";
pub const NOVA_DETACH: &str = "nova/virt/xenapi/volumeops.py VolumeOps.detach_volume -> \
_detach_vbds_and_srs -> volume_utils.purge_sr; VolumeOps.attach_volume -> connect_volume";
pub const NOVA_NO_VOLUME_ID: &str = "nova volume-detach needs the Cinder volume id, unknown for \
this disk (not in the SR name nor in Nova's BDM): cold migration reconnects it without one";

/// The one action for a blocked instance.
pub fn choose(inst: &BlockedInstance, prefer: Prefer) -> Choice {
    if inst.power_state.eq_ignore_ascii_case("halted") {
        return Choice {
            kind: ActionKind::ColdMigrateHalted,
            why: "halted: migrate it while halted (it stays halted)",
            nova: NOVA_HALTED,
        };
    }
    if inst.boot_blocked() {
        return Choice {
            kind: ActionKind::ColdMigrate,
            why: "the boot volume is blocked and cannot be detached",
            nova: NOVA_ROOT_NOT_DETACHABLE,
        };
    }
    if prefer == Prefer::Migrate {
        return Choice {
            kind: ActionKind::ColdMigrate,
            why: "data volumes only, --prefer migrate",
            nova: NOVA_COLD_MIGRATE,
        };
    }
    if inst.targets.iter().any(|f| f.volume_id.is_empty()) {
        return Choice {
            kind: ActionKind::ColdMigrate,
            why: "a blocked data volume has no known volume id",
            nova: NOVA_NO_VOLUME_ID,
        };
    }
    Choice {
        kind: ActionKind::DetachReattach,
        why: "data volumes only: detach and re-attach each one",
        nova: NOVA_DETACH,
    }
}

/// What must not be done to an instance of this kind, and why (Nova's code again).
pub fn do_not(kind: ActionKind) -> &'static str {
    const ALWAYS: &str = "do not reboot or stop/start (VM.hard_reboot, VM.start: nothing \
reconnects); do not rebuild (destroys image-backed roots and ephemeral disks); do not evacuate \
(the XenAPI driver does not support it)";
    match kind {
        ActionKind::ColdMigrate | ActionKind::ColdMigrateHalted => {
            "do not resize-revert (vmops._restore_orig_vm_and_cleanup_orphan does not re-attach a \
boot volume); do not reboot or stop/start (nothing reconnects); do not rebuild or evacuate"
        }
        ActionKind::DetachReattach => {
            "do not detach the root volume (refused: boot_index 0); do not shelve (destroys \
ephemeral disks, powers on); do not reboot, rebuild or evacuate"
        }
        ActionKind::NotPlanned => ALWAYS,
    }
}

/// Nova refuses to migrate an instance in any other state (`API.resize`'s check_instance_state:
/// ACTIVE or STOPPED), so a paused or suspended one must be resumed first.
pub fn state_precondition(inst: &BlockedInstance, kind: ActionKind) -> Option<String> {
    let state = inst.power_state.to_ascii_lowercase();
    (kind.moves() && (state == "paused" || state == "suspended")).then(|| {
        format!(
            "the instance is {}: Nova migrates only ACTIVE or STOPPED instances (API.resize): \
unpause/resume it first",
            inst.power_state
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::input::FindingIn;

    fn finding(userdevice: &str, volume_id: &str) -> FindingIn {
        FindingIn {
            userdevice: userdevice.into(),
            boot: userdevice == "0",
            volume_id: volume_id.into(),
            verdict: "blocked".into(),
            ..Default::default()
        }
    }

    fn instance(power: &str, findings: Vec<FindingIn>) -> BlockedInstance {
        BlockedInstance {
            power_state: power.into(),
            targets: findings,
            ..Default::default()
        }
    }

    /// One row per rule: the instance, `--prefer`, the action, the Nova function it rests on.
    #[test]
    fn each_rule_follows_novas_code() {
        let rows: Vec<(&str, BlockedInstance, Prefer, ActionKind, &str)> = vec![
            (
                "boot volume blocked: the root cannot be detached, cold migration reconnects it",
                instance("Running", vec![finding("0", "v0"), finding("1", "v1")]),
                Prefer::Detach,
                ActionKind::ColdMigrate,
                "VolumeAttachmentController.delete",
            ),
            (
                "data volumes only: detach + re-attach purges the legacy SR and reconnects",
                instance("Running", vec![finding("1", "v1"), finding("2", "v2")]),
                Prefer::Detach,
                ActionKind::DetachReattach,
                "_detach_vbds_and_srs",
            ),
            (
                "data volumes only with --prefer migrate: the destination reconnects all",
                instance("Running", vec![finding("1", "v1")]),
                Prefer::Migrate,
                ActionKind::ColdMigrate,
                "finish_migration",
            ),
            (
                "halted: migrated while halted, stays halted",
                instance("Halted", vec![finding("0", "v0")]),
                Prefer::Detach,
                ActionKind::ColdMigrateHalted,
                "power_on=False",
            ),
            (
                "halted with data volumes only: still migrated while halted",
                instance("halted", vec![finding("1", "v1")]),
                Prefer::Detach,
                ActionKind::ColdMigrateHalted,
                "API.resize allows vm_state STOPPED",
            ),
            (
                "a data volume without a volume id cannot be named to volume-detach",
                instance("Running", vec![finding("1", "")]),
                Prefer::Detach,
                ActionKind::ColdMigrate,
                "volume id",
            ),
        ];
        for (what, inst, prefer, kind, cites) in rows {
            let c = choose(&inst, prefer);
            assert_eq!(c.kind, kind, "{what}");
            assert!(c.nova.contains(cites), "{what}: cites {:?}", c.nova);
        }
    }

    #[test]
    fn paused_instances_must_be_resumed_before_a_migration_only() {
        let paused = instance("Paused", vec![finding("0", "v0")]);
        assert!(state_precondition(&paused, ActionKind::ColdMigrate)
            .unwrap()
            .contains("API.resize"));
        assert_eq!(
            state_precondition(&paused, ActionKind::DetachReattach),
            None
        );
        let running = instance("Running", vec![finding("0", "v0")]);
        assert_eq!(state_precondition(&running, ActionKind::ColdMigrate), None);
    }

    #[test]
    fn migrations_warn_against_revert() {
        assert!(do_not(ActionKind::ColdMigrate).contains("resize-revert"));
        assert!(do_not(ActionKind::DetachReattach).contains("root volume"));
    }
}
