-- Table image_embeddings, written by scripts/models-to-sql.
CREATE TABLE image_embeddings (
	id BIGSERIAL NOT NULL, 
	figure_id BIGINT NOT NULL, 
	model VARCHAR(100) NOT NULL, 
	dim SMALLINT NOT NULL, 
	embedding REAL[] NOT NULL, 
	created_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL, 
	CONSTRAINT pk_image_embeddings PRIMARY KEY (id), 
	CONSTRAINT uq_image_embeddings_figure_id_model UNIQUE (figure_id, model), 
	CONSTRAINT ck_image_embeddings_dim_matches CHECK (cardinality(embedding) = dim)
);

