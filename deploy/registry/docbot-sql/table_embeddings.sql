-- Table table_embeddings, written by scripts/models-to-sql.
CREATE TABLE table_embeddings (
	id BIGSERIAL NOT NULL, 
	table_id BIGINT NOT NULL, 
	model VARCHAR(100) NOT NULL, 
	dim SMALLINT NOT NULL, 
	embedding REAL[] NOT NULL, 
	created_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL, 
	CONSTRAINT pk_table_embeddings PRIMARY KEY (id), 
	CONSTRAINT uq_table_embeddings_table_id_model UNIQUE (table_id, model), 
	CONSTRAINT ck_table_embeddings_dim_matches CHECK (cardinality(embedding) = dim)
);

