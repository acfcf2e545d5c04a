#!/usr/bin/env python3
"""The same audit written with the official Python SDK (pip install XenAPI), as an operator would
write it without xen-sr-audit: a thread pool of the same size as the tool's --concurrency, one
session per host, get_all_records per class, Nova's rules, findings written as CSV.

It is kept honest and efficient: one login per entry, only the seven classes the audit needs, the
records classified in one pass, logout always. Used by scripts/bench.py as the comparison.

    python3 benches/sdk_audit.py --inventory live.csv --concurrency 64 --out sdk-findings.csv
"""
import argparse
import concurrent.futures
import csv
import os
import sys
import uuid

import XenAPI

NAMESPACE = uuid.UUID("3cca4135-a809-5bb3-af62-275fbfe87178")
CLASSES = ["pool", "host", "VM", "VBD", "VDI", "SR", "PBD"]


def fetch(url, user, password):
    session = XenAPI.Session(url)
    try:
        session.xenapi.login_with_password(user, password, "1.0", "sdk-audit")
    except XenAPI.Failure as e:
        if e.details and e.details[0] == "HOST_IS_SLAVE":
            scheme, rest = url.split("://", 1)
            port = rest.split("/", 1)[0].rsplit(":", 1)[1]
            session = XenAPI.Session("%s://%s:%s/" % (scheme, e.details[1], port))
            session.xenapi.login_with_password(user, password, "1.0", "sdk-audit")
        else:
            raise
    try:
        return {cls: getattr(session.xenapi, cls).get_all_records() for cls in CLASSES}
    finally:
        session.xenapi.session.logout()


def audit(db):
    pool = next(iter(db["pool"].values()), {})
    pbds_by_sr = {}
    for pbd in db["PBD"].values():
        pbds_by_sr.setdefault(pbd["SR"], []).append(pbd)
    vbds_by_vm = {}
    for vbd in db["VBD"].values():
        vbds_by_vm.setdefault(vbd["VM"], []).append(vbd)
    rows = []
    for vm_ref, vm in db["VM"].items():
        nova = vm["other_config"].get("nova_uuid")
        if vm["is_a_template"] or vm["is_control_domain"] or not nova:
            continue
        host = "" if vm["power_state"] == "Halted" else db["host"].get(vm["resident_on"], {}).get("name_label", "")
        for vbd in vbds_by_vm.get(vm_ref, []):
            if vbd["other_config"].get("osvol", "").lower() != "true":
                continue
            vdi = db["VDI"].get(vbd["VDI"], {})
            sr = db["SR"].get(vdi.get("SR"), {})
            pbds = pbds_by_sr.get(vdi.get("SR"), [])
            dc = pbds[0]["device_config"] if pbds else {}
            expected = ""
            if "target" in dc and "targetIQN" in dc:
                expected = str(uuid.uuid5(NAMESPACE, "%s/%s/%s" % (dc["target"], dc.get("port", "3260"), dc["targetIQN"])))
            sr_uuid = sr.get("uuid", "")
            if sr_uuid.upper().startswith("FA15E-D15C-"):
                naming, verdict = "legacy", "blocked"
            elif expected and sr_uuid.lower() == expected:
                naming, verdict = "new", "ok"
            else:
                naming, verdict = "other", "review"
            rows.append([pool.get("uuid", ""), pool.get("name_label", ""), host, nova, vm["name_label"], vm["uuid"],
                         vbd["userdevice"], sr_uuid, naming, expected, verdict])
    return rows


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--inventory", required=True)
    ap.add_argument("--concurrency", type=int, default=32)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    with open(a.inventory, newline="") as f:
        entries = list(csv.DictReader(f))
    results, failed, seen = [], 0, set()
    with concurrent.futures.ThreadPoolExecutor(max_workers=a.concurrency) as ex:
        futures = {ex.submit(fetch, e["url"], e.get("username") or "root", os.environ[e["password_env"]]): e for e in entries}
        for fut in concurrent.futures.as_completed(futures):
            try:
                db = fut.result()
            except Exception as exc:  # one host failing never stops the audit
                failed += 1
                print("%s: %s" % (futures[fut]["name"], exc), file=sys.stderr)
                continue
            pool_uuid = next(iter(db["pool"].values()), {}).get("uuid")
            if pool_uuid in seen:
                continue
            seen.add(pool_uuid)
            results.extend(audit(db))
    results.sort()
    with open(a.out, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["pool_uuid", "pool_name", "host", "instance_uuid", "instance_name", "vm_uuid", "userdevice",
                    "sr_uuid", "naming", "expected_sr_uuid", "verdict"])
        w.writerows(results)
    print("sdk-audit: %d findings, %d failed entries" % (len(results), failed), file=sys.stderr)
    return 3 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
