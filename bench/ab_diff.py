#!/usr/bin/python3
"""Interleaved A/B of two schemad builds on the Diff path: both serve the same
databases (a 1,000-table synthetic registry, and docbot), loadgen Diff with
one client, four alternating rounds; prints the medians and the rounds.

  bench/ab_diff.py OLD_BIN_DIR NEW_BIN_DIR
"""
import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run_bench as rb  # noqa: E402
import synthetic  # noqa: E402

OLD, NEW = sys.argv[1], sys.argv[2]
pgdir, base, admin = rb.start_cluster("probe.")
res = {"new": [], "old": []}
dres = {"new": [], "old": []}
try:
    reg = os.path.join(rb.WORK, "reg"); synthetic.write_registry(1000, reg)
    rb.psql(admin, "CREATE DATABASE d1000")
    url = f"{base}/d1000"
    servers = {}
    for name, bindir in (("new", NEW), ("old", OLD)):
        rb.BIN = bindir
        servers[name] = rb.Schemad(url, registry=reg)
    rb.loadgen(servers["old"].addr, "Initialize", requests=1, deadline=900)
    rb.BIN = NEW
    rb.loadgen(servers["new"].addr, "Initialize", requests=1, deadline=900)
    for r in range(4):
        for name in ("new", "old") if r % 2 == 0 else ("old", "new"):
            rb.BIN = NEW
            res[name].append(rb.loadgen(servers[name].addr, "Diff", 1, 3.0)["p50_ms"])
    print({k: (round(statistics.median(v), 1), [round(x) for x in v]) for k, v in res.items()})
    rb.psql(admin, "CREATE DATABASE docbot")
    url = f"{base}/docbot"
    ds = {}
    for name, bindir in (("new", NEW), ("old", OLD)):
        rb.BIN = bindir
        ds[name] = rb.Schemad(url)
        rb.loadgen(ds[name].addr, "Initialize", requests=1, deadline=900)
    for r in range(4):
        for name in ("new", "old") if r % 2 == 0 else ("old", "new"):
            dres[name].append(rb.loadgen(ds[name].addr, "Diff", 1, 2.0)["p50_ms"])
    print({k: (round(statistics.median(v), 2), [round(x, 2) for x in v]) for k, v in dres.items()})
finally:
    rb.stop_all(pgdir)
