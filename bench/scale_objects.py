#!/usr/bin/python3
"""Scale with views, functions and triggers: N synthetic tables (bench/synthetic.py),
each also with a view, a trigger function and a trigger.

  bench/scale_objects.py BIN_DIR [N ...]      (default N: 1000)

Prints, per N: first Initialize (canonicalizing included), Diff and Status
p50/p99 in sync, statements per Diff (pg_stat_statements) and schemad's peak
RSS, as rows of docs/benchmarks.md's scale table.
"""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run_bench as rb  # noqa: E402
import synthetic  # noqa: E402


def main():
    rb.BIN = sys.argv[1]
    sizes = [int(a) for a in sys.argv[2:]] or [1000]
    pgdir, base, admin = rb.start_cluster("schemad-objects.",
                                          "shared_preload_libraries=pg_stat_statements",
                                          "pg_stat_statements.track=all")
    try:
        rb.psql(admin, "CREATE EXTENSION pg_stat_statements")
        for n in sizes:
            reg = os.path.join(rb.WORK, f"registry-{n}")
            synthetic.write_registry(n, reg, objects=True)
            dbname = f"objects_{n}"
            rb.psql(admin, f"CREATE DATABASE {dbname}")
            url = f"{base}/{dbname}"
            server = rb.Schemad(url, registry=reg)
            t = time.perf_counter()
            init = rb.loadgen(server.addr, "Initialize", requests=1, deadline=1800)
            first = (time.perf_counter() - t) * 1000
            if init["errors"]:
                raise RuntimeError(f"Initialize failed: {init}")
            diff = rb.loadgen(server.addr, "Diff", 1, 3.0)
            status = rb.loadgen(server.addr, "Status", 1, 3.0)
            stmts = rb.statements(url, admin, dbname,
                                  lambda: rb.loadgen(server.addr, "Diff", requests=1))
            print(f"{n} tables (+{n} views, functions, triggers): first Initialize "
                  f"{first / 1000:.1f} s; Diff {diff['p50_ms']:.1f} / {diff['p99_ms']:.1f} ms; "
                  f"Status {status['p50_ms']:.1f} ms; {stmts} statements per Diff; "
                  f"peak RSS {server.rss_kb('VmHWM') / 1024:.0f} MB", flush=True)
            server.stop()
            rb.psql(admin, f"DROP DATABASE {dbname}")
    finally:
        rb.stop_all(pgdir)


if __name__ == "__main__":
    main()
