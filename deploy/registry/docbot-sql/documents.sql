-- Table documents, written by scripts/models-to-sql.
CREATE TABLE documents (
	id UUID DEFAULT gen_random_uuid() NOT NULL, 
	owner_id UUID NOT NULL, 
	title VARCHAR(500) NOT NULL, 
	filename VARCHAR(500) NOT NULL, 
	mime_type VARCHAR(100) NOT NULL, 
	sha256 CHAR(64) NOT NULL, 
	size_bytes BIGINT NOT NULL, 
	status document_status DEFAULT 'pending' NOT NULL, 
	page_count INTEGER, 
	metadata JSONB DEFAULT '{}'::jsonb NOT NULL, 
	error TEXT, 
	created_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL, 
	updated_at TIMESTAMP WITH TIME ZONE, 
	CONSTRAINT pk_documents PRIMARY KEY (id), 
	CONSTRAINT uq_documents_owner_id_sha256 UNIQUE (owner_id, sha256), 
	CONSTRAINT ck_documents_size_nonnegative CHECK (size_bytes >= 0)
);

CREATE INDEX ix_documents_in_progress ON documents (created_at) WHERE status IN ('pending', 'processing');

CREATE INDEX ix_documents_owner_id ON documents (owner_id);

