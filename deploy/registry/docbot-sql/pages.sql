-- Table pages, written by scripts/models-to-sql.
CREATE TABLE pages (
	id BIGSERIAL NOT NULL, 
	document_id UUID NOT NULL, 
	page_number INTEGER NOT NULL, 
	width FLOAT, 
	height FLOAT, 
	text TEXT, 
	CONSTRAINT pk_pages PRIMARY KEY (id), 
	CONSTRAINT uq_pages_document_id_page_number UNIQUE (document_id, page_number), 
	CONSTRAINT ck_pages_page_number_positive CHECK (page_number >= 1)
);

