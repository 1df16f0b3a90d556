-- Roles the Jira schema dump and the demo expect: the dump's owner, and a login that may
-- only read (what the README tells admins to create).
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'jira') THEN
        CREATE ROLE jira;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'inspector_ro') THEN
        CREATE ROLE inspector_ro LOGIN;
    END IF;
END
$$
