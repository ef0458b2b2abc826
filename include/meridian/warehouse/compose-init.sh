#!/usr/bin/env bash
# docker-compose: run once by the postgres image, as the superuser, when its data volume is first initialised.
# The pipeline runs as `meridian`, a login role that is not a superuser (so the marts' row-level security
# binds everyone but the marts' owner) and has CREATEROLE (for `meridian bi grant` and the KPI API's roles).
# It owns the warehouse, the demo source databases and Airflow's metadata database.
set -euo pipefail
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
    --set pipeline_password="$MERIDIAN_DB_PASSWORD" <<'SQL'
create role meridian login createrole password :'pipeline_password';
create database warehouse owner meridian;
create database app owner meridian;
create database billing owner meridian;
create database crm owner meridian;
create database games owner meridian;
create database airflow owner meridian;
SQL
