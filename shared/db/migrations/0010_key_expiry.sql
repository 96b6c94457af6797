-- API keys may expire (landsync keys create --expires-in / --expires): intake refuses an expired
-- key with 401, as it does a revoked one.
ALTER TABLE api_keys ADD COLUMN expires_at timestamptz;
