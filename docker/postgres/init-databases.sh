#!/bin/sh
# First start of the postgres service only (docker-entrypoint-initdb.d): one role
# and one database per client, each role owning its database and nothing else.
#   ufo   - the pipeline's load (TopStatesToDatabase)   password: UFO_DB_PASSWORD
#   luigi - luigid's task history                      password: LUIGI_DB_PASSWORD
# Passwords come from the environment and reach SQL as psql variables (quoted by
# psql, never pasted into the SQL text). Changing them later: ALTER ROLE ... PASSWORD.
set -eu
: "${UFO_DB_PASSWORD:?UFO_DB_PASSWORD is not set}"
: "${LUIGI_DB_PASSWORD:?LUIGI_DB_PASSWORD is not set}"

psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
    -v ufo_password="$UFO_DB_PASSWORD" -v luigi_password="$LUIGI_DB_PASSWORD" <<'SQL'
CREATE ROLE ufo LOGIN PASSWORD :'ufo_password';
CREATE DATABASE ufo OWNER ufo;
REVOKE ALL ON DATABASE ufo FROM PUBLIC;
CREATE ROLE luigi LOGIN PASSWORD :'luigi_password';
CREATE DATABASE luigi OWNER luigi;
REVOKE ALL ON DATABASE luigi FROM PUBLIC;
SQL
