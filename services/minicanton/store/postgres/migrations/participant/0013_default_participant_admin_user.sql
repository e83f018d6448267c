-- Daml's default user `participant_admin`, holding the participant admin right, exists on
-- every participant: with an identity provider that issues only user tokens it is the one
-- way to create the first users. Created here, once per database (as Daml does), so an
-- operator who deletes it, deactivates it or revokes its right is not overruled at the
-- next start; an additional admin user from the node's configuration is the start's job.
WITH created AS (
    INSERT INTO users (user_id, primary_party, is_deactivated, created_at_us)
    -- created with the database, before any node time: 0, so that every new database
    -- starts with the same rows
    VALUES ('participant_admin', '', false, 0)
    ON CONFLICT (user_id) DO NOTHING
    RETURNING user_id
)
-- the right goes only to the user created here: a `participant_admin` an operator made
-- before this migration keeps exactly the rights it has
INSERT INTO user_rights (user_id, kind, party)
SELECT user_id, 'participant_admin', '' FROM created;
