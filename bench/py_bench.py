#!/usr/bin/python3
"""The Python side of the benchmarks (Debian's python3-sqlalchemy 1.4,
python3-alembic 1.8, python3-psycopg2).

  py_bench.py create_all URL MODELS        one create_all (the seed's init_db)
  py_bench.py compare URL MODELS           one compare_metadata (`alembic check`)
  py_bench.py warm URL MODELS N            N warm compare_metadata and create_all
                                           no-op calls on one connection: JSON
  py_bench.py fresh URL MODELS             create_all on an empty database,
                                           timed in process: JSON

MODELS is "docbot" (the reference models) or "synthetic:N".
"""
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def load(models):
    if models == "docbot":
        import importlib.util
        path = os.environ.get("SCHEMAD_MODELS") or os.path.join(
            HERE, "..", "tests", "parity", "docbot_models.py")
        spec = importlib.util.spec_from_file_location("docbot_models", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module.Base.metadata
    sys.path.insert(0, HERE)
    import synthetic
    return synthetic.metadata(int(models.split(":")[1]))


def engine(url):
    import sqlalchemy as sa
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg2://" + url[len("postgresql://"):]
    return sa.create_engine(url)


def compare(conn, md):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    ctx = MigrationContext.configure(conn, opts={"compare_type": True, "compare_server_default": True})
    return compare_metadata(ctx, md)


def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(p * (len(values) - 1) + 0.5))]


def main():
    cmd, url, models = sys.argv[1], sys.argv[2], sys.argv[3]
    md = load(models)
    eng = engine(url)
    if cmd == "create_all":
        md.create_all(eng)
    elif cmd == "compare":
        with eng.connect() as conn:
            diffs = compare(conn, md)
        sys.exit(1 if diffs else 0)
    elif cmd == "warm":
        n = int(sys.argv[4])
        out = {}
        with eng.connect() as conn:
            compare(conn, md)
            times = []
            for _ in range(n):
                t = time.perf_counter()
                compare(conn, md)
                times.append((time.perf_counter() - t) * 1000)
            out["compare_metadata"] = {"p50_ms": pct(times, 0.5), "p99_ms": pct(times, 0.99)}
        md.create_all(eng)
        times = []
        for _ in range(n):
            t = time.perf_counter()
            md.create_all(eng)
            times.append((time.perf_counter() - t) * 1000)
        out["create_all_noop"] = {"p50_ms": pct(times, 0.5), "p99_ms": pct(times, 0.99)}
        print(json.dumps(out))
    elif cmd == "fresh":
        t = time.perf_counter()
        md.create_all(eng)
        print(json.dumps({"create_all_fresh_ms": (time.perf_counter() - t) * 1000}))
    else:
        print(__doc__, file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
