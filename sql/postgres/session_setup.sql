-- Every pooled connection: read-only whatever the role may do, and a bounded statement time,
-- so a mistake on our side can neither write to nor stall Jira's database.
SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY
