-- What the sequencers' member registry must still be told: one row per member whose key or
-- admission an accepted change alters, at that change's effective time. Written in the same
-- transaction as the accepted change (so no change is ever forgotten, whatever crashes), and
-- deleted only once a sequencer applied the registration or disabling: until then the manager
-- retries, across restarts (an offboarding or a key revocation must reach the sequencers).
CREATE TABLE topology_sequencer_sync (
    member        text   NOT NULL,
    effective_us  bigint NOT NULL,
    PRIMARY KEY (member, effective_us)
);
