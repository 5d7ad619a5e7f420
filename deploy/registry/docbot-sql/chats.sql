-- Table chats, written by scripts/models-to-sql.
CREATE TABLE chats (
	id UUID DEFAULT gen_random_uuid() NOT NULL, 
	user_id UUID NOT NULL, 
	title VARCHAR(300), 
	document_ids UUID[] DEFAULT '{}'::uuid[] NOT NULL, 
	created_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL, 
	updated_at TIMESTAMP WITH TIME ZONE, 
	CONSTRAINT pk_chats PRIMARY KEY (id)
);

CREATE INDEX ix_chats_user_id ON chats (user_id);

