#!/usr/bin/python3
"""Writer stall (issue 12): what `initialize --online` buys an application
that keeps writing to a big table while its schema changes.

What runs
  A throwaway PostgreSQL 15 cluster (scripts/pg-cluster, log_lock_waits=on,
  deadlock_timeout=100ms) holds a `chunks` table of --rows rows (default
  2,000,000) and `documents` (10,000 rows), created by schemad from a BEFORE
  registry. The change, to an AFTER registry, adds to `chunks`: an index, a
  unique index, a foreign key, a CHECK and SET NOT NULL on `tokens`.
  Every run starts from a fresh copy of that database (CREATE DATABASE ...
  TEMPLATE) and:
    1. starts the writers: pgbench, 4 clients / 2 threads, at a fixed rate
       (-R) of half the tps that an unthrottled 10 s run sustained on this
       machine. One writer transaction inserts a chunk and updates a random
       existing one;
    2. lets them run 5 s alone (the baseline window);
    3. runs `schemactl initialize` against a schemad serving the AFTER
       registry: `--mode transactional` (everything in one transaction) or
       `--online` (concurrent index builds, NOT VALID + VALIDATE, SET NOT NULL
       through a validated CHECK, each lock-taking phase under a 2 s
       lock_timeout, retried with back-off), then checks `status --check`;
       or, as the control ("bare"), runs the ONLINE plan's own statements
       with psql alone, as `schemactl diff --online --sql` prints them (no
       schemad, no retries, no progress polling, no history): the writers'
       latency that PostgreSQL's work itself costs on this machine, which
       no tool issuing these statements can go below;
    4. keeps the writers going until 5 s after the change and until they
       have caught up with their schedule, then stops them.
  A second scenario ("blocker", online only, registry change: the CHECK
  alone) holds ACCESS SHARE on `chunks` in a 15 s transaction started just
  before the change: the online run must time out, retry, and finish after
  the blocker is gone, while writers never queue much longer than 2 s.

How to read the numbers
  * duration: wall time of the `schemactl initialize` call.
  * writer latency: pgbench's per-transaction latency (-l), which under -R is
    counted from the transaction's *scheduled* start, so a writer blocked for
    8 s and the writes queued behind it all show their real delay (no
    coordinated omission). "during" takes the transactions scheduled while
    initialize ran; "baseline" those scheduled and done in the 5 s before
    it. "own time" leaves the schedule lag out: how long the transaction
    itself ran once sent (its own lock wait included), not the queue of
    writes behind it. Writers run at half their capacity, so a backlog from
    a stall of S seconds takes about S more seconds to drain; stalls that
    follow each other quickly (lock-timeout retries) add up in latency even
    when no single lock wait exceeds the timeout.
  * writes completed during change: writer transactions that finished while
    initialize ran (rate x duration were scheduled).
  * failed writer txns: pgbench failures logged during the change plus
    clients that aborted on an error (each stops one writer).
  * longest writer lock wait: the longest `still waiting` / `acquired ...
    after N ms` of a pgbench backend in the server log since the change
    began (only waits over deadlock_timeout = 100 ms are logged; "<100" means
    none was).
  Each mode runs --runs times; the table shows the median and (min-max).

  scripts/bench --writer-stall [--rows N] [--runs N] [--quick]
  /usr/bin/python3 bench/writer_stall.py --quick    (300,000 rows, 1 run)
Results: bench/results/writer_stall.json.
"""
import argparse
import atexit
import glob
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.environ.get("SCHEMAD_BIN_DIR", os.path.join(ROOT, "build", "bin"))
PGBIN = "/usr/lib/postgresql/15/bin"
PSQL = os.path.join(PGBIN, "psql") if os.path.exists(os.path.join(PGBIN, "psql")) else "/usr/bin/psql"
PGBENCH = os.path.join(PGBIN, "pgbench")
PASSWORD = os.environ.get("SCHEMAD_TEST_PGPASSWORD", "schemad-test-secret")
HAZARDS = "LONG_LOCK,VALIDATION,INDEX_BUILD,DROPS_OBJECT,TABLE_REWRITE"
PG_OPTIONS = ["-c", "log_lock_waits=on", "-c", "deadlock_timeout=100ms", "-c", "max_wal_size=4GB",
              "-c", "shared_buffers=512MB", "-c", "log_line_prefix='%m [%p] %a '"]
MODES = ("transactional", "online", "bare")
BASELINE_S = 5.0     # writers alone before the change (the baseline window)
WARMUP_S = 1.0       # pgbench connects and settles before the baseline window
TAIL_S = 5.0         # writers keep going after the change
CATCH_UP_MAX_S = 300.0
CLIENTS, THREADS = 4, 2
BLOCKER_S = 15

# --------------------------------------------------------------------------
# Registries. bench_ids (the writers' id sequence) is no part of the schema:
# ignored, or the change would drop it (DROPS_OBJECT is allowed).

REGISTRY_HEAD = 'registry { schema: "public" ignore: "bench_ids" }\n'
DOCUMENTS = """table {
  name: "documents"
  column { name: "id" type: "bigint" not_null: true }
  primary_key { name: "documents_pkey" column: "id" }
}
"""


def chunks_table(tokens_not_null=False, extra=()):
    lines = [
        'table {',
        '  name: "chunks"',
        '  column { name: "id" type: "bigint" not_null: true }',
        '  column { name: "document_id" type: "bigint" not_null: true }',
        '  column { name: "seq" type: "integer" not_null: true }',
        '  column { name: "body" type: "text" }',
        '  column { name: "tokens" type: "integer"%s }' % (" not_null: true" if tokens_not_null else ""),
        '  column { name: "code" type: "text" }',
        '  primary_key { name: "chunks_pkey" column: "id" }',
    ]
    lines += ["  " + e for e in extra]
    return "\n".join(lines + ["}", ""])


FK = ('foreign_key { name: "fk_chunks_document" column: "document_id" '
      'references_table: "documents" references_column: "id" }')
CHECK = 'check { name: "ck_chunks_tokens" expression: "tokens >= 0" }'
INDEX = 'index { name: "ix_chunks_document" key { column: "document_id" } }'
UNIQUE = 'index { name: "ux_chunks_code" unique: true key { column: "code" } }'

REGISTRIES = {
    "before": REGISTRY_HEAD + DOCUMENTS + chunks_table(),
    "after": REGISTRY_HEAD + DOCUMENTS + chunks_table(True, [FK, CHECK, INDEX, UNIQUE]),
    "after_check": REGISTRY_HEAD + DOCUMENTS + chunks_table(False, [CHECK]),
}

WRITER_SCRIPT = """\\set doc random(1, 10000)
\\set tok random(0, 99)
\\set rid random(1, {rows})
BEGIN;
INSERT INTO chunks (id, document_id, seq, body, tokens, code)
  SELECT n, :doc, n, 'w', :tok, 'w' || n FROM (SELECT nextval('bench_ids') AS n) s;
UPDATE chunks SET body = 'u' WHERE id = :rid;
END;
"""

# --------------------------------------------------------------------------
# Processes: everything started here is tracked and ended on exit.

children = []


def log(msg):
    print(msg, flush=True)


def run(cmd, check=True, timeout=3600, **kw):
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kw)
    if check and r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {r.returncode}:\n{r.stdout}\n{r.stderr}")
    return r


def spawn(cmd, **kw):
    p = subprocess.Popen(cmd, **kw)
    children.append(p)
    return p


def kill_children():
    for p in children:
        if p.poll() is None:
            p.kill()
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass


def pct(values, p):
    values = sorted(values)
    if not values:
        return None
    return values[min(len(values) - 1, int(p * (len(values) - 1) + 0.5))]


class Cluster:
    """A throwaway PostgreSQL 15 from scripts/pg-cluster."""

    def __init__(self, work):
        self.dir = os.path.join(work, "pg")
        self.port = run([os.path.join(ROOT, "scripts", "pg-cluster"), "start", self.dir] + PG_OPTIONS,
                        env=dict(os.environ, SCHEMAD_TEST_PGPASSWORD=PASSWORD)).stdout.strip()
        self.log_path = os.path.join(self.dir, "server.log")
        self.env = dict(os.environ, PGPASSWORD=PASSWORD)

    def stop(self):
        run([os.path.join(ROOT, "scripts", "pg-cluster"), "stop", self.dir, "immediate"], check=False)

    def url(self, db, password=False):
        secret = f":{PASSWORD}" if password else ""
        return f"postgresql://postgres{secret}@127.0.0.1:{self.port}/{db}"

    def psql(self, db, *sql, timeout=3600):
        cmd = [PSQL, "-qAtX", "-v", "ON_ERROR_STOP=1", self.url(db)]
        for s in sql:
            cmd += ["-c", s]
        return run(cmd, env=self.env, timeout=timeout).stdout.strip()

    def log_size(self):
        return os.path.getsize(self.log_path)


class Schemad:
    """`schemad serve` on a free loopback port (read from its `(port N)` line)."""

    def __init__(self, work, url, registry, *flags):
        self.log_path = os.path.join(work, f"schemad-{len(children)}.log")
        self.logf = open(self.log_path, "w")
        self.proc = spawn([os.path.join(BIN, "schemad"), "serve", "--listen", "127.0.0.1:0",
                           "--database-url", url, "--registry", registry, *flags],
                          stdout=subprocess.DEVNULL, stderr=self.logf)
        port = None
        for _ in range(200):
            m = re.search(r"\(port (\d+)\)", open(self.log_path).read())
            if m:
                port = m.group(1)
                break
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        if not port:
            self.stop()
            raise RuntimeError(f"schemad did not start:\n{open(self.log_path).read()}")
        self.addr = f"127.0.0.1:{port}"

    def ctl(self, *args, timeout=4000):
        return run([os.path.join(BIN, "schemactl"), "--server", self.addr, *args], check=False,
                   timeout=timeout)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.logf.close()


def write_registries(work):
    dirs = {}
    for name, text in REGISTRIES.items():
        d = os.path.join(work, "registry-" + name)
        os.makedirs(d)
        with open(os.path.join(d, "schema.textproto"), "w") as f:
            f.write(text)
        dirs[name] = d
    return dirs


def create_base(cluster, work, registries, rows):
    """The BEFORE state, created by schemad, loaded and vacuumed: database `base`."""
    cluster.psql("postgres", "CREATE DATABASE base")
    server = Schemad(work, cluster.url("base", password=True), registries["before"])
    try:
        r = server.ctl("initialize")
        if r.returncode != 0:
            raise RuntimeError(f"initialize BEFORE exited {r.returncode}:\n{r.stdout}\n{r.stderr}")
    finally:
        server.stop()
    t = time.perf_counter()
    cluster.psql("base",
                 "INSERT INTO documents SELECT g FROM generate_series(1, 10000) g",
                 "INSERT INTO chunks SELECT g, 1 + g % 10000, g, repeat('x', 80), g % 100, 'c' || g "
                 f"FROM generate_series(1, {rows}) g",
                 "CREATE SEQUENCE bench_ids START 100000000",
                 "VACUUM ANALYZE")
    size = cluster.psql("base", "SELECT pg_size_pretty(pg_database_size('base'))")
    log(f"loaded {rows:,} chunks rows in {time.perf_counter() - t:.1f} s (database {size})")


def fresh_database(cluster, name):
    cluster.psql("postgres", f"CREATE DATABASE {name} TEMPLATE base STRATEGY FILE_COPY", "CHECKPOINT")


def drop_database(cluster, name):
    cluster.psql("postgres", f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


# --------------------------------------------------------------------------
# Writers (pgbench).

class Writers:
    def __init__(self, cluster, work, db, rows, rate=None, seconds=3600, tag="w"):
        self.cluster, self.db = cluster, db
        script = os.path.join(work, "writer.sql")
        with open(script, "w") as f:
            f.write(WRITER_SCRIPT.format(rows=rows))
        self.prefix = os.path.join(work, f"pgbench-{tag}")
        self.out_path, self.err_path = self.prefix + ".out", self.prefix + ".err"
        cmd = [PGBENCH, "-n", "-f", script, "-c", str(CLIENTS), "-j", str(THREADS), "-T", str(seconds),
               "-P", "1"]
        if rate:
            cmd += ["-R", str(rate), "-l", f"--log-prefix={self.prefix}"]
        cmd.append(cluster.url(db))
        self.outf, self.errf = open(self.out_path, "w"), open(self.err_path, "w")
        self.proc = spawn(cmd, cwd=work, env=cluster.env, stdout=self.outf, stderr=self.errf)
        self.real_aborts = None

    def last_lag_ms(self):
        """Schedule lag of the latest `-P 1` progress line (None before the first)."""
        lags = re.findall(r"lag ([\d.]+) ms", open(self.err_path).read())
        return float(lags[-1]) if lags else None

    def aborts(self, text):
        return len(re.findall(r"client \d+ aborted", text))

    def stop(self):
        """Ends pgbench by terminating its backends: each client aborts, and pgbench
        flushes its logs and prints its summary (SIGINT would lose both). Client
        aborts before this point are real failures and are counted."""
        self.real_aborts = self.aborts(open(self.err_path).read())
        self.cluster.psql("postgres", "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                                      f"WHERE application_name = 'pgbench' AND datname = '{self.db}'")
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.outf.close()
        self.errf.close()

    def wait(self):
        self.proc.wait()
        self.outf.close()
        self.errf.close()
        self.real_aborts = self.aborts(open(self.err_path).read())

    def summary(self):
        out = open(self.out_path).read()
        tps = re.search(r"tps = ([\d.]+)", out)
        failed = re.search(r"number of failed transactions: (\d+)", out)
        return {"tps": float(tps.group(1)) if tps else None,
                "failed": int(failed.group(1)) if failed else None}

    def transactions(self):
        """(scheduled start, end, latency ms, own time ms) of every logged transaction; the
        latencies are None for a failed or skipped one. Under -R a line is `client txno
        latency_us script epoch_s epoch_us schedule_lag_us`: latency counts from the
        scheduled start, own time (latency - lag) from when pgbench actually sent it."""
        txns = []
        for path in glob.glob(self.prefix + ".[0-9]*"):
            with open(path) as f:
                for line in f:
                    p = line.split()
                    if len(p) < 6:
                        continue
                    end = int(p[4]) + int(p[5]) / 1e6
                    if p[2] in ("failed", "skipped"):
                        txns.append((end, end, None, None))
                    else:
                        lat = int(p[2]) / 1e6
                        lag = int(p[6]) / 1e6 if len(p) > 6 else 0.0
                        txns.append((end - lat, end, lat * 1000, (lat - lag) * 1000))
        return txns


def measure_capacity(cluster, work, rows):
    """Writer tps of an unthrottled 10 s run on a scratch copy of the BEFORE state."""
    fresh_database(cluster, "calib")
    try:
        w = Writers(cluster, work, "calib", rows, rate=None, seconds=10, tag="calib")
        w.wait()
        s = w.summary()
        if not s["tps"] or w.real_aborts:
            raise RuntimeError(f"calibration pgbench failed:\n{open(w.out_path).read()}\n"
                               f"{open(w.err_path).read()}")
        return s["tps"]
    finally:
        drop_database(cluster, "calib")


def latency_stats(txns, t_from, t_to, done_by=None):
    """Writer transactions scheduled in [t_from, t_to) (and ended before done_by)."""
    inside = [t for t in txns if t_from <= t[0] < t_to and (done_by is None or t[1] < done_by)]
    lats = [t[2] for t in inside if t[2] is not None]
    own = [t[3] for t in inside if t[3] is not None]
    return {"n": len(inside), "failed": sum(1 for t in inside if t[2] is None),
            "p50_ms": pct(lats, 0.5), "p99_ms": pct(lats, 0.99), "max_ms": max(lats) if lats else None,
            "own_p99_ms": pct(own, 0.99), "own_max_ms": max(own) if own else None}


# --------------------------------------------------------------------------
# Server log: lock waits (log_lock_waits) by application name.

LOCK_WAIT = re.compile(r"\[(\d+)\] (\S+) +LOG: +process \d+ (still waiting for|acquired) (\S+) on (.+?) "
                       r"after ([\d.]+) ms")


def lock_waits(cluster, start, end):
    with open(cluster.log_path, "rb") as f:
        f.seek(start)
        text = f.read(end - start).decode("utf-8", "replace")
    writer_max, writer_what, schemad_max, writer_waits = 0.0, None, 0.0, set()
    for m in LOCK_WAIT.finditer(text):
        pid, app, _, mode, obj, ms = m.groups()
        ms = float(ms)
        if app == "pgbench":
            writer_waits.add(pid)
            if ms > writer_max:
                writer_max, writer_what = ms, f"{mode} on {obj}"
        elif app == "schemad":
            schemad_max = max(schemad_max, ms)
    schemad_lock_timeouts = len(re.findall(r"\] schemad +ERROR: +canceling statement due to lock timeout",
                                           text))
    return {"writer_max_ms": writer_max if writer_waits else None, "writer_max_lock": writer_what,
            "writer_backends_waiting": len(writer_waits), "schemad_max_wait_ms": schemad_max or None,
            "schemad_lock_timeouts": schemad_lock_timeouts}


# --------------------------------------------------------------------------
# One run: fresh database, writers, the change, checks.

def one_run(cluster, work, name, mode, registry, rows, rate, blocker=False):
    fresh_database(cluster, name)
    server = None
    writers = None
    try:
        server = Schemad(work, cluster.url(name, password=True), registry,
                         "--lock-timeout", "10m", "--statement-timeout", "60m",
                         "--online-lock-timeout", "2s")
        script = None
        if mode == "bare":
            # The control: the ONLINE plan's own statements, as `diff --online
            # --sql` prints them, run by psql alone (no schemad, no retries, no
            # progress polling, no history): what PostgreSQL's work costs the
            # writers by itself.
            plan = server.ctl("diff", "--online", "--sql")
            if plan.returncode != 0 or "CONCURRENTLY" not in plan.stdout:
                raise RuntimeError(f"diff --online --sql failed:\n{plan.stdout}\n{plan.stderr}")
            script = os.path.join(work, f"{name}.sql")
            with open(script, "w") as f:
                f.write(plan.stdout)
        writers = Writers(cluster, work, name, rows, rate=rate, tag=name)
        time.sleep(WARMUP_S + BASELINE_S)
        if writers.proc.poll() is not None:
            raise RuntimeError(f"pgbench ended early:\n{open(writers.err_path).read()[-3000:]}")
        blocker_proc, blocker_start = None, None
        if blocker:
            blocker_proc, blocker_start = start_blocker(cluster, work, name)
        log_start = cluster.log_size()
        args = ["--timeout", "60m", "initialize", "--allow-hazards", HAZARDS]
        args += ["--online"] if mode == "online" else ["--mode", "transactional"]
        t0 = time.time()
        if script:
            init = run([PSQL, "-qAtX", "-v", "ON_ERROR_STOP=1", cluster.url(name), "-f", script], env=cluster.env,
                       check=False)
        else:
            init = server.ctl(*args)
        t1 = time.time()
        blocker_end = None
        if blocker_proc:
            blocker_proc.wait(timeout=BLOCKER_S + 60)
            blocker_end = blocker_end_time(work)
        # Writers go on until TAIL_S after the change and they have caught up
        # with their schedule (every write issued during the change is done).
        time.sleep(TAIL_S)
        deadline = time.time() + CATCH_UP_MAX_S
        while time.time() < deadline and writers.proc.poll() is None:
            lag = writers.last_lag_ms()
            if lag is not None and lag < 50:
                break
            time.sleep(0.5)
        writers.stop()
        log_end = cluster.log_size()
        status = server.ctl("status", "--online", "--check")
    finally:
        if writers and writers.proc.poll() is None:
            writers.stop()
        if server:
            server.stop()
    txns = writers.transactions()
    during = latency_stats(txns, t0, t1)
    result = {
        "run": name, "mode": mode, "ok": init.returncode == 0 and status.returncode == 0,
        "initialize_exit": init.returncode, "status_check_exit": status.returncode,
        "duration_s": t1 - t0,
        "baseline": latency_stats(txns, t0 - BASELINE_S, t0, done_by=t0),
        "during": during,
        "writes_completed_during": sum(1 for t in txns if t0 <= t[1] < t1 and t[2] is not None),
        "expected_writes_during": rate * (t1 - t0),
        "failed_writer_txns": during["failed"] + writers.real_aborts,
        "aborted_clients": writers.real_aborts,
        "pgbench_summary": writers.summary(),
        "lock_waits": lock_waits(cluster, log_start, log_end),
        "retries": len(re.findall(r"not granted", init.stderr)),
        "phases": len(re.findall(r"committed in", init.stderr)),
        "events": [line for line in init.stderr.splitlines() if line.startswith(("phase", "run", "finished"))
                   and "%)" not in line][:200],
    }
    if blocker:
        result["blocker_held_s"] = (blocker_end - blocker_start) if blocker_end else None
        result["finished_after_blocker_s"] = (t1 - blocker_end) if blocker_end else None
    if not result["ok"]:
        result["initialize_stdout"] = init.stdout[-4000:]
        result["initialize_stderr"] = init.stderr[-4000:]
        result["status_output"] = (status.stdout + status.stderr)[-4000:]
        log(f"  !! {name}: initialize exited {init.returncode}, status --check exited {status.returncode}\n"
            f"  stderr: {init.stderr[-2000:]}\n  stdout: {init.stdout[-2000:]}\n"
            f"  status: {status.stdout[-1000:]} {status.stderr[-1000:]}")
    drop_database(cluster, name)
    return result


def start_blocker(cluster, work, db):
    """A session holding ACCESS SHARE on chunks for BLOCKER_S seconds; returns once granted."""
    proc = spawn([PSQL, "-qAtX", "-v", "ON_ERROR_STOP=1", cluster.url(db),
                  "-c", "BEGIN", "-c", "LOCK TABLE chunks IN ACCESS SHARE MODE",
                  "-c", f"SELECT pg_sleep({BLOCKER_S})", "-c", "COMMIT",
                  "-c", "SELECT extract(epoch FROM clock_timestamp())"],
                 env=cluster.env, stdout=open(os.path.join(work, "blocker.out"), "w"),
                 stderr=subprocess.STDOUT)
    for _ in range(200):
        held = cluster.psql(db, "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a USING (pid) "
                                "WHERE a.application_name = 'psql' AND l.relation = 'chunks'::regclass "
                                "AND l.mode = 'AccessShareLock' AND l.granted AND l.pid <> pg_backend_pid()")
        if held != "0":
            return proc, time.time()
        time.sleep(0.05)
    raise RuntimeError("the blocker session did not get its lock")


def blocker_end_time(work):
    text = open(os.path.join(work, "blocker.out")).read().split()
    return float(text[-1]) if text else None


# --------------------------------------------------------------------------
# Report.

def spread(values):
    values = [v for v in values if v is not None]
    if not values:
        return None
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


METRICS = [
    # (label, key path, unit)
    ("initialize duration", ("duration_s",), "s"),
    ("writer latency p50, baseline", ("baseline", "p50_ms"), "ms"),
    ("writer latency p99, baseline", ("baseline", "p99_ms"), "ms"),
    ("writer latency p50, during change", ("during", "p50_ms"), "ms"),
    ("writer latency p99, during change", ("during", "p99_ms"), "ms"),
    ("writer latency max, during change", ("during", "max_ms"), "ms"),
    ("  own time max (latency - sched. lag)", ("during", "own_max_ms"), "ms"),
    ("writes completed during change", ("writes_completed_during",), ""),
    ("failed writer transactions", ("failed_writer_txns",), ""),
    ("longest writer lock wait (log)", ("lock_waits", "writer_max_ms"), "ms"),
    ("schemad lock timeouts / retries", ("retries",), ""),
]


def get(run_result, path):
    v = run_result
    for k in path:
        v = v.get(k) if isinstance(v, dict) else None
    return v


def fmt(v):
    if v is None:
        return "-"
    if isinstance(v, str):
        return v
    if isinstance(v, float):
        return f"{v:,.0f}" if abs(v) >= 100 else f"{v:.3g}" if abs(v) >= 1 else f"{v:.2f}"
    return f"{v:,}"


def fmt_spread(s, lock=False):
    if s is None:
        return "-"
    f = (lambda v: "<100" if v == 0 else fmt(v)) if lock else fmt
    text = f(s["median"])
    if s["min"] != s["max"]:
        text += f" ({f(s['min'])}-{f(s['max'])})"
    return text


def summarize(runs):
    """Median and (min-max) of every metric; a lock wait that was never logged
    (none over deadlock_timeout) counts as 0 and prints as "<100"."""
    out = {}
    for label, path, unit in METRICS:
        values = [get(r, path) for r in runs]
        if path[0] == "lock_waits":
            values = [v or 0.0 for v in values]
        out[label] = spread(values)
    return out


def print_table(results):
    modes = [m for m in MODES if results["runs"].get(m)]
    cols = [f"{m.upper()} (n={len(results['runs'][m])})" for m in modes]
    width = 34
    log("")
    log(f"Writer stall: {results['config']['rows']:,} rows, writers {CLIENTS} clients at "
        f"{results['config']['rate']} tps (half of {results['config']['capacity_tps']:.0f} tps "
        f"unthrottled); median (min-max)")
    log(f"{'':<36}" + "".join(f"{c:>{width}}" for c in cols))
    for label, path, unit in METRICS:
        cells = []
        for m in modes:
            s = results["summary"][m][label]
            cells.append(fmt_spread(s, lock=path[0] == "lock_waits") + (f" {unit}" if unit else ""))
        log(f"{label:<36}" + "".join(f"{c:>{width}}" for c in cells))
    b = results.get("blocker")
    if b:
        lw = b["lock_waits"]
        log("")
        log(f"Blocker (ONLINE, CHECK only; ACCESS SHARE held {b.get('blocker_held_s') or 0:.1f} s "
            "from just before the change):")
        log(f"  initialize exit {b['initialize_exit']}, status --check exit {b['status_check_exit']}, "
            f"{fmt(b['duration_s'])} s, finished {fmt(b.get('finished_after_blocker_s'))} s after the "
            f"blocker committed, {b['retries']} lock-timeout retries "
            f"({lw['schemad_lock_timeouts']} lock timeouts in the server log)")
        lock = "<100 ms (none logged)" if lw["writer_max_ms"] is None else f"{fmt(lw['writer_max_ms'])} ms"
        log(f"  longest writer lock wait {lock}; writer latency during: p50 {fmt(b['during']['p50_ms'])} ms, "
            f"p99 {fmt(b['during']['p99_ms'])} ms, max {fmt(b['during']['max_ms'])} ms (own time max "
            f"{fmt(b['during']['own_max_ms'])} ms); failed writer txns {b['failed_writer_txns']}")
        log(f"  writes completed during the change: {b['writes_completed_during']:,} of "
            f"{b['expected_writes_during']:,.0f} scheduled")


def machine(cluster):
    cpu = "?"
    try:
        cpu = open("/proc/cpuinfo").read().split("model name")[1].split("\n")[0].strip(": \t")
    except (OSError, IndexError):
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "postgres": cluster.psql("postgres", "SHOW server_version")}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", type=int, default=2000000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="300,000 rows, 1 run: a smoke test")
    ap.add_argument("--no-blocker", action="store_true", help="skip the blocker scenario")
    args = ap.parse_args()
    if args.quick:
        args.rows, args.runs = 300000, 1
    for tool in (PGBENCH, PSQL, os.path.join(BIN, "schemad"), os.path.join(BIN, "schemactl")):
        if not os.access(tool, os.X_OK):
            sys.exit(f"writer_stall: {tool} is missing (build schemad; pgbench comes with postgresql-15)")

    work = tempfile.mkdtemp(prefix="schemad-writer-stall.")
    os.chmod(work, 0o711)
    cluster = None

    def cleanup():
        kill_children()
        if cluster:
            cluster.stop()
        shutil.rmtree(work, ignore_errors=True)

    atexit.register(cleanup)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    started = time.time()
    results = {"config": {"rows": args.rows, "runs": args.runs, "quick": args.quick, "clients": CLIENTS,
                          "threads": THREADS, "baseline_s": BASELINE_S, "hazards": HAZARDS,
                          "online_lock_timeout": "2s", "blocker_s": BLOCKER_S},
               "runs": {}, "summary": {}}
    try:
        cluster = Cluster(work)
        results["machine"] = machine(cluster)
        log(f"machine: {results['machine']}")
        registries = write_registries(work)
        create_base(cluster, work, registries, args.rows)
        capacity = measure_capacity(cluster, work, args.rows)
        rate = max(10, int(capacity / 2))
        results["config"].update(capacity_tps=capacity, rate=rate)
        log(f"writers: unthrottled {capacity:.0f} tps; runs at -R {rate}")
        for mode in MODES:
            results["runs"][mode] = []
        # Alternate the modes so that drift of the machine hits both alike.
        for k in range(args.runs):
            for mode in MODES:
                r = one_run(cluster, work, f"run_{mode[:5]}_{k}", mode, registries["after"], args.rows, rate)
                results["runs"][mode].append(r)
                log(f"  {mode:<13} run {k + 1}: {r['duration_s']:.1f} s, writers during p50 "
                    f"{fmt(r['during']['p50_ms'])} / p99 {fmt(r['during']['p99_ms'])} / max "
                    f"{fmt(r['during']['max_ms'])} ms, failed {r['failed_writer_txns']}, longest lock wait "
                    f"{fmt(r['lock_waits']['writer_max_ms'] or '<100')} ms, retries {r['retries']}"
                    + ("" if r["ok"] else "  FAILED"))
        for mode, runs in results["runs"].items():
            results["summary"][mode] = summarize(runs)
        if not args.no_blocker:
            log("blocker scenario (ONLINE, CHECK only)...")
            results["blocker"] = one_run(cluster, work, "run_blocker", "online", registries["after_check"],
                                         args.rows, rate, blocker=True)
        results["elapsed_s"] = time.time() - started
        print_table(results)
    finally:
        out_dir = os.path.join(ROOT, "bench", "results")
        os.makedirs(out_dir, exist_ok=True)
        with open(os.path.join(out_dir, "writer_stall.json"), "w") as f:
            json.dump(results, f, indent=1)
        cleanup()
    log(f"\nresults: bench/results/writer_stall.json ({time.time() - started:.0f} s)")
    failed = [r["run"] for runs in results["runs"].values() for r in runs if not r["ok"]]
    if results.get("blocker") and not results["blocker"]["ok"]:
        failed.append("run_blocker")
    if failed:
        log(f"FAILED runs: {', '.join(failed)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
