-- Table tool_runs, written by scripts/models-to-sql.
CREATE TABLE tool_runs (
	id BIGSERIAL NOT NULL, 
	message_id BIGINT NOT NULL, 
	tool_name VARCHAR(100) NOT NULL, 
	arguments JSONB NOT NULL, 
	result JSONB, 
	status tool_run_status DEFAULT 'running' NOT NULL, 
	error TEXT, 
	started_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL, 
	finished_at TIMESTAMP WITH TIME ZONE, 
	duration_ms INTEGER, 
	CONSTRAINT pk_tool_runs PRIMARY KEY (id), 
	CONSTRAINT ck_tool_runs_duration_nonnegative CHECK (duration_ms IS NULL OR duration_ms >= 0)
);

CREATE INDEX ix_tool_runs_message_id ON tool_runs (message_id);

