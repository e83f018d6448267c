-- The topology manager's own state, beside its accepted transactions (which live in the
-- "topology_member" store of the same database: the manager learns what is accepted exactly
-- as every member does, from its sequencer subscription).

-- The domain's identity, created at the first start. The private keys stay in this database
-- (a development-grade key store: protect the database as you would the key).
CREATE TABLE topology_manager_identity (
    singleton      boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    domain_id      text   NOT NULL,
    manager_id     text   NOT NULL,
    namespace_key  bytea  NOT NULL,  -- Ed25519 seed of the root (namespace) key
    member_key     bytea  NOT NULL,  -- Ed25519 seed the manager signs its sequencer sends with
    created_at_us  bigint NOT NULL
);

-- The last sequenced event whose effects are stored; written in the same transaction as them.
CREATE TABLE topology_manager_position (
    singleton   boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    counter     bigint NOT NULL,
    ts_us       bigint NOT NULL,
    event_hash  bytea            -- for the fork check on resubscription, when known
);

-- Participants' onboarding requests: pending ones wait for an admin on a permissioned domain;
-- decided ones stay as the record of who asked and who decided what.
CREATE TABLE topology_onboarding_requests (
    participant     text   PRIMARY KEY,
    key_mapping     bytea  NOT NULL,  -- the member-signed SignedTopologyTransaction
    permission      int    NOT NULL,
    status          text   NOT NULL CHECK (status IN ('pending', 'admitted', 'rejected')),
    requested_at_us bigint NOT NULL,
    decided_at_us   bigint,
    reason          text   NOT NULL DEFAULT ''
);
CREATE INDEX topology_onboarding_pending ON topology_onboarding_requests (requested_at_us)
    WHERE status = 'pending';
