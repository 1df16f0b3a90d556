-- jira_properties.sql's numbers: whether Jira uses its default attachments folder.
SELECT pe.property_key, CAST(pn.propertyvalue AS varchar)
FROM propertyentry pe
JOIN propertynumber pn ON pn.id = pe.id
WHERE pe.entity_name = 'jira.properties' AND pe.entity_id = 1
  AND pe.property_key = 'jira.path.attachments.use.default.directory'
