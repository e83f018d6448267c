-- Daml's default user `participant_admin`, holding the participant admin right, exists on
-- every participant: with an identity provider that issues only user tokens it is the one
-- way to create the first users. Created here, once per database (as Daml does), so an
-- operator who deletes it, deactivates it or revokes its right is not overruled at the
-- next start; an additional admin user from the node's configuration is the start's job.
INSERT INTO users (user_id, primary_party, is_deactivated, created_at_us)
VALUES ('participant_admin', '', false,
        (extract(epoch FROM clock_timestamp()) * 1000000)::bigint)
ON CONFLICT (user_id) DO NOTHING;

INSERT INTO user_rights (user_id, kind, party)
SELECT 'participant_admin', 'participant_admin', ''
WHERE EXISTS (SELECT 1 FROM users WHERE user_id = 'participant_admin')
ON CONFLICT DO NOTHING;
