-- Table figures, written by scripts/models-to-sql.
CREATE TABLE figures (
	id BIGSERIAL NOT NULL, 
	document_id UUID NOT NULL, 
	page_id BIGINT, 
	caption TEXT, 
	image_path VARCHAR(1000) NOT NULL, 
	bbox FLOAT[], 
	created_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL, 
	CONSTRAINT pk_figures PRIMARY KEY (id)
);

CREATE INDEX ix_figures_document_id ON figures (document_id);

