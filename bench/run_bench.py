#!/usr/bin/python3
"""scripts/bench: every number of docs/benchmarks.md, side by side in one run.

Starts its own PostgreSQL 15 (max_locks_per_transaction=1024,
pg_stat_statements loaded), schemad processes on loopback, and the Python
comparisons (SQLAlchemy create_all, Alembic compare_metadata), then prints
one table of medians, p99 and ratios against the targets, and writes the raw
results to bench/results/latest.json.

  scripts/bench [--quick]     --quick: fewer repetitions, scales 100 and 1000 only
"""
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.environ.get("SCHEMAD_BIN_DIR", os.path.join(ROOT, "build", "bin"))
PY = "/usr/bin/python3"
PGBIN = "/usr/lib/postgresql/15/bin"
PASSWORD = "schemad-test-secret"
QUICK = "--quick" in sys.argv

results = {"machine": {}, "rows": []}
children = []


def run(cmd, check=True, capture=True, env=None, timeout=3600):
    r = subprocess.run(cmd, capture_output=capture, text=True, env=env, timeout=timeout)
    if check and r.returncode != 0:
        raise RuntimeError(f"{cmd} exited {r.returncode}: {r.stdout}\n{r.stderr}")
    return r


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def timeit(cmd, n, expect=(0,)):
    times = []
    for _ in range(n):
        t = time.perf_counter()
        r = subprocess.run(cmd, capture_output=True, text=True)
        times.append((time.perf_counter() - t) * 1000)
        if r.returncode not in expect:
            raise RuntimeError(f"{cmd} exited {r.returncode}: {r.stdout} {r.stderr}")
    return {"p50_ms": statistics.median(times), "p99_ms": pct(times, 0.99), "n": n}


def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(p * (len(values) - 1) + 0.5))]


def psql(url, sql):
    return run(["psql", "-qAtX", "-v", "ON_ERROR_STOP=1", url, "-c", sql]).stdout.strip()


class Schemad:
    def __init__(self, url, registry=None, max_connections=8):
        self.port = free_port()
        self.addr = f"127.0.0.1:{self.port}"
        self.log = open(os.path.join(WORK, f"schemad-{self.port}.log"), "w")
        cmd = [os.path.join(BIN, "schemad"), "serve", "--listen", self.addr, "--database-url", url,
               "--max-connections", str(max_connections), "--statement-timeout", "30m",
               "--lock-timeout", "60s"]
        if registry:
            cmd += ["--registry", registry]
        self.proc = subprocess.Popen(cmd, stderr=self.log, stdout=subprocess.DEVNULL)
        children.append(self.proc)
        for _ in range(200):
            if run([os.path.join(BIN, "schemactl"), "--server", self.addr, "health", "--service", ""],
                   check=False).returncode == 0:
                break
            time.sleep(0.05)
        else:
            raise RuntimeError("schemad did not start")

    def rss_kb(self, field="VmRSS"):
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
        return 0

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=60)


def start_cluster(prefix, *settings):
    """A throwaway cluster in a fresh rb.WORK: returns (pgdir, base URL, admin URL)."""
    global WORK
    WORK = tempfile.mkdtemp(prefix=prefix)
    os.chmod(WORK, 0o711)
    pgdir = os.path.join(WORK, "pg")
    args = ["-c", "max_locks_per_transaction=1024"]
    for setting in settings:
        args += ["-c", setting]
    port = run([os.path.join(ROOT, "scripts", "pg-cluster"), "start", pgdir, *args],
               env=dict(os.environ, SCHEMAD_TEST_MAX_LOCKS="1024")).stdout.strip()
    base = f"postgresql://postgres:{PASSWORD}@127.0.0.1:{port}"
    return pgdir, base, f"{base}/postgres"


def stop_all(pgdir):
    """Kills the schemad children and stops the cluster."""
    for p in children:
        if p.poll() is None:
            p.kill()
    run([os.path.join(ROOT, "scripts", "pg-cluster"), "stop", pgdir, "immediate"], check=False)


def loadgen(addr, method, concurrency=1, seconds=3.0, requests=0, deadline=600):
    cmd = [os.path.join(BIN, "schemad_loadgen"), "--server", addr, "--method", method,
           "--concurrency", str(concurrency), "--seconds", str(seconds), "--deadline", str(deadline)]
    if requests:
        cmd += ["--requests", str(requests)]
    return json.loads(run(cmd, timeout=deadline + 60).stdout)


def row(section, name, value, unit="ms", p99=None, baseline=None, baseline_name="", target=None,
        higher_is_better=False):
    """A result row; `target` is (kind, number): ('ratio>=', 20), ('<', 100), ('ratio<=', 1.5)."""
    r = {"section": section, "name": name, "value": value, "unit": unit, "p99": p99,
         "baseline": baseline, "baseline_name": baseline_name}
    if baseline:
        r["ratio"] = baseline / value if value else None
    if target:
        kind, number = target
        r["target"] = f"{kind} {number}"
        if kind == "ratio>=":
            r["met"] = r.get("ratio") is not None and r["ratio"] >= number
        elif kind == "ratio<=":  # value within number x baseline
            r["ratio"] = value / baseline if baseline else None
            r["met"] = r["ratio"] is not None and r["ratio"] <= number
        elif kind == "<":
            r["met"] = value < number
        elif kind == "==":
            r["met"] = value == number
    results["rows"].append(r)
    print_row(r)


def print_row(r):
    def f(v):
        if v is None:
            return "-"
        return f"{v:.3g}" if isinstance(v, float) else str(v)
    ratio = r.get("ratio")
    met = r.get("met")
    mark = "" if met is None else ("  MET" if met else "  MISSED")
    print(f"  {r['name']:<58} {f(r['value']):>9} {r['unit']:<4} p99 {f(r['p99']):>8}"
          + (f" | {r['baseline_name']}: {f(r['baseline'])} ratio {f(ratio)}" if r["baseline"] else "")
          + (f" | target {r['target']}{mark}" if r.get("target") else ""), flush=True)


def statements(db_url, admin_url, dbname, fn):
    psql(admin_url, "SELECT pg_stat_statements_reset()")
    fn()
    return int(psql(admin_url, "SELECT COALESCE(sum(calls), 0) FROM pg_stat_statements s "
                               f"JOIN pg_database d ON d.oid = s.dbid WHERE d.datname = '{dbname}'"))


def main():
    global WORK
    WORK = tempfile.mkdtemp(prefix="schemad-bench.")
    os.chmod(WORK, 0o711)
    pgdir = os.path.join(WORK, "pg")
    port = run([os.path.join(ROOT, "scripts", "pg-cluster"), "start", pgdir,
                "-c", "max_locks_per_transaction=1024",
                "-c", "shared_preload_libraries=pg_stat_statements",
                "-c", "pg_stat_statements.track=all"],
               env=dict(os.environ, SCHEMAD_TEST_MAX_LOCKS="1024")).stdout.strip()
    base = f"postgresql://postgres:{PASSWORD}@127.0.0.1:{port}"
    admin = f"{base}/postgres"
    psql(admin, "CREATE EXTENSION pg_stat_statements")
    results["machine"] = {
        "cpu": open("/proc/cpuinfo").read().split("model name")[1].split("\n")[0].strip(": "),
        "cores": os.cpu_count(),
        "postgres": psql(admin, "SHOW server_version"),
        "quick": QUICK,
    }
    print(f"machine: {results['machine']}")
    try:
        bench_docbot(base, admin)
        bench_fresh(base, admin)
        bench_scale(base, admin)
    finally:
        for p in children:
            if p.poll() is None:
                p.kill()
        run([os.path.join(ROOT, "scripts", "pg-cluster"), "stop", pgdir, "immediate"], check=False)
        os.makedirs(os.path.join(ROOT, "bench", "results"), exist_ok=True)
        with open(os.path.join(ROOT, "bench", "results", "latest.json"), "w") as f:
            json.dump(results, f, indent=1)
        shutil.rmtree(WORK, ignore_errors=True)
    met = [r for r in results["rows"] if r.get("met") is not None]
    print(f"\ntargets: {sum(r['met'] for r in met)} met, {sum(not r['met'] for r in met)} missed")


def bench_docbot(base, admin):
    psql(admin, "CREATE DATABASE docbot")
    url = f"{base}/docbot"
    server = Schemad(url)
    results["idle_rss_kb_fresh"] = server.rss_kb()
    ctl = [os.path.join(BIN, "schemactl"), "--server", server.addr]
    run(ctl + ["initialize"])
    n_cold = 10 if QUICK else 30
    print("\n== start-up path, whole processes (docbot, in sync) ==")
    t_init = timeit(ctl + ["initialize"], n_cold)
    t_create_all = timeit([PY, os.path.join(ROOT, "bench", "py_bench.py"), "create_all", url, "docbot"],
                          max(5, n_cold // 3))
    row("startup", "schemactl initialize (no-op) vs python create_all", t_init["p50_ms"],
        p99=t_init["p99_ms"], baseline=t_create_all["p50_ms"], baseline_name="create_all process",
        target=("ratio>=", 20))
    t_status = timeit(ctl + ["status", "--check"], n_cold)
    t_compare = timeit([PY, os.path.join(ROOT, "bench", "py_bench.py"), "compare", url, "docbot"],
                       max(5, n_cold // 3))
    row("startup", "schemactl status --check vs python alembic compare", t_status["p50_ms"],
        p99=t_status["p99_ms"], baseline=t_compare["p50_ms"], baseline_name="compare process",
        target=("ratio>=", 30))

    print("\n== warm, in process (docbot over gRPC on loopback) ==")
    secs = 2.0 if QUICK else 4.0
    warm = {}
    for method in ("Status", "Diff", "Initialize"):
        for c in (1, 8, 32):
            r = loadgen(server.addr, method, c, secs)
            warm[(method, c)] = r
            row("warm", f"{method} at {c} concurrent clients (rps {r['rps']:.0f}, errors {r['errors']})",
                r["p50_ms"], p99=r["p99_ms"],
                target=("==", 0) if c == 32 else None) if False else row(
                "warm", f"{method} c={c}: rps {r['rps']:.0f}, errors {r['errors']}", r["p50_ms"],
                p99=r["p99_ms"])
        if warm[(method, 32)]["errors"] != 0:
            row("warm", f"{method}: 32 concurrent clients without an error", warm[(method, 32)]["errors"],
                unit="errs", target=("==", 0))
    errors32 = sum(warm[(m, 32)]["errors"] for m in ("Status", "Diff", "Initialize"))
    row("warm", "errors at 32 concurrent clients (all three RPCs)", errors32, unit="errs",
        target=("==", 0))
    py = json.loads(run([PY, os.path.join(ROOT, "bench", "py_bench.py"), "warm", url, "docbot",
                         "20" if QUICK else "50"]).stdout)
    row("warm", "Diff vs warm alembic compare_metadata", warm[("Diff", 1)]["p50_ms"],
        p99=warm[("Diff", 1)]["p99_ms"], baseline=py["compare_metadata"]["p50_ms"],
        baseline_name="compare_metadata", target=("ratio>=", 20))
    row("warm", "no-op Initialize vs warm create_all no-op", warm[("Initialize", 1)]["p50_ms"],
        p99=warm[("Initialize", 1)]["p99_ms"], baseline=py["create_all_noop"]["p50_ms"],
        baseline_name="create_all no-op")
    floor = pgbench_catalog(url)
    row("warm", "Status vs raw introspection queries (pgbench -M prepared)", warm[("Status", 1)]["p50_ms"],
        p99=warm[("Status", 1)]["p99_ms"], baseline=floor["p50_ms"], baseline_name="pgbench",
        target=("ratio<=", 1.5))
    n = statements(url, admin, "docbot", lambda: loadgen(server.addr, "Diff", requests=1))
    row("warm", "statements sent to PostgreSQL per Diff (docbot)", n, unit="stmt")
    results["idle_rss_kb_after_load"] = server.rss_kb()
    row("memory", "schemad RSS after start (docbot)", results["idle_rss_kb_fresh"] / 1024, unit="MB",
        target=("<", 20))
    row("memory", "schemad RSS after the warm load above", server.rss_kb() / 1024, unit="MB")
    server.stop()


def pgbench_catalog(url):
    # The raw introspection queries schemad runs, with the schema inlined.
    sys.path.insert(0, os.path.join(ROOT, "bench"))
    text = open(os.path.join(ROOT, "src", "catalog", "queries.h")).read()
    queries = re.findall(r'inline constexpr char k(\w+)\[\] =\s*(?:R"sql\((.*?)\)sql"|"(.*?)");',
                         text, re.S)
    sql = []
    inlined = []
    for name, raw, plain in queries:
        # Not part of a schema read: canonicalization's, and the planner's
        # check of what depends on a drop.
        if name in ("VolatileFunctions", "Dependents", "FunctionsByOid", "FunctionDependents"):
            continue
        q = (raw or plain).replace("$1::text", "'public'::text").replace("$1", "'public'")
        inlined.append(" ".join(q.split()))
    # $2: the deparse keys a warm schemad passes (see queries.h), so that the
    # floor skips deparsing exactly as schemad does. The key is each query's
    # last column; collect them with a cold run first.
    keys = []
    for q in inlined:
        if "$2" not in q:
            continue
        cold = q.replace("$2::pg_catalog.text[]", "'{}'::pg_catalog.text[]")
        out = run(["psql", "-qAtX", "-F", "\x1f", url, "-c", cold]).stdout
        keys += [line.split("\x1f")[-1] for line in out.splitlines() if line.split("\x1f")[-1]]
    known = "'{" + ",".join(keys) + "}'::pg_catalog.text[]"
    for q in inlined:
        sql.append(q.replace("$2::pg_catalog.text[]", known) + ";")
    path = os.path.join(WORK, "catalog.sql")
    with open(path, "w") as f:
        f.write("\n".join(sql) + "\n")
    logdir = os.path.join(WORK, "pgbench")
    os.makedirs(logdir, exist_ok=True)
    # jit off, as schemad runs its catalog reads.
    env = dict(os.environ, PGPASSWORD=PASSWORD, PGOPTIONS="-c jit=off")
    m = re.match(r"postgresql://postgres:[^@]+@127\.0\.0\.1:(\d+)/(\w+)", url)
    # Prepared, as schemad prepares them once per connection.
    run(["pgbench", "-n", "-M", "prepared", "-h", "127.0.0.1", "-p", m.group(1), "-U", "postgres",
         "-f", path, "-c", "1",
         "-T", "3" if QUICK else "5", "-l", "--log-prefix", os.path.join(logdir, "log"), m.group(2)],
        env=env)
    lat = []
    for fn in os.listdir(logdir):
        for line in open(os.path.join(logdir, fn)):
            lat.append(int(line.split()[2]) / 1000.0)
    shutil.rmtree(logdir)
    return {"p50_ms": statistics.median(lat), "p99_ms": pct(lat, 0.99)}


def reset_schema(url):
    psql(url, "DROP SCHEMA IF EXISTS public CASCADE; DROP SCHEMA IF EXISTS schemad CASCADE; "
              "CREATE SCHEMA public")


def bench_fresh(base, admin):
    print("\n== fresh Initialize of docbot on an empty database ==")
    psql(admin, "CREATE DATABASE fresh")
    url = f"{base}/fresh"
    server = Schemad(url)
    ctl = [os.path.join(BIN, "schemactl"), "--server", server.addr]
    ddl = run(ctl + ["diff", "--sql"]).stdout
    ddl_path = os.path.join(WORK, "docbot.sql")
    with open(ddl_path, "w") as f:
        f.write(ddl)
    n = 10 if QUICK else 25
    ours, floor, floor_proc, sa = [], [], [], []
    m = re.match(r"postgresql://postgres:[^@]+@127\.0\.0\.1:(\d+)/(\w+)", url)
    env = dict(os.environ, PGPASSWORD=PASSWORD)
    for _ in range(n):
        reset_schema(url)
        ours.append(loadgen(server.addr, "Initialize", requests=1)["p50_ms"])
        reset_schema(url)
        r = run(["pgbench", "-n", "-h", "127.0.0.1", "-p", m.group(1), "-U", "postgres", "-f",
                 ddl_path, "-t", "1", m.group(2)], env=env)
        floor.append(float(re.search(r"latency average = ([\d.]+) ms", r.stdout).group(1)))
        reset_schema(url)
        t = time.perf_counter()
        run(["psql", "-qX", "-v", "ON_ERROR_STOP=1", "-1", "-f", ddl_path, url])
        floor_proc.append((time.perf_counter() - t) * 1000)
        reset_schema(url)
        sa.append(json.loads(run([PY, os.path.join(ROOT, "bench", "py_bench.py"), "fresh", url,
                                  "docbot"]).stdout)["create_all_fresh_ms"])
    row("fresh", "Initialize (docbot, empty db) vs same DDL in one transaction",
        statistics.median(ours), p99=pct(ours, 0.99), baseline=statistics.median(floor),
        baseline_name="pgbench floor", target=("ratio<=", 1.3))
    row("fresh", "  psql -1 -f of the same DDL, whole process", statistics.median(floor_proc),
        p99=pct(floor_proc, 0.99))
    row("fresh", "Initialize vs create_all on an empty database", statistics.median(ours),
        p99=pct(ours, 0.99), baseline=statistics.median(sa), baseline_name="create_all (in process)")
    server.stop()


def bench_scale(base, admin):
    sys.path.insert(0, os.path.join(ROOT, "bench"))
    import synthetic
    scales = (100, 1000) if QUICK else (100, 1000, 5000)
    for n in scales:
        print(f"\n== scale: {n} tables ==")
        reg = os.path.join(WORK, f"registry-{n}")
        synthetic.write_registry(n, reg)
        dbname = f"scale_{n}"
        psql(admin, f"CREATE DATABASE {dbname}")
        url = f"{base}/{dbname}"
        server = Schemad(url, registry=reg)
        t = time.perf_counter()
        init = loadgen(server.addr, "Initialize", requests=1, deadline=1800)
        first = (time.perf_counter() - t) * 1000
        if init["errors"]:
            raise RuntimeError(f"Initialize of {n} tables failed: {init}")
        row("scale", f"{n} tables: first Initialize (incl. canonicalizing the registry)", first)
        reset_schema(url)
        init = loadgen(server.addr, "Initialize", requests=1, deadline=1800)
        row("scale", f"{n} tables: fresh Initialize (registry cached)", init["p50_ms"])
        secs = 2.0 if QUICK else 3.0
        diff = loadgen(server.addr, "Diff", 1, secs, deadline=600)
        status = loadgen(server.addr, "Status", 1, secs, deadline=600)
        row("scale", f"{n} tables: Diff", diff["p50_ms"], p99=diff["p99_ms"],
            target=("<", 100) if n == 1000 else None)
        row("scale", f"{n} tables: Status", status["p50_ms"], p99=status["p99_ms"])
        q = statements(url, admin, dbname, lambda: loadgen(server.addr, "Diff", requests=1))
        row("scale", f"{n} tables: statements sent per Diff", q, unit="stmt")
        row("scale", f"{n} tables: schemad peak RSS", server.rss_kb("VmHWM") / 1024, unit="MB")
        if n <= 1000:
            py = json.loads(run([PY, os.path.join(ROOT, "bench", "py_bench.py"), "warm", url,
                                 f"synthetic:{n}", "3"], timeout=3600).stdout)
            row("scale", f"{n} tables: Diff vs warm alembic compare_metadata", diff["p50_ms"],
                p99=diff["p99_ms"], baseline=py["compare_metadata"]["p50_ms"],
                baseline_name="compare_metadata", target=("ratio>=", 50) if n == 1000 else None)
            row("scale", f"{n} tables: no-op Initialize vs create_all no-op",
                loadgen(server.addr, "Initialize", requests=3, deadline=600)["p50_ms"],
                baseline=py["create_all_noop"]["p50_ms"], baseline_name="create_all no-op")
        server.stop()
        psql(admin, f"DROP DATABASE {dbname}")


if __name__ == "__main__":
    main()
