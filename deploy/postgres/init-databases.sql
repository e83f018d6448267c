-- One database per node, as `minicanton localnet` creates them (layout.database_names()).
-- Run once by the postgres image on an empty data directory (docker-entrypoint-initdb.d),
-- in compose and in deploy/k8s/postgres.yaml. The sequencers share one database (active-
-- active), so do the mediator's instances (active-passive); every JSON API has its own
-- query store.
CREATE DATABASE mc_sequencer;
CREATE DATABASE mc_topology;
CREATE DATABASE mc_mediator;
CREATE DATABASE mc_bank;
CREATE DATABASE mc_sr;
CREATE DATABASE mc_alice;
CREATE DATABASE mc_bob;
CREATE DATABASE mc_bank_json_api;
CREATE DATABASE mc_sr_json_api;
CREATE DATABASE mc_alice_json_api;
CREATE DATABASE mc_bob_json_api;
