-- The `analytics` role: reads the fleet like a viewer, and the daily flight analytics (docs/security.md).
ALTER TABLE auth.users DROP CONSTRAINT users_role_check;
ALTER TABLE auth.users ADD CONSTRAINT users_role_check CHECK (role IN ('admin', 'operator', 'viewer', 'analytics'));
