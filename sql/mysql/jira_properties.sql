-- Jira's own settings the scan can use, where the login may read them: its base URL (links
-- right without INSPECTOR_JIRA_URL) and a custom attachments path with the flag that says
-- whether it is used. A login granted only the three attachment tables cannot: the caller then
-- goes on without.
SELECT pe.property_key, ps.propertyvalue
FROM propertyentry pe
JOIN propertystring ps ON ps.id = pe.id
WHERE pe.entity_name = 'jira.properties' AND pe.entity_id = 1
  AND pe.property_key IN ('jira.baseurl', 'jira.path.attachments')
