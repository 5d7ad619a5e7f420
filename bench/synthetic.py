"""Synthetic schemas for the scale benchmarks: N docbot-sized tables, each
~8 columns, a foreign key (to table (i-1)//2: a tree, so that SQLAlchemy's
recursive reflection of foreign keys stays shallow), two indexes, a unique
and a check constraint. The same schema as a schemad registry directory and as
SQLAlchemy metadata (for create_all and Alembic's compare_metadata).

The shape matches bench/engine_bench.cc's SyntheticTable.
"""
import os

ENUM = 'registry { schema: "public" enum { name: "state" label: "a" label: "b" } ignore: "alembic_version" }\n'


def table_text(i):
    t = f"t{i}"
    fk = (f'  foreign_key {{ name: "fk_{t}_parent" column: "parent_id" references_table: "t{(i-1)//2}" '
          f'references_column: "id" }}\n') if i > 0 else ""
    return (
        f'table {{ name: "{t}"\n'
        '  column { name: "id" type: "bigserial" not_null: true }\n'
        '  column { name: "parent_id" type: "bigint" }\n'
        '  column { name: "name" type: "character varying(100)" not_null: true }\n'
        '  column { name: "state" type: "state" not_null: true default: "\'a\'" }\n'
        '  column { name: "amount" type: "numeric(12,2)" }\n'
        '  column { name: "meta" type: "jsonb" not_null: true default: "\'{}\'::jsonb" }\n'
        '  column { name: "created_at" type: "timestamp with time zone" not_null: true default: "now()" }\n'
        '  column { name: "note" type: "text" }\n'
        f'  primary_key {{ name: "pk_{t}" column: "id" }}\n'
        f'  unique {{ name: "uq_{t}_name" column: "name" }}\n'
        f'  check {{ name: "ck_{t}_amount" expression: "amount >= 0" }}\n'
        f"{fk}"
        f'  index {{ name: "ix_{t}_created_at" key {{ column: "created_at" }} }}\n'
        f'  index {{ name: "ix_{t}_open" key {{ column: "parent_id" }} where: "state = \'a\'" }}\n'
        "}\n")


def objects_text(i):
    """A view, a trigger function and a trigger for table t<i>."""
    t = f"t{i}"
    return (
        f'function {{ name: "touch_{t}" returns: "trigger" language: "plpgsql" '
        f'body: "BEGIN NEW.note := coalesce(NEW.note, \'\'); RETURN NEW; END" }}\n'
        f'view {{ name: "v_{t}" query: "SELECT id, name, amount FROM {t} WHERE state = \'a\'" }}\n')


def trigger_text(i):
    t = f"t{i}"
    return (f'  trigger {{ name: "trg_{t}_touch" timing: TRIGGER_TIMING_BEFORE '
            f'event: TRIGGER_EVENT_INSERT for_each_row: true function: "touch_{t}" }}\n')


def write_registry(n, directory, objects=False):
    """With `objects`, each table also gets a view, a function and a trigger."""
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, "registry.textproto"), "w") as f:
        f.write(ENUM)
    for i in range(n):
        with open(os.path.join(directory, f"t{i}.textproto"), "w") as f:
            text = table_text(i)
            if objects:
                text = text[:text.rindex("}")] + trigger_text(i) + "}\n" + objects_text(i)
            f.write(text)


def metadata(n):
    import sqlalchemy as sa
    from sqlalchemy.dialects import postgresql as pg
    md = sa.MetaData()
    state = pg.ENUM("a", "b", name="state", metadata=md)
    for i in range(n):
        t = f"t{i}"
        parent = [sa.ForeignKey(f"t{(i-1)//2}.id", name=f"fk_{t}_parent")] if i > 0 else []
        cols = [
            sa.Column("id", sa.BigInteger, primary_key=True),
            sa.Column("parent_id", sa.BigInteger, *parent),
            sa.Column("name", sa.String(100), nullable=False),
            sa.Column("state", state, nullable=False, server_default="a"),
            sa.Column("amount", sa.Numeric(12, 2)),
            sa.Column("meta", pg.JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
            sa.Column("created_at", sa.TIMESTAMP(timezone=True), nullable=False,
                      server_default=sa.text("now()")),
            sa.Column("note", sa.Text),
        ]
        table = sa.Table(t, md, *cols,
                         sa.UniqueConstraint("name", name=f"uq_{t}_name"),
                         sa.CheckConstraint("amount >= 0", name=f"ck_{t}_amount"))
        table.primary_key.name = f"pk_{t}"
        sa.Index(f"ix_{t}_created_at", table.c.created_at)
        sa.Index(f"ix_{t}_open", table.c.parent_id, postgresql_where=sa.text("state = 'a'"))
    return md
