-- Table messages, written by scripts/models-to-sql.
CREATE TABLE messages (
	id BIGSERIAL NOT NULL, 
	chat_id UUID NOT NULL, 
	role message_role NOT NULL, 
	content TEXT NOT NULL, 
	citations JSONB DEFAULT '[]'::jsonb NOT NULL, 
	prompt_tokens INTEGER, 
	completion_tokens INTEGER, 
	created_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL, 
	CONSTRAINT pk_messages PRIMARY KEY (id)
);

CREATE INDEX ix_messages_chat_id_created_at ON messages (chat_id, created_at);

