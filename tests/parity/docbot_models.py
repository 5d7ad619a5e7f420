"""docbot's SQLAlchemy models, as schemad's parity tests and benchmarks use them.

schemad's embedded registry (deploy/registry/docbot/) mirrors the docbot API's
models name for name. This file is this repository's own copy of those models,
kept here so that the parity tests (tests/db/parity_test.cc through
docbot_parity.py) and bench/py_bench.py run from a clone alone.

It can drift from docbot's real models (app/db/models/ in the docbot
repository) unnoticed: nothing checks the two against each other. When docbot
changes a model, change it here, in deploy/registry/docbot/, and in
tests/unit/docbot_registry_test.cc in the same commit. Written for SQLAlchemy
1.4 (Debian 12's python3-sqlalchemy); the same declarations work on 2.0.

Two directions must hold against a real PostgreSQL 15:
  1. create_all(these models) on an empty database -> schemad reports no
     difference between its default registry and that database;
  2. schemad's Initialize on an empty database -> Alembic's
     compare_metadata(these models), with compare_type and
     compare_server_default on, reports no difference.
"""
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg
from sqlalchemy.orm import declarative_base

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
Base = declarative_base(metadata=sa.MetaData(naming_convention=NAMING))

NOW = sa.text("now()")
UUID_DEFAULT = sa.text("gen_random_uuid()")

user_role = pg.ENUM("user", "admin", name="user_role")
document_status = pg.ENUM("pending", "processing", "ready", "failed", name="document_status")
message_role = pg.ENUM("system", "user", "assistant", "tool", name="message_role")
tool_run_status = pg.ENUM("running", "succeeded", "failed", name="tool_run_status")


def created_at():
    return sa.Column(sa.TIMESTAMP(timezone=True), nullable=False, server_default=NOW)


# --- app/db/models/user.py -------------------------------------------------
class User(Base):
    __tablename__ = "users"
    id = sa.Column(pg.UUID(as_uuid=True), primary_key=True, server_default=UUID_DEFAULT)
    email = sa.Column(sa.String(320), nullable=False)
    hashed_password = sa.Column(sa.String(255), nullable=False)
    full_name = sa.Column(sa.String(200))
    role = sa.Column(user_role, nullable=False, server_default="user")
    is_active = sa.Column(sa.Boolean, nullable=False, server_default=sa.true())
    created_at = created_at()
    updated_at = sa.Column(sa.TIMESTAMP(timezone=True))
    __table_args__ = (
        sa.Index("ix_users_email_lower", sa.func.lower(email), unique=True),
    )


# --- app/db/models/document.py ---------------------------------------------
class Document(Base):
    __tablename__ = "documents"
    id = sa.Column(pg.UUID(as_uuid=True), primary_key=True, server_default=UUID_DEFAULT)
    owner_id = sa.Column(pg.UUID(as_uuid=True), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True)
    title = sa.Column(sa.String(500), nullable=False)
    filename = sa.Column(sa.String(500), nullable=False)
    mime_type = sa.Column(sa.String(100), nullable=False)
    sha256 = sa.Column(sa.CHAR(64), nullable=False)
    size_bytes = sa.Column(sa.BigInteger, nullable=False)
    status = sa.Column(document_status, nullable=False, server_default="pending")
    page_count = sa.Column(sa.Integer)
    meta = sa.Column("metadata", pg.JSONB, nullable=False, server_default=sa.text("'{}'::jsonb"))
    error = sa.Column(sa.Text)
    created_at = created_at()
    updated_at = sa.Column(sa.TIMESTAMP(timezone=True))
    __table_args__ = (
        sa.UniqueConstraint("owner_id", "sha256"),
        sa.CheckConstraint("size_bytes >= 0", name="size_nonnegative"),
        sa.Index("ix_documents_in_progress", "created_at",
                 postgresql_where=sa.text("status IN ('pending', 'processing')")),
    )


class Page(Base):
    __tablename__ = "pages"
    id = sa.Column(sa.BigInteger, primary_key=True)
    document_id = sa.Column(pg.UUID(as_uuid=True), sa.ForeignKey("documents.id", ondelete="CASCADE"), nullable=False)
    page_number = sa.Column(sa.Integer, nullable=False)
    width = sa.Column(sa.Float)
    height = sa.Column(sa.Float)
    text = sa.Column(sa.Text)
    __table_args__ = (
        sa.UniqueConstraint("document_id", "page_number"),
        sa.CheckConstraint("page_number >= 1", name="page_number_positive"),
    )


class Chunk(Base):
    __tablename__ = "chunks"
    id = sa.Column(sa.BigInteger, primary_key=True)
    document_id = sa.Column(pg.UUID(as_uuid=True), sa.ForeignKey("documents.id", ondelete="CASCADE"), nullable=False, index=True)
    page_id = sa.Column(sa.BigInteger, sa.ForeignKey("pages.id", ondelete="SET NULL"))
    chunk_index = sa.Column(sa.Integer, nullable=False)
    content = sa.Column(sa.Text, nullable=False)
    content_tsv = sa.Column(pg.TSVECTOR, sa.Computed("to_tsvector('english'::regconfig, content)", persisted=True))
    token_count = sa.Column(sa.Integer, nullable=False)
    char_start = sa.Column(sa.Integer)
    char_end = sa.Column(sa.Integer)
    __table_args__ = (
        sa.UniqueConstraint("document_id", "chunk_index"),
        sa.Index("ix_chunks_content_tsv", "content_tsv", postgresql_using="gin"),
    )


class Figure(Base):
    __tablename__ = "figures"
    id = sa.Column(sa.BigInteger, primary_key=True)
    document_id = sa.Column(pg.UUID(as_uuid=True), sa.ForeignKey("documents.id", ondelete="CASCADE"), nullable=False, index=True)
    page_id = sa.Column(sa.BigInteger, sa.ForeignKey("pages.id", ondelete="SET NULL"))
    caption = sa.Column(sa.Text)
    image_path = sa.Column(sa.String(1000), nullable=False)
    bbox = sa.Column(pg.ARRAY(sa.Float))
    created_at = created_at()


class Table(Base):
    __tablename__ = "tables"
    id = sa.Column(sa.BigInteger, primary_key=True)
    document_id = sa.Column(pg.UUID(as_uuid=True), sa.ForeignKey("documents.id", ondelete="CASCADE"), nullable=False, index=True)
    page_id = sa.Column(sa.BigInteger, sa.ForeignKey("pages.id", ondelete="SET NULL"))
    caption = sa.Column(sa.Text)
    n_rows = sa.Column(sa.Integer, nullable=False)
    n_cols = sa.Column(sa.Integer, nullable=False)
    cells = sa.Column(pg.JSONB, nullable=False)
    markdown = sa.Column(sa.Text)
    created_at = created_at()


# --- app/db/models/embedding.py --------------------------------------------
def _embedding_table(cls_name, table, parent_col, parent_ref):
    attrs = {
        "__tablename__": table,
        "id": sa.Column(sa.BigInteger, primary_key=True),
        parent_col: sa.Column(sa.BigInteger, sa.ForeignKey(parent_ref, ondelete="CASCADE"), nullable=False),
        "model": sa.Column(sa.String(100), nullable=False),
        "dim": sa.Column(sa.SmallInteger, nullable=False),
        "embedding": sa.Column(pg.ARRAY(sa.REAL), nullable=False),
        "created_at": created_at(),
        "__table_args__": (
            sa.UniqueConstraint(parent_col, "model"),
            sa.CheckConstraint("cardinality(embedding) = dim", name="dim_matches"),
        ),
    }
    return type(cls_name, (Base,), attrs)


TextEmbedding = _embedding_table("TextEmbedding", "text_embeddings", "chunk_id", "chunks.id")
ImageEmbedding = _embedding_table("ImageEmbedding", "image_embeddings", "figure_id", "figures.id")
TableEmbedding = _embedding_table("TableEmbedding", "table_embeddings", "table_id", "tables.id")


# --- app/db/models/chat.py -------------------------------------------------
class Chat(Base):
    __tablename__ = "chats"
    id = sa.Column(pg.UUID(as_uuid=True), primary_key=True, server_default=UUID_DEFAULT)
    user_id = sa.Column(pg.UUID(as_uuid=True), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True)
    title = sa.Column(sa.String(300))
    document_ids = sa.Column(pg.ARRAY(pg.UUID(as_uuid=True)), nullable=False, server_default=sa.text("'{}'::uuid[]"))
    created_at = created_at()
    updated_at = sa.Column(sa.TIMESTAMP(timezone=True))


class Message(Base):
    __tablename__ = "messages"
    id = sa.Column(sa.BigInteger, primary_key=True)
    chat_id = sa.Column(pg.UUID(as_uuid=True), sa.ForeignKey("chats.id", ondelete="CASCADE"), nullable=False)
    role = sa.Column(message_role, nullable=False)
    content = sa.Column(sa.Text, nullable=False)
    citations = sa.Column(pg.JSONB, nullable=False, server_default=sa.text("'[]'::jsonb"))
    prompt_tokens = sa.Column(sa.Integer)
    completion_tokens = sa.Column(sa.Integer)
    created_at = created_at()
    __table_args__ = (
        sa.Index("ix_messages_chat_id_created_at", "chat_id", "created_at"),
    )


class ToolRun(Base):
    __tablename__ = "tool_runs"
    id = sa.Column(sa.BigInteger, primary_key=True)
    message_id = sa.Column(sa.BigInteger, sa.ForeignKey("messages.id", ondelete="CASCADE"), nullable=False, index=True)
    tool_name = sa.Column(sa.String(100), nullable=False)
    arguments = sa.Column(pg.JSONB, nullable=False)
    result = sa.Column(pg.JSONB)
    status = sa.Column(tool_run_status, nullable=False, server_default="running")
    error = sa.Column(sa.Text)
    started_at = sa.Column(sa.TIMESTAMP(timezone=True), nullable=False, server_default=NOW)
    finished_at = sa.Column(sa.TIMESTAMP(timezone=True))
    duration_ms = sa.Column(sa.Integer)
    __table_args__ = (
        sa.CheckConstraint("duration_ms IS NULL OR duration_ms >= 0", name="duration_nonnegative"),
    )
