#!/bin/bash
# Runs once, when the container initialises an empty data directory (official postgres image).
# Creates the extension (which creates the NOLOGIN role ltv_web with EXECUTE on the ltv_api
# functions only) and the login role PostgREST connects as, allowed to switch to ltv_web.
set -euo pipefail

psql -v ON_ERROR_STOP=1 --no-psqlrc \
  --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
  -v authpw="${LTV_AUTHENTICATOR_PASSWORD:-change-me}" <<'SQL'
CREATE EXTENSION IF NOT EXISTS retail_ltv;

SELECT NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'authenticator') AS need_role \gset
\if :need_role
  CREATE ROLE authenticator LOGIN NOINHERIT;
\endif
ALTER ROLE authenticator PASSWORD :'authpw';
GRANT ltv_web, ltv_viewer, ltv_analyst, ltv_reader TO authenticator;  -- the roles a token may name (docs/security.md)
SQL
