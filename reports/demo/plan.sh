#!/bin/sh
# Written by xen-sr-audit plan, for a person to review and run ONE STEP AT A TIME.
# Nothing here runs by itself: every command asks first (y = run, anything else = skip, q = quit).
# Run it from a shell with the OpenStack credentials loaded (and xe on the pool master for checks).
set -u
step() {
    printf '\n$ %s\n' "$*"
    printf 'run this step? [y/N/q] '
    read -r answer </dev/tty || exit 1
    case "$answer" in
        y|Y) "$@" || printf 'step failed (exit %s): stop and look before going on\n' "$?" ;;
        q|Q) exit 0 ;;
        *) printf 'skipped\n' ;;
    esac
}

# ===== wave 1 =====

# cold-migrate instance-00000306 (edge-01 / edge-01-xs01): the boot volume is blocked and cannot be detached, ~120 s downtime
# precondition: every host the scheduler may pick runs nova-compute >= 12.0.2 (Liberty) / 13.0.0 (Mitaka); conflict: a new-style SR over the same target and IQN exists in this pool: check the VDI map (xe vdi-list sr-uuid=...) before moving
# cold-migrate (the scheduler picks the destination)
step nova migrate --poll 5e05bddf-3de8-5467-8874-8e6cf82b94d4
# status must be VERIFY_RESIZE
step nova show 5e05bddf-3de8-5467-8874-8e6cf82b94d4
# confirm (never revert)
step nova resize-confirm 5e05bddf-3de8-5467-8874-8e6cf82b94d4

# cold-migrate-halted instance-0000010c (pool-east / ): halted: migrate it while halted (it stays halted), ~1782 s downtime
# precondition: every host the scheduler may pick runs nova-compute >= 12.0.2 (Liberty) / 13.0.0 (Mitaka)
# cold-migrate (the scheduler picks the destination)
step nova migrate --poll 9ef938c9-8357-5a2b-8d81-4b2b7aaf6582
# status must be VERIFY_RESIZE
step nova show 9ef938c9-8357-5a2b-8d81-4b2b7aaf6582
# confirm (never revert)
step nova resize-confirm 9ef938c9-8357-5a2b-8d81-4b2b7aaf6582

# cold-migrate instance-00000111 (pool-east / pool-east-xs01): the boot volume is blocked and cannot be detached, ~120 s downtime
# precondition: every host the scheduler may pick runs nova-compute >= 12.0.2 (Liberty) / 13.0.0 (Mitaka)
# cold-migrate (the scheduler picks the destination)
step nova migrate --poll 0aa0758b-a1e0-59a0-a73b-4b3738d42328
# status must be VERIFY_RESIZE
step nova show 0aa0758b-a1e0-59a0-a73b-4b3738d42328
# confirm (never revert)
step nova resize-confirm 0aa0758b-a1e0-59a0-a73b-4b3738d42328

# cold-migrate instance-0000020a (pool-west / pool-west-xs01): the boot volume is blocked and cannot be detached, ~120 s downtime
# precondition: every host the scheduler may pick runs nova-compute >= 12.0.2 (Liberty) / 13.0.0 (Mitaka); conflict: a new-style SR over the same target and IQN exists in this pool: check the VDI map (xe vdi-list sr-uuid=...) before moving
# cold-migrate (the scheduler picks the destination)
step nova migrate --poll 02da50f7-cd6d-53f0-85bd-852eaacdf07f
# status must be VERIFY_RESIZE
step nova show 02da50f7-cd6d-53f0-85bd-852eaacdf07f
# confirm (never revert)
step nova resize-confirm 02da50f7-cd6d-53f0-85bd-852eaacdf07f

# cold-migrate instance-0000020d (pool-west / pool-west-xs01): a blocked data volume has no known volume id, ~120 s downtime
# precondition: every host the scheduler may pick runs nova-compute >= 12.0.2 (Liberty) / 13.0.0 (Mitaka)
# cold-migrate (the scheduler picks the destination)
step nova migrate --poll 5e8e3aa1-e924-590f-b220-2e152d95b0d4
# status must be VERIFY_RESIZE
step nova show 5e8e3aa1-e924-590f-b220-2e152d95b0d4
# confirm (never revert)
step nova resize-confirm 5e8e3aa1-e924-590f-b220-2e152d95b0d4

# ===== wave 2 =====

# cold-migrate instance-0000010f (pool-east / pool-east-xs01): the boot volume is blocked and cannot be detached, ~120 s downtime
# precondition: every host the scheduler may pick runs nova-compute >= 12.0.2 (Liberty) / 13.0.0 (Mitaka); conflict: a new-style SR over the same target and IQN exists in this pool: check the VDI map (xe vdi-list sr-uuid=...) before moving
# cold-migrate (the scheduler picks the destination)
step nova migrate --poll 27b63e6b-9f15-5a05-be2b-6e2b5b610289
# status must be VERIFY_RESIZE
step nova show 27b63e6b-9f15-5a05-be2b-6e2b5b610289
# confirm (never revert)
step nova resize-confirm 27b63e6b-9f15-5a05-be2b-6e2b5b610289

# cold-migrate instance-00000108 (pool-east / pool-east-xs01): the boot volume is blocked and cannot be detached, ~120 s downtime
# precondition: every host the scheduler may pick runs nova-compute >= 12.0.2 (Liberty) / 13.0.0 (Mitaka)
# cold-migrate (the scheduler picks the destination)
step nova migrate --poll badfbe9a-52bb-5dde-9f26-114dd76e64e7
# status must be VERIFY_RESIZE
step nova show badfbe9a-52bb-5dde-9f26-114dd76e64e7
# confirm (never revert)
step nova resize-confirm badfbe9a-52bb-5dde-9f26-114dd76e64e7

# cold-migrate instance-0000020c (pool-west / pool-west-xs01): the boot volume is blocked and cannot be detached, ~120 s downtime
# precondition: every host the scheduler may pick runs nova-compute >= 12.0.2 (Liberty) / 13.0.0 (Mitaka)
# cold-migrate (the scheduler picks the destination)
step nova migrate --poll a1182cf6-aad0-585c-9f6c-e40ddd1947b1
# status must be VERIFY_RESIZE
step nova show a1182cf6-aad0-585c-9f6c-e40ddd1947b1
# confirm (never revert)
step nova resize-confirm a1182cf6-aad0-585c-9f6c-e40ddd1947b1

# detach-reattach instance-00000206 (pool-west / pool-west-xs02): data volumes only: detach and re-attach each one, ~30 s downtime
# precondition: host pool-west-xs02 runs nova-compute >= 12.0.2 (Liberty) / 13.0.0 (Mitaka) (it reconnects the volume)
# detach the data volume
step nova volume-detach 2e8237f3-58be-5990-b230-a34c1b087c70 77f5f3b3-37cf-560a-be62-9b25f4aeab43
# on the pool master: must print nothing (the legacy SR is gone)
step xe sr-list uuid=FA15E-D15C-77f5f3b3-37cf-560a-be62-9b25f4aeab43 --minimal
# re-attach at the same device
step nova volume-attach 2e8237f3-58be-5990-b230-a34c1b087c70 77f5f3b3-37cf-560a-be62-9b25f4aeab43 /dev/xvdb

# ===== wave 3 =====

# cold-migrate instance-00000112 (pool-east / pool-east-xs01): a blocked data volume has no known volume id, ~120 s downtime
# precondition: every host the scheduler may pick runs nova-compute >= 12.0.2 (Liberty) / 13.0.0 (Mitaka)
# cold-migrate (the scheduler picks the destination)
step nova migrate --poll d2d9600b-585b-58c9-916e-dadcb423860d
# status must be VERIFY_RESIZE
step nova show d2d9600b-585b-58c9-916e-dadcb423860d
# confirm (never revert)
step nova resize-confirm d2d9600b-585b-58c9-916e-dadcb423860d

# detach-reattach instance-00000105 (pool-east / pool-east-xs02): data volumes only: detach and re-attach each one, ~60 s downtime
# precondition: host pool-east-xs02 runs nova-compute >= 12.0.2 (Liberty) / 13.0.0 (Mitaka) (it reconnects the volume)
# detach the data volume
step nova volume-detach 02717b89-4e6e-5cce-a3dd-6a05d0be5ffe dfa21905-0a7c-501b-b625-4a157b0dfa1b
# on the pool master: must print nothing (the legacy SR is gone)
step xe sr-list uuid=FA15E-D15C-dfa21905-0a7c-501b-b625-4a157b0dfa1b --minimal
# re-attach at the same device
step nova volume-attach 02717b89-4e6e-5cce-a3dd-6a05d0be5ffe dfa21905-0a7c-501b-b625-4a157b0dfa1b /dev/xvdb
# detach the data volume
step nova volume-detach 02717b89-4e6e-5cce-a3dd-6a05d0be5ffe 91eedb81-4311-597a-96f9-da0171317821
# on the pool master: must print nothing (the legacy SR is gone)
step xe sr-list uuid=FA15E-D15C-91eedb81-4311-597a-96f9-da0171317821 --minimal
# re-attach at the same device
step nova volume-attach 02717b89-4e6e-5cce-a3dd-6a05d0be5ffe 91eedb81-4311-597a-96f9-da0171317821 /dev/sdd

# ===== wave 4 =====

# cold-migrate instance-00000101 (pool-east / pool-east-xs02): the boot volume is blocked and cannot be detached, ~120 s downtime
# precondition: every host the scheduler may pick runs nova-compute >= 12.0.2 (Liberty) / 13.0.0 (Mitaka)
# cold-migrate (the scheduler picks the destination)
step nova migrate --poll 54f26409-5b74-5162-88d8-d7ee65286ad4
# status must be VERIFY_RESIZE
step nova show 54f26409-5b74-5162-88d8-d7ee65286ad4
# confirm (never revert)
step nova resize-confirm 54f26409-5b74-5162-88d8-d7ee65286ad4

# detach-reattach instance-0000010b (pool-east / pool-east-xs02): data volumes only: detach and re-attach each one, ~60 s downtime
# precondition: host pool-east-xs02 runs nova-compute >= 12.0.2 (Liberty) / 13.0.0 (Mitaka) (it reconnects the volume)
# detach the data volume
step nova volume-detach 924bec2f-a641-50b4-a5ab-c358091784e7 f2341dc8-7f9e-58e0-a801-f2c1065c8d7d
# on the pool master: must print nothing (the legacy SR is gone)
step xe sr-list uuid=FA15E-D15C-f2341dc8-7f9e-58e0-a801-f2c1065c8d7d --minimal
# re-attach at the same device
step nova volume-attach 924bec2f-a641-50b4-a5ab-c358091784e7 f2341dc8-7f9e-58e0-a801-f2c1065c8d7d /dev/hdb
# detach the data volume
step nova volume-detach 924bec2f-a641-50b4-a5ab-c358091784e7 571f3c9a-298d-5448-a268-d2e992eebe59
# on the pool master: must print nothing (the legacy SR is gone)
step xe sr-list uuid=FA15E-D15C-571f3c9a-298d-5448-a268-d2e992eebe59 --minimal
# re-attach at the same device
step nova volume-attach 924bec2f-a641-50b4-a5ab-c358091784e7 571f3c9a-298d-5448-a268-d2e992eebe59 /dev/xvdc

# ===== wave 5 =====

# cold-migrate instance-00000104 (pool-east / pool-east-xs03): the boot volume is blocked and cannot be detached, ~120 s downtime
# precondition: every host the scheduler may pick runs nova-compute >= 12.0.2 (Liberty) / 13.0.0 (Mitaka)
# cold-migrate (the scheduler picks the destination)
step nova migrate --poll 003178ad-8d1f-55e6-9001-7878a0428f6c
# status must be VERIFY_RESIZE
step nova show 003178ad-8d1f-55e6-9001-7878a0428f6c
# confirm (never revert)
step nova resize-confirm 003178ad-8d1f-55e6-9001-7878a0428f6c

# cold-migrate instance-0000010d (pool-east / pool-east-xs03): the boot volume is blocked and cannot be detached, ~120 s downtime
# precondition: every host the scheduler may pick runs nova-compute >= 12.0.2 (Liberty) / 13.0.0 (Mitaka)
# cold-migrate (the scheduler picks the destination)
step nova migrate --poll 119fe6c5-7ff0-5df4-8b57-cc456e71594b
# status must be VERIFY_RESIZE
step nova show 119fe6c5-7ff0-5df4-8b57-cc456e71594b
# confirm (never revert)
step nova resize-confirm 119fe6c5-7ff0-5df4-8b57-cc456e71594b
