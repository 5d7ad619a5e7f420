#!/usr/bin/python3
"""Interleaved A/B of two schemad builds on a fresh docbot Initialize: each
build serves its own database; the schema is reset before every call;
alternating rounds; prints the medians and the rounds.

  bench/ab_fresh.py OLD_BIN_DIR NEW_BIN_DIR [rounds]
"""
import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run_bench as rb  # noqa: E402

OLD, NEW = sys.argv[1], sys.argv[2]
ROUNDS = int(sys.argv[3]) if len(sys.argv) > 3 else 12
pgdir, base, admin = rb.start_cluster("probe.")
res = {"new": [], "old": []}
try:
    servers = {}
    for name, bindir in (("new", NEW), ("old", OLD)):
        rb.psql(admin, f"CREATE DATABASE fresh_{name}")
        rb.BIN = bindir
        servers[name] = (rb.Schemad(f"{base}/fresh_{name}"), f"{base}/fresh_{name}")
        rb.loadgen(servers[name][0].addr, "Initialize", requests=1)  # warm-up
    for r in range(ROUNDS):
        for name in ("new", "old") if r % 2 == 0 else ("old", "new"):
            server, url = servers[name]
            rb.BIN = NEW
            rb.reset_schema(url)
            res[name].append(rb.loadgen(server.addr, "Initialize", requests=1)["p50_ms"])
    print({k: (round(statistics.median(v), 1), [round(x) for x in v]) for k, v in res.items()})
finally:
    rb.stop_all(pgdir)
