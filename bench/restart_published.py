#!/usr/bin/python3
"""Registry versions at scale: publishing an N-table registry, and the first
Status against it after schemad restarts, with its canonical model kept in
schemad.canonical and (for comparison) without it.

  bench/restart_published.py BIN_DIR [N ...]      (default N: 1000 5000)

Per N: `schemactl publish` (validate, canonicalize, store), then three
restarts of schemad, each followed by the first `schemactl status
--registry-version` (the model read back from schemad.canonical), then the
same after `DELETE FROM schemad.canonical` (canonicalized again), and
schemad's peak RSS. Prints rows for docs/benchmarks.md.
"""
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run_bench as rb  # noqa: E402
import synthetic  # noqa: E402


def ctl(addr, *args, expect=(0, 3)):
    t = time.perf_counter()
    r = rb.run([os.path.join(rb.BIN, "schemactl"), "--server", addr, "--timeout", "30m", *args],
               check=False, timeout=3600)
    ms = (time.perf_counter() - t) * 1000
    if r.returncode not in expect:
        raise RuntimeError(f"schemactl {args} exited {r.returncode}: {r.stdout} {r.stderr}")
    return ms


def first_status(url, addr_label):
    server = rb.Schemad(url)
    try:
        ms = ctl(server.addr, "status", "--registry-version", addr_label)
        rss = server.rss_kb("VmHWM") / 1024
    finally:
        server.stop()
    return ms, rss


def main():
    rb.BIN = sys.argv[1]
    sizes = [int(a) for a in sys.argv[2:]] or [1000, 5000]
    pgdir, base, admin = rb.start_cluster("schemad-restart.")
    try:
        for n in sizes:
            reg = os.path.join(rb.WORK, f"registry-{n}")
            synthetic.write_registry(n, reg)
            dbname = f"restart_{n}"
            rb.psql(admin, f"CREATE DATABASE {dbname}")
            url = f"{base}/{dbname}"
            server = rb.Schemad(url)
            publish = ctl(server.addr, "publish", reg, "--label", f"v{n}", expect=(0,))
            server.stop()
            stored = rb.psql(url, "SELECT pg_size_pretty(sum(length(model))) FROM schemad.canonical")
            warm = [first_status(url, f"v{n}") for _ in range(3)]
            rb.psql(url, "DELETE FROM schemad.canonical")
            cold, cold_rss = first_status(url, f"v{n}")
            warm_ms = statistics.median(w[0] for w in warm)
            print(f"{n} tables: publish {publish / 1000:.1f} s; first Status after a restart "
                  f"{warm_ms:.0f} ms with the stored canonical model ({stored}), "
                  f"{cold / 1000:.1f} s canonicalizing again; peak RSS "
                  f"{max(w[1] for w in warm):.0f} MB / {cold_rss:.0f} MB", flush=True)
            rb.psql(admin, f"DROP DATABASE {dbname}")
    finally:
        rb.stop_all(pgdir)


if __name__ == "__main__":
    main()
