-- Runs once, when the PostgreSQL volume is first initialised (docker-entrypoint-initdb.d).
-- The application connects as ferry_app, a role held to row-level security: not a superuser, no
-- BYPASSRLS. The migrations (run by the owner, DATABASE_URL) grant it its tables; the role itself is
-- created here so that it has a password. Change the password for anything but a local trial
-- (ALTER ROLE ferry_app PASSWORD '...') and set it in DATABASE_APP_URL.
CREATE ROLE ferry_app LOGIN PASSWORD 'ferry_app' NOSUPERUSER NOBYPASSRLS;
