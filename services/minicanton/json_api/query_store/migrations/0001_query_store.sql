-- The JSON API query store: a cache of one participant's active contracts, rebuildable at
-- any time (drop it and the next queries refill it from the ledger).

-- Which participant this store caches: offsets mean nothing on another participant.
CREATE TABLE query_store_meta (
    singleton      boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    participant_id text    NOT NULL
);

-- How far the store is current for each (party, template): every create and archive of that
-- template visible to that party up to last_offset is reflected. Advanced by compare-and-set.
CREATE TABLE ledger_offset (
    party       text NOT NULL,
    template_id text NOT NULL,
    last_offset text NOT NULL,
    PRIMARY KEY (party, template_id)
);

-- Contracts, active or archived. An archived row is a tombstone (payload dropped) that stays,
-- so a slower catch-up replaying the contract's create can never bring it back to life.
CREATE TABLE contract (
    contract_id    text    PRIMARY KEY,
    template_id    text    NOT NULL,
    archived       boolean NOT NULL DEFAULT false,
    payload        jsonb,
    key            jsonb,
    signatories    text[]  NOT NULL DEFAULT '{}',
    observers      text[]  NOT NULL DEFAULT '{}',
    agreement_text text    NOT NULL DEFAULT ''
);
CREATE INDEX contract_active_key ON contract (template_id, md5(key::text))
    WHERE NOT archived AND key IS NOT NULL;
CREATE INDEX contract_active_payload ON contract USING gin (payload jsonb_path_ops)
    WHERE NOT archived;

-- Who may see an active contract (its stakeholders), indexed by template and party: the
-- rows go when the contract is archived.
CREATE TABLE contract_party (
    template_id text NOT NULL,
    party       text NOT NULL,
    contract_id text NOT NULL,
    PRIMARY KEY (template_id, party, contract_id)
);
CREATE INDEX contract_party_by_contract ON contract_party (contract_id);
