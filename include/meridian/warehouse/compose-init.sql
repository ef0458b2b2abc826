-- docker-compose: the databases the embedded server creates locally, plus Airflow's metadata DB
-- and the read-only role BI tools use (set its password with ALTER ROLE after start-up).
create database app;
create database billing;
create database crm;
create database games;

create database airflow;
create role bi_reader nologin;
