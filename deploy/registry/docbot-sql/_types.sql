-- Enum types, written by scripts/models-to-sql.
CREATE TYPE document_status AS ENUM ('pending', 'processing', 'ready', 'failed');

CREATE TYPE message_role AS ENUM ('system', 'user', 'assistant', 'tool');

CREATE TYPE tool_run_status AS ENUM ('running', 'succeeded', 'failed');

CREATE TYPE user_role AS ENUM ('user', 'admin');

