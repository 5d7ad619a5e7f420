#!/usr/bin/python3
"""Parity between schemad's docbot registry and the reference SQLAlchemy models.

  docbot_parity.py create_all URL   create_all(reference models) on URL
  docbot_parity.py compare URL      Alembic compare_metadata(reference models) against URL,
                                    compare_type and compare_server_default on; prints the
                                    differences, exits 1 if there are any
  docbot_parity.py noop URL         create_all on an existing database (timed by bench)

Run with Debian's /usr/bin/python3 (python3-sqlalchemy 1.4, python3-alembic 1.8,
python3-psycopg2). The models are docbot_models.py beside this file (SCHEMAD_MODELS
overrides the path).
"""
import importlib.util
import os
import sys


def load_models():
    path = os.environ.get("SCHEMAD_MODELS")
    if not path:
        here = os.path.dirname(os.path.abspath(__file__))
        path = os.path.join(here, "docbot_models.py")
    spec = importlib.util.spec_from_file_location("docbot_models", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def engine_for(url):
    import sqlalchemy as sa
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg2://" + url[len("postgresql://"):]
    return sa.create_engine(url)


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in ("create_all", "compare", "noop"):
        print(__doc__, file=sys.stderr)
        return 2
    command, url = sys.argv[1], sys.argv[2]
    models = load_models()
    engine = engine_for(url)
    if command in ("create_all", "noop"):
        models.Base.metadata.create_all(engine)
        return 0
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    with engine.connect() as conn:
        ctx = MigrationContext.configure(
            conn,
            opts={
                "compare_type": True,
                "compare_server_default": True,
                # schemad's own bookkeeping lives in schema "schemad", never in public.
                "include_object": lambda obj, name, type_, reflected, compare_to: True,
            },
        )
        diffs = compare_metadata(ctx, models.Base.metadata)
    for d in diffs:
        print(repr(d))
    print(f"{len(diffs)} differences")
    return 1 if diffs else 0


if __name__ == "__main__":
    sys.exit(main())
