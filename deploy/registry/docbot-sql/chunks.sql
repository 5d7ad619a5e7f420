-- Table chunks, written by scripts/models-to-sql.
CREATE TABLE chunks (
	id BIGSERIAL NOT NULL, 
	document_id UUID NOT NULL, 
	page_id BIGINT, 
	chunk_index INTEGER NOT NULL, 
	content TEXT NOT NULL, 
	content_tsv TSVECTOR GENERATED ALWAYS AS (to_tsvector('english'::regconfig, content)) STORED, 
	token_count INTEGER NOT NULL, 
	char_start INTEGER, 
	char_end INTEGER, 
	CONSTRAINT pk_chunks PRIMARY KEY (id), 
	CONSTRAINT uq_chunks_document_id_chunk_index UNIQUE (document_id, chunk_index)
);

CREATE INDEX ix_chunks_content_tsv ON chunks USING gin (content_tsv);

CREATE INDEX ix_chunks_document_id ON chunks (document_id);

