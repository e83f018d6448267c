-- Sequenced events are now hashed over their exact serialized bytes (docs/adr/0012, session 6
-- amendment), no longer rebuilt from their envelopes: a hash stored by an earlier release is
-- not the hash this release computes for the same event, and comparing them on resubscription
-- would report a fork that is not one. Forgotten here, the resumed position is linked by the
-- counter and timestamp chain check alone (the path of a position stored without a hash), and
-- the next event stored carries a hash of the new kind.
UPDATE topology_manager_position SET event_hash = NULL;
