-- Table tables, written by scripts/models-to-sql.
CREATE TABLE tables (
	id BIGSERIAL NOT NULL, 
	document_id UUID NOT NULL, 
	page_id BIGINT, 
	caption TEXT, 
	n_rows INTEGER NOT NULL, 
	n_cols INTEGER NOT NULL, 
	cells JSONB NOT NULL, 
	markdown TEXT, 
	created_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL, 
	CONSTRAINT pk_tables PRIMARY KEY (id)
);

CREATE INDEX ix_tables_document_id ON tables (document_id);

