-- Table text_embeddings, written by scripts/models-to-sql.
CREATE TABLE text_embeddings (
	id BIGSERIAL NOT NULL, 
	chunk_id BIGINT NOT NULL, 
	model VARCHAR(100) NOT NULL, 
	dim SMALLINT NOT NULL, 
	embedding REAL[] NOT NULL, 
	created_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL, 
	CONSTRAINT pk_text_embeddings PRIMARY KEY (id), 
	CONSTRAINT uq_text_embeddings_chunk_id_model UNIQUE (chunk_id, model), 
	CONSTRAINT ck_text_embeddings_dim_matches CHECK (cardinality(embedding) = dim)
);

