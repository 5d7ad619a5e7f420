#!/usr/bin/python3
"""Compares two schemad builds on the paths with floor targets, interleaved on one machine.

  bench/compare_builds.py OLD_BIN_DIR NEW_BIN_DIR [rounds]

For each build, alternately: warm docbot Status and Diff (loadgen, 1 client,
2 s each), a 1,000-table Diff (the synthetic registry, in sync) and a
fresh docbot Initialize on an empty database (loadgen, 1 request), against the
floors scripts/bench uses (the catalog queries via pgbench -M prepared; the same
DDL via pgbench -t 1). Prints medians of the rounds. Used to check that a change
keeps Initialize within 1.3x and Status within 1.5x of their floors.
"""
import os
import shutil
import re
import statistics
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run_bench as rb  # noqa: E402
import synthetic  # noqa: E402,F401


def main():
    old_bin, new_bin = sys.argv[1], sys.argv[2]
    rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 5
    rb.WORK = tempfile.mkdtemp(prefix="schemad-compare.")
    os.chmod(rb.WORK, 0o711)
    pgdir = os.path.join(rb.WORK, "pg")
    port = rb.run([os.path.join(rb.ROOT, "scripts", "pg-cluster"), "start", pgdir]).stdout.strip()
    base = f"postgresql://postgres:{rb.PASSWORD}@127.0.0.1:{port}"
    admin = f"{base}/postgres"
    env = dict(os.environ, PGPASSWORD=rb.PASSWORD)
    out = {}
    try:
        servers = {}
        for name, bin_dir in (("old", old_bin), ("new", new_bin)):
            rb.BIN = bin_dir
            for kind in ("warm", "fresh"):
                db = f"{name}_{kind}"
                rb.psql(admin, f"CREATE DATABASE {db}")
                servers[(name, kind)] = (rb.Schemad(f"{base}/{db}"), f"{base}/{db}", bin_dir)
            warm_server, _, _ = servers[(name, "warm")]
            rb.run([os.path.join(bin_dir, "schemactl"), "--server", warm_server.addr, "initialize"])
            # 1,000 tables, in sync.
            import synthetic
            reg = os.path.join(rb.WORK, "registry-1000")
            if not os.path.isdir(reg):
                synthetic.write_registry(1000, reg)
            db = f"{name}_scale"
            rb.psql(admin, f"CREATE DATABASE {db}")
            scale = rb.Schemad(f"{base}/{db}", registry=reg)
            rb.run([os.path.join(bin_dir, "schemactl"), "--server", scale.addr, "--timeout", "10m",
                    "initialize"])
            servers[(name, "scale")] = (scale, f"{base}/{db}", bin_dir)
        # The DDL floor, from the new build's plan.
        fresh_new, fresh_url, _ = servers[("new", "fresh")]
        ddl = rb.run([os.path.join(new_bin, "schemactl"), "--server", fresh_new.addr, "diff",
                      "--sql"]).stdout
        ddl_path = os.path.join(rb.WORK, "docbot.sql")
        with open(ddl_path, "w") as f:
            f.write(ddl)
        rb.BIN = new_bin
        status_floor = rb.pgbench_catalog(servers[("new", "warm")][1])["p50_ms"]
        for r in range(rounds):
            for name in ("old", "new"):
                rb.BIN = servers[(name, "warm")][2]
                out.setdefault((name, "status"), []).append(
                    rb.loadgen(servers[(name, "warm")][0].addr, "Status", 1, 2.0)["p50_ms"])
                out.setdefault((name, "diff"), []).append(
                    rb.loadgen(servers[(name, "warm")][0].addr, "Diff", 1, 2.0)["p50_ms"])
                out.setdefault((name, "diff1000"), []).append(
                    rb.loadgen(servers[(name, "scale")][0].addr, "Diff", 1, 3.0,
                               deadline=600)["p50_ms"])
                server, url, _ = servers[(name, "fresh")]
                for _ in range(3):
                    rb.reset_schema(url)
                    out.setdefault((name, "fresh"), []).append(
                        rb.loadgen(server.addr, "Initialize", requests=1)["p50_ms"])
            m = re.match(r"postgresql://postgres:[^@]+@127\.0\.0\.1:(\d+)/(\w+)", fresh_url)
            for _ in range(3):
                rb.reset_schema(fresh_url)
                res = rb.run(["pgbench", "-n", "-h", "127.0.0.1", "-p", m.group(1), "-U", "postgres",
                              "-f", ddl_path, "-t", "1", m.group(2)], env=env)
                out.setdefault(("floor", "fresh"), []).append(
                    float(re.search(r"latency average = ([\d.]+) ms", res.stdout).group(1)))
        floor_fresh = statistics.median(out[("floor", "fresh")])
        print(f"Status floor (pgbench -M prepared catalog queries): {status_floor:.2f} ms")
        print(f"fresh Initialize floor (same DDL, pgbench -t 1): {floor_fresh:.2f} ms")
        for name in ("old", "new"):
            st = statistics.median(out[(name, "status")])
            fr = statistics.median(out[(name, "fresh")])
            df = statistics.median(out[(name, "diff")])
            dk = statistics.median(out[(name, "diff1000")])
            print(f"{name}: Status {st:.2f} ms ({st / status_floor:.2f}x floor), "
                  f"fresh Initialize {fr:.2f} ms ({fr / floor_fresh:.2f}x floor), "
                  f"docbot Diff {df:.2f} ms, 1,000-table Diff {dk:.1f} ms "
                  f"[{len(out[(name, 'status')])} / {len(out[(name, 'fresh')])} samples]")
    finally:
        for p in rb.children:
            if p.poll() is None:
                p.kill()
        rb.run([os.path.join(rb.ROOT, "scripts", "pg-cluster"), "stop", pgdir, "immediate"],
               check=False)
        shutil.rmtree(rb.WORK, ignore_errors=True)


if __name__ == "__main__":
    main()
