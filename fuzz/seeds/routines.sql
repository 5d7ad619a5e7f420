-- A hand-written SQL registry seed: every statement kind of the allowlist.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE TYPE note_state AS ENUM ('draft', 'published', 'archived');
CREATE SEQUENCE note_numbers START 100 INCREMENT BY 5;
CREATE TABLE notes (
    id bigint GENERATED ALWAYS AS IDENTITY,
    owner_id uuid NOT NULL,
    slug text NOT NULL COLLATE "C",
    state note_state NOT NULL DEFAULT 'draft',
    number integer NOT NULL DEFAULT nextval('note_numbers'),
    body text,
    words integer GENERATED ALWAYS AS (length(body)) STORED,
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT pk_notes PRIMARY KEY (id),
    CONSTRAINT ck_notes_slug CHECK (slug <> '' AND length(slug) < 200)
) WITH (fillfactor = 80);
CREATE UNLOGGED TABLE note_cache (id bigint PRIMARY KEY, payload jsonb);
ALTER SEQUENCE note_numbers OWNED BY notes.number;
CREATE UNIQUE INDEX ux_notes_slug ON notes (slug) WHERE state <> 'archived';
CREATE INDEX ix_notes_body ON notes USING gin (body gin_trgm_ops);
ALTER TABLE notes ADD CONSTRAINT uq_notes_number UNIQUE (number) DEFERRABLE INITIALLY DEFERRED;
ALTER TABLE notes ADD CONSTRAINT fk_notes_cache FOREIGN KEY (id) REFERENCES note_cache (id) ON DELETE CASCADE NOT VALID;
ALTER TABLE notes ENABLE ROW LEVEL SECURITY;
ALTER TABLE notes FORCE ROW LEVEL SECURITY;
CREATE FUNCTION touch_updated_at() RETURNS trigger LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
    AS $$ BEGIN NEW.updated_at := now(); RETURN NEW; END $$;
CREATE OR REPLACE FUNCTION note_words(n notes) RETURNS integer LANGUAGE sql STABLE
    RETURN coalesce(n.words, 0);
CREATE PROCEDURE archive_notes(before timestamptz) LANGUAGE sql
    AS $$ UPDATE notes SET state = 'archived' WHERE updated_at < before $$;
CREATE TRIGGER trg_notes_touch BEFORE UPDATE ON notes
    FOR EACH ROW WHEN (OLD.body IS DISTINCT FROM NEW.body) EXECUTE FUNCTION touch_updated_at();
CREATE CONSTRAINT TRIGGER trg_notes_check AFTER INSERT ON notes
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION touch_updated_at();
ALTER TABLE notes DISABLE TRIGGER trg_notes_check;
CREATE VIEW published_notes WITH (security_barrier) AS
    SELECT id, slug, body FROM notes WHERE state = 'published' WITH CASCADED CHECK OPTION;
CREATE MATERIALIZED VIEW note_counts AS
    SELECT owner_id, count(*) AS n FROM notes GROUP BY owner_id WITH NO DATA;
CREATE UNIQUE INDEX ux_note_counts_owner_id ON note_counts (owner_id);
COMMENT ON TABLE notes IS 'a user''s notes';
COMMENT ON COLUMN notes.slug IS 'unique, URL-safe';
COMMENT ON VIEW published_notes IS $c$what readers see$c$;
COMMENT ON FUNCTION touch_updated_at() IS 'sets updated_at';
COMMENT ON TRIGGER trg_notes_touch ON notes IS 'keeps updated_at';
COMMENT ON INDEX ux_notes_slug IS 'not read';
