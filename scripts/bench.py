#!/usr/bin/env python3
"""Reproduces every figure in BENCHMARKS.md (stdlib only; needs the XenAPI package for the SDK rows).

    python3 scripts/bench.py            # the full set, medians of 3 runs (about 10 minutes)
    python3 scripts/bench.py --quick    # smaller fleets, one run: a smoke test of the harness
    python3 scripts/bench.py --only tls # 3,000 hosts over http, over https (every entry pinned; TLS
                                        # 1.3, and TLS 1.2 on secp384r1 as XAPI speaks it), and over
                                        # https with a pin of its own per host
    python3 scripts/bench.py --only tls --bin /tmp/xsa-before --no-build   # another build's binaries

It builds the release binaries, generates fleets with gen-fleet, serves them with xapi-sim (a separate
process, with injected latency), runs xen-sr-audit and the Python SDK script (benches/sdk_audit.py)
against the same simulator in the same run, and prints each figure with its floor and ratio. Peak RSS
comes from wait4() of each child. Timings are reported as ratios measured in the same run.
"""
import argparse
import csv
import math
import os
import resource
import shutil
import signal
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import hashlib

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "target", "release")
PW = "bench-password"
PARSE_FLOOR_MBPS = 350.0  # a streaming quick-xml pass on these machines (issue #5)


def sh(cmd, **kw):
    return subprocess.run(cmd, check=True, **kw)


LAST_CPU = {}


def measure(cmd, env=None, cwd=None):
    """Run a command; return (wall seconds, peak RSS in MiB, exit code, stderr text). Its user and
    system CPU seconds are left in LAST_CPU."""
    with tempfile.TemporaryFile() as err, open(os.devnull, "wb") as null:
        t0 = time.perf_counter()
        p = subprocess.Popen(cmd, stdout=null, stderr=err, env=env, cwd=cwd)
        _, status, ru = os.wait4(p.pid, 0)
        wall = time.perf_counter() - t0
        LAST_CPU.update(user=ru.ru_utime, sys=ru.ru_stime)
        p.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        return wall, ru.ru_maxrss / 1024.0, p.returncode, err.read().decode(errors="replace")


def gen(out, *args):
    if os.path.exists(os.path.join(out, "inventory.csv")):
        return os.path.join(out, "inventory.csv")
    sh([os.path.join(BIN, "gen-fleet"), "--out", out, *args], stderr=subprocess.DEVNULL)
    return os.path.join(out, "inventory.csv")


def tls_cert(workdir):
    """A self-signed RSA-2048 certificate and PKCS#8 key for the simulator's --tls-cert (made once
    with the openssl command), and its SHA-256 fingerprint as the inventory's tls_fingerprint."""
    cert, key = os.path.join(workdir, "sim-cert.pem"), os.path.join(workdir, "sim-key.pem")
    if not os.path.exists(cert):
        sh(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
            "-days", "3650", "-subj", "/CN=xapi-sim"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    with open(cert) as f:
        der = ssl.PEM_cert_to_DER_cert(f.read())
    digest = hashlib.sha256(der).hexdigest().upper()
    return cert, key, "sha256:" + ":".join(digest[i:i + 2] for i in range(0, 64, 2))


def pin_every_entry(inventory, fingerprint):
    """The simulator's inventory with a tls_fingerprint column: every entry pinned."""
    with open(inventory, newline="") as f:
        rows_ = list(csv.reader(f))
    with open(inventory, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(rows_[0] + ["tls_fingerprint"])
        for r in rows_[1:]:
            w.writerow(r + [fingerprint])


class Sim:
    def __init__(self, inventory, workdir, latency_ms, base_octet, tls=None, tls_profile=None):
        """`tls`: (cert, key, fingerprint) to serve HTTPS, every entry of the inventory pinned;
        `tls_profile`: the simulator's --tls-profile (its default, modern, when None)."""
        self.live = os.path.join(workdir, "live-%d.csv" % base_octet)
        env = dict(os.environ, XAPI_SIM_PASSWORD=PW)
        tls_args = ["--tls-cert", tls[0], "--tls-key", tls[1]] if tls else []
        if tls and tls_profile:
            tls_args += ["--tls-profile", tls_profile]
        self.p = subprocess.Popen(
            [os.path.join(BIN, "xapi-sim"), "--inventory", inventory, "--latency-ms", str(latency_ms),
             "--base-octet", str(base_octet), "--write-inventory", self.live, "--password-env", "BENCH_PW",
             *tls_args],
            stdout=subprocess.PIPE, env=env, text=True)
        first = None
        for line in self.p.stdout:
            if first is None:
                first = line.split()[1]
            if line.strip() == "ready":
                break
        self.stats_url = first.rstrip("/") + "/sim/stats"
        if tls:
            pin_every_entry(self.live, tls[2])

    def stats(self):
        insecure = ssl._create_unverified_context()  # our own simulator's self-signed certificate
        insecure.set_ciphers("ALL:@SECLEVEL=0")  # and --tls-profile xapi2015's RSA key exchange
        text = urllib.request.urlopen(self.stats_url, timeout=10, context=insecure).read().decode()
        return {k: int(v) for k, v in (kv.split("=") for kv in text.split())}

    def cpu_seconds(self):
        with open("/proc/%d/stat" % self.p.pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self):
        self.p.send_signal(signal.SIGINT)
        self.p.wait(timeout=30)


def scan(inventory, out, concurrency, extra=(), ok_codes=(0, 1, 2)):
    env = dict(os.environ, BENCH_PW=PW)
    cmd = [os.path.join(BIN, "xen-sr-audit"), "scan", "--inventory", inventory, "--out", out, "-q",
           "--concurrency", str(concurrency), "--format", "csv,json", *extra]
    wall, rss, rc, err = measure(cmd, env=env)
    if rc not in ok_codes:
        raise SystemExit("scan failed (%d): %s" % (rc, err))
    return wall, rss


def sdk(inventory, out, concurrency):
    env = dict(os.environ, BENCH_PW=PW)
    wall, rss, rc, err = measure([sys.executable, os.path.join(ROOT, "benches", "sdk_audit.py"), "--inventory", inventory,
                                  "--concurrency", str(concurrency), "--out", out], env=env)
    if rc != 0:
        raise SystemExit("sdk script failed (%d): %s" % (rc, err))
    return wall, rss


def rows(path):
    with open(path, newline="") as f:
        return sum(1 for _ in csv.reader(f)) - 1


def median_runs(n, fn):
    results = [fn() for _ in range(n)]
    return tuple(statistics.median(r[i] for r in results) for i in range(len(results[0])))


def head(inventory, n, out):
    with open(inventory) as f:
        lines = f.readlines()
    with open(out, "w") as f:
        f.writelines(lines[: n + 1])
    return out


def table(title, header, body):
    print("\n### %s\n" % title)
    print("| " + " | ".join(header) + " |")
    print("|" + "|".join("---" for _ in header) + "|")
    for r in body:
        print("| " + " | ".join(r) + " |")


SCALE_LATENCY_MS, SCALE_CONCURRENCY = 20, 256


def distinct_pins(inventory):
    """Every entry pinned to a fingerprint of its own, as on a real fleet where each host made its own
    certificate. The simulator serves one certificate, so every handshake completes and then ends in
    a pin mismatch: what this measures is the per-pin cost (contexts, lookups), not the scan."""
    with open(inventory, newline="") as f:
        rows_ = list(csv.reader(f))
    col = rows_[0].index("tls_fingerprint")
    with open(inventory, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(rows_[0])
        for i, r in enumerate(rows_[1:]):
            digest = hashlib.sha256(b"host-%d" % i).hexdigest().upper()
            r[col] = "sha256:" + ":".join(digest[j:j + 2] for j in range(0, 64, 2))
            w.writerow(r)


def scale_point(a, runs, hosts, base_octet, tls=None, own_pins=False, tls_profile=None):
    """Scan `hosts` single-host pools (3 instances each) served by simulators (at most 5,000 hosts
    per process: a listening socket each, under the file limit) at 20 ms per call; `tls` serves
    HTTPS with every entry pinned (`own_pins`: each to a fingerprint of its own, see
    distinct_pins; every entry must then fail on its pin and nothing else; `tls_profile`: how the
    simulators speak it, see Sim). Medians of `runs`; the
    tool's CPU from wait4(), the simulators' from /proc/<pid>/stat before and after."""
    lat, conc = SCALE_LATENCY_MS, SCALE_CONCURRENCY
    inv = gen(os.path.join(a.workdir, "scale-%d" % hosts), "--pools", str(hosts), "--hosts", "1", "--instances", "3", "--seed", "5")
    with open(inv) as f:
        header, *lines = f.read().splitlines()
    parts = []
    for k in range(0, len(lines), 5000):
        part = os.path.join(os.path.dirname(inv), "part-%d.csv" % k)
        with open(part, "w") as f:
            f.write("\n".join([header] + lines[k:k + 5000]) + "\n")
        parts.append(part)
    sims = [Sim(part, a.workdir, lat, base_octet + k, tls, tls_profile) for k, part in enumerate(parts)]
    suffix = ("-https-own-pins" if own_pins else "-https") if tls else ""
    suffix += "-" + tls_profile if tls_profile else ""
    live = os.path.join(a.workdir, "scale-live-%d%s.csv" % (hosts, suffix))
    with open(live, "w") as out_f:
        for k, sim in enumerate(sims):
            with open(sim.live) as f:
                text = f.read().splitlines()
            out_f.write("\n".join(text if k == 0 else text[1:]) + "\n")
    if own_pins:
        distinct_pins(live)
    try:
        out = os.path.join(a.workdir, "scale-out-%d%s" % (hosts, suffix))
        s0 = [sim.stats() for sim in sims]
        sim_cpu0 = sum(sim.cpu_seconds() for sim in sims)
        cpu = []

        def scale_run():
            wall, rss = scan(live, out, conc, ok_codes=(3,) if own_pins else (0, 1, 2))
            cpu.append((LAST_CPU["user"], LAST_CPU["sys"]))
            return wall, rss

        t, rss = median_runs(runs, scale_run)
        s1 = [sim.stats() for sim in sims]
        sim_cpu = (sum(sim.cpu_seconds() for sim in sims) - sim_cpu0) / runs
        found = rows(os.path.join(out, "findings.csv"))
        with open(os.path.join(out, "hosts.csv"), newline="") as f:
            entries = list(csv.DictReader(f))
        if own_pins:
            unpinned = [r for r in entries if "fingerprint mismatch" not in r.get("error", "")]
            if unpinned or len(entries) != hosts:
                raise SystemExit("own pins: %d of %d entries did not end in a pin mismatch, e.g. %s"
                                 % (len(unpinned), len(entries), unpinned[:1]))
        else:
            failed = [r for r in entries if r.get("status") not in ("ok", None)]
            if failed:
                raise SystemExit("%d entries failed, e.g. %s" % (len(failed), failed[0]))
    finally:
        for sim in sims:
            sim.stop()
    user = statistics.median(c[0] for c in cpu)
    system = statistics.median(c[1] for c in cpu)
    return dict(hosts=hosts, tls=bool(tls), wall=t, rss=rss, user=user, sys=system,
                per_host_ms=(user + system) * 1000.0 / hosts, sim_cpu=sim_cpu, found=found,
                mb=sum(b["bytes_out"] - a_["bytes_out"] for a_, b in zip(s0, s1)) / runs / 1e6,
                floor=math.ceil(hosts / conc) * 3 * lat / 1000.0)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--runs", type=int)
    ap.add_argument("--workdir", default=os.path.join(tempfile.gettempdir(), "xsa-bench"))
    ap.add_argument("--only", default="wide,deep,offline,scale", help="any of wide,deep,offline,scale,tls")
    ap.add_argument("--bin", help="run these binaries (a directory with xen-sr-audit, xapi-sim, gen-fleet) instead of building")
    ap.add_argument("--no-build", action="store_true", help="use target/release as it is")
    ap.add_argument("--tls-rows", default="http,https,xapi,own-pins",
                    help="the rows of --only tls to run: http, https (TLS 1.3), xapi (TLS 1.2 on secp384r1, the simulator's --tls-profile xapi), xapi2015 (RSA key exchange, --tls-profile xapi2015: not in the default set), own-pins (minutes with a build that makes a context per pin)")
    a = ap.parse_args()
    global BIN
    if a.bin:
        BIN = os.path.abspath(a.bin)
    runs = a.runs or (1 if a.quick else 3)
    only = set(a.only.split(","))
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # the simulator listens on one socket per host
    if not (a.bin or a.no_build):
        sh(["cargo", "build", "--release", "--quiet", "--bins"], cwd=ROOT)
    os.makedirs(a.workdir, exist_ok=True)
    cores = os.cpu_count()
    print("# xen-sr-audit benchmarks (%s, %d cores, medians of %d run(s))" % ("quick" if a.quick else "full", cores, runs))

    if "wide" in only:
        hosts, conc, lat = (400, 64, 20) if a.quick else (2000, 64, 20)
        inv = gen(os.path.join(a.workdir, "wide-%d" % hosts), "--pools", str(hosts), "--hosts", "1", "--instances", "30", "--seed", "1")
        sim = Sim(inv, a.workdir, lat, 60)
        try:
            half = head(sim.live, hosts // 2, os.path.join(a.workdir, "wide-half.csv"))
            out = os.path.join(a.workdir, "wide-out")
            s0, c0 = sim.stats(), sim.cpu_seconds()
            t_tool, rss_tool = median_runs(runs, lambda: scan(sim.live, out, conc))
            s1, c1 = sim.stats(), sim.cpu_seconds()
            t_half, _ = median_runs(runs, lambda: scan(half, out + "-half", conc))
            t_sdk, rss_sdk = median_runs(runs, lambda: sdk(sim.live, out + "-sdk.csv", conc))
            found, found_sdk = rows(os.path.join(out, "findings.csv")), rows(out + "-sdk.csv")
        finally:
            sim.stop()
        calls = (s1["calls"] - s0["calls"]) / (runs * hosts)
        mb = (s1["bytes_out"] - s0["bytes_out"]) / runs / 1e6
        # The floor: ceil(H/C) * k * r on the network, plus parsing every byte at the parse floor.
        floor = math.ceil(hosts / conc) * 3 * lat / 1000.0 + mb / PARSE_FLOOR_MBPS
        floor_half = math.ceil(hosts / 2 / conc) * 3 * lat / 1000.0 + mb / 2 / PARSE_FLOOR_MBPS
        sim_util = (c1 - c0) / (runs * t_tool)
        table("Wide: %d single-host pools, 30 instances each, %d ms per call, --concurrency %d" % (hosts, lat, conc),
              ["figure", "value", "floor", "ratio", "target"],
              [["xen-sr-audit wall (%.0f MB of answers)" % mb, "%.2f s" % t_tool, "%.2f s" % floor, "%.2fx floor" % (t_tool / floor), "<= 1.25x"],
               ["Python SDK wall (same concurrency)", "%.2f s" % t_sdk, "", "%.1fx slower" % (t_sdk / t_tool), ">= 2x"],
               ["round trips per host (tool)", "%.2f" % calls, "3", "", ""],
               ["half the hosts (%d)" % (hosts // 2), "%.2f s" % t_half, "%.2f s" % floor_half, "full/half = %.2f" % (t_tool / t_half), "2.0 +/- 10%"],
               ["peak RSS tool / SDK", "%.0f / %.0f MiB" % (rss_tool, rss_sdk), "", "", ""],
               ["simulator CPU during the tool's runs", "%.2f cores" % sim_util, "", "", "< 1 of %d" % cores],
               ["findings tool / SDK", "%d / %d" % (found, found_sdk), "", "", "equal"]])

    if "deep" in only:
        inst, lat = (1000, 20) if a.quick else (5000, 20)
        inv = gen(os.path.join(a.workdir, "deep-%d" % inst), "--pools", "1", "--hosts", "4", "--instances", str(inst), "--volumes", "3", "--seed", "2")
        sim = Sim(inv, a.workdir, lat, 61)
        try:
            out = os.path.join(a.workdir, "deep-out")
            s0 = sim.stats()

            def deep_run():
                wall, rss = scan(sim.live, out, 1)
                with open(os.path.join(out, "hosts.csv"), newline="") as f:
                    entry_ms = float(next(csv.DictReader(f))["duration_ms"])
                return wall, rss, entry_ms / 1000.0

            t_tool, rss_tool, t_entry = median_runs(runs, deep_run)
            s1 = sim.stats()
            t_sdk, rss_sdk = median_runs(runs, lambda: sdk(sim.live, out + "-sdk.csv", 1))
            found, found_sdk = rows(os.path.join(out, "findings.csv")), rows(out + "-sdk.csv")
            t_rec, _ = median_runs(runs, lambda: scan(sim.live, out + "-rec", 1, ["--fetch", "records"]))
        finally:
            sim.stop()
        body = (s1["bytes_out"] - s0["bytes_out"]) / runs
        mb = body / 1e6
        net = 3 * lat / 1000.0
        floor = net + mb / PARSE_FLOOR_MBPS
        client = mb / max(t_entry - net, 1e-6)
        whole = mb / max(t_tool - net, 1e-6)
        table("Deep: one pool, %d instances, %d volume attachments, %d ms per call" % (inst, found, lat),
              ["figure", "value", "floor", "ratio", "target"],
              [["xen-sr-audit wall (event.from, %.1f MB)" % mb, "%.2f s" % t_tool, "%.2f s" % floor, "%.2fx floor" % (t_tool / floor), ""],
               ["client fetch + parse + classify (the entry's time in hosts.csv, less 3 r)", "%.0f MB/s" % client, "%.0f MB/s" % PARSE_FLOOR_MBPS, "%.2f s" % t_entry, ">= 150 MB/s"],
               ["whole run, with process start and all reports (wall less 3 r)", "%.0f MB/s" % whole, "", "", ""],
               ["xen-sr-audit with --fetch records", "%.2f s" % t_rec, "", "%.2fx event.from" % (t_rec / t_tool), ""],
               ["Python SDK wall", "%.2f s" % t_sdk, "", "%.1fx slower" % (t_sdk / t_tool), ">= 5x"],
               ["peak RSS tool", "%.0f MiB" % rss_tool, "", "%.2fx the response" % (rss_tool / (body / 2**20)), "<= 2x"],
               ["peak RSS SDK", "%.0f MiB" % rss_sdk, "", "", ""],
               ["findings tool / SDK", "%d / %d" % (found, found_sdk), "", "", "equal"]])

    if "scale" in only:
        # Issue 14's configuration: many small single-host pools, 20 ms per call, --concurrency 256.
        sizes = [300, 1000] if a.quick else [1000, 3000, 10000]
        points = [scale_point(a, runs, hosts, 70 + 3 * i) for i, hosts in enumerate(sizes)]
        # Issue 25: the middle size again over HTTPS, every entry pinned.
        points.append(scale_point(a, runs, sizes[1], 79, tls=tls_cert(a.workdir)))
        table("Fleet scale: single-host pools, 3 instances each, %d ms per call, --concurrency %d" % (SCALE_LATENCY_MS, SCALE_CONCURRENCY),
              ["hosts", "wall", "network floor", "user + sys CPU", "CPU per host", "peak RSS",
               "simulator CPU (same cores)"],
              [["%d hosts%s (%.0f MB of answers, %d findings)" % (p["hosts"], ", https pinned" if p["tls"] else "", p["mb"], p["found"]),
                "%.2f s" % p["wall"], "%.2f s" % p["floor"], "%.2f + %.2f s" % (p["user"], p["sys"]),
                "%.2f ms" % p["per_host_ms"], "%.0f MiB" % p["rss"], "%.2f s" % p["sim_cpu"]] for p in points])

    if "tls" in only:
        # Issue 25's table: the same fleet over http and over https (every entry pinned), one session.
        hosts = 1000 if a.quick else 3000
        want = set(a.tls_rows.split(","))
        plain = scale_point(a, runs, hosts, 80) if "http" in want else None
        pinned = scale_point(a, runs, hosts, 83, tls=tls_cert(a.workdir)) if "https" in want else None
        xapi = scale_point(a, runs, hosts, 89, tls=tls_cert(a.workdir), tls_profile="xapi") if "xapi" in want else None
        xapi2015 = scale_point(a, runs, hosts, 92, tls=tls_cert(a.workdir), tls_profile="xapi2015") if "xapi2015" in want else None
        own = scale_point(a, runs, hosts, 86, tls=tls_cert(a.workdir), own_pins=True) if "own-pins" in want else None
        table("Transport: %d single-host pools, %d ms per call, --concurrency %d (%s)" % (hosts, SCALE_LATENCY_MS, SCALE_CONCURRENCY, BIN),
              ["transport", "wall", "tool CPU (user + sys)", "per host", "simulator CPU"],
              [[name, "%.2f s" % p["wall"], "%.2f + %.2f s" % (p["user"], p["sys"]), "%.2f ms" % p["per_host_ms"], "%.2f s" % p["sim_cpu"]]
               for name, p in (("http", plain), ("https, pinned, TLS 1.3", pinned),
                               ("https, pinned, as XAPI (TLS 1.2, secp384r1)", xapi),
                               ("https, pinned, as XAPI 2015-2018 (TLS 1.2, RSA key exchange)", xapi2015),
                               ("https, each host pinned to its own certificate (every pin mismatches)", own))
               if p])
        for name, p in (("TLS 1.3", pinned), ("as XAPI", xapi), ("as XAPI 2015-2018", xapi2015)):
            if plain and p:
                print("\n%s: %+.2f ms of tool CPU per host over http's, wall %.2fx http's; findings %d / %d"
                      % (name, p["per_host_ms"] - plain["per_host_ms"], p["wall"] / plain["wall"], plain["found"], p["found"]))

    if "offline" in only:
        inst = 2000 if a.quick else 10000
        pad = 6000
        big = gen(os.path.join(a.workdir, "offline-big-%d-pad%d" % (inst, pad)), "--pools", "1", "--hosts", "4", "--instances", str(inst), "--vm-padding", str(pad), "--seed", "3")
        lean = gen(os.path.join(a.workdir, "offline-lean-%d" % inst), "--pools", "1", "--hosts", "4", "--instances", str(inst), "--seed", "3")
        size_big = sum(os.path.getsize(os.path.join(os.path.dirname(big), "dumps", f)) for f in os.listdir(os.path.join(os.path.dirname(big), "dumps")))
        size_lean = sum(os.path.getsize(os.path.join(os.path.dirname(lean), "dumps", f)) for f in os.listdir(os.path.join(os.path.dirname(lean), "dumps")))
        t_big, rss_big = median_runs(runs, lambda: scan(big, os.path.join(a.workdir, "off-big"), 1))
        big_dump = os.path.join(os.path.dirname(big), "dumps", os.listdir(os.path.join(os.path.dirname(big), "dumps"))[0])
        t_read, rss_read = median_runs(runs, lambda: measure([os.path.join(BIN, "xen-sr-audit"), "inspect-dump", big_dump])[:2])
        t_lean, rss_lean = median_runs(runs, lambda: scan(lean, os.path.join(a.workdir, "off-lean"), 1))
        pools = 60 if a.quick else 300
        fleet = gen(os.path.join(a.workdir, "offline-fleet-%d" % pools), "--pools", str(pools), "--hosts", "3", "--instances", "15", "--scenarios", "--seed", "4")
        dd = os.path.join(os.path.dirname(fleet), "dumps")
        size_fleet = sum(os.path.getsize(os.path.join(dd, f)) for f in os.listdir(dd))
        t_f1, _ = median_runs(runs, lambda: scan(fleet, os.path.join(a.workdir, "off-f1"), 1))
        t_f2, rss_f2 = median_runs(runs, lambda: scan(fleet, os.path.join(a.workdir, "off-f2"), cores))
        table("Offline dumps", ["figure", "value", "floor", "ratio", "target"],
              [["one %.0f MB dump: the dump reader (inspect-dump, one core)" % (size_big / 1e6), "%.0f MB/s" % (size_big / 1e6 / t_read), "%.0f MB/s" % PARSE_FLOOR_MBPS, "%.2f s, %.0f MiB" % (t_read, rss_read), ">= 200 MB/s per core"],
               ["same dump (%d instances, padded), whole scan and reports" % inst, "%.0f MB/s" % (size_big / 1e6 / t_big), "", "%.2f s" % t_big, ""],
               ["same records, %.0f MB dump without padding" % (size_lean / 1e6), "%.0f MB/s" % (size_lean / 1e6 / t_lean), "", "%.2f s" % t_lean, ""],
               ["peak RSS padded / lean", "%.0f / %.0f MiB" % (rss_big, rss_lean), "", "%.2fx" % (rss_big / rss_lean), "independent of dump size"],
               ["%d demo-sized pools (%.0f MB), 1 worker" % (pools, size_fleet / 1e6), "%.0f MB/s" % (size_fleet / 1e6 / t_f1), "", "%.2f s" % t_f1, ""],
               ["same, %d workers" % cores, "%.0f MB/s" % (size_fleet / 1e6 / t_f2), "", "%.2fx speed-up" % (t_f1 / t_f2), ""],
               ["peak RSS, fleet with %d workers" % cores, "%.0f MiB" % rss_f2, "", "", ""]])


if __name__ == "__main__":
    main()
