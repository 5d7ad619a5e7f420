-- Runs once, when the postgres container initializes its data directory
-- (/docker-entrypoint-initdb.d). schemad connects as its own role, not as
-- the superuser: it needs CREATE on the database (its scratch schema and
-- its own schema "schemad") and ownership of the application's schema.
-- Replace the example password (and the one in docker-compose.yml).
CREATE ROLE schemad LOGIN PASSWORD 'schemad-example-password-replace-me';
GRANT CREATE ON DATABASE docbot TO schemad;
ALTER SCHEMA public OWNER TO schemad;
-- The application's role keeps reading and writing what schemad creates.
ALTER DEFAULT PRIVILEGES FOR ROLE schemad IN SCHEMA public
  GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO docbot;
ALTER DEFAULT PRIVILEGES FOR ROLE schemad IN SCHEMA public
  GRANT USAGE, SELECT ON SEQUENCES TO docbot;
