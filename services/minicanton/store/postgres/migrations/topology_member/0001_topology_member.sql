-- A member's topology: the topology transactions it accepted, in acceptance order, each with
-- the sequencing time of the event that carried it (or of the original event, for those
-- fetched at bootstrap). Replayed into the core's TopologyState at start; re-validated then,
-- so a corrupted row is caught rather than trusted. Any member database may include this
-- store ("topology_member"): the names do not clash with a member's own tables.
CREATE TABLE topology_member_transactions (
    position      bigint PRIMARY KEY CHECK (position >= 0),
    tx_hash       bytea  NOT NULL UNIQUE,
    sequenced_us  bigint NOT NULL,
    valid_from_us bigint NOT NULL,
    signed        bytea  NOT NULL
);
