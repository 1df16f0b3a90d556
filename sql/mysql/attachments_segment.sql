-- One keyset segment of attachment rows (ids in (after, until]) with their issue and project,
-- in id order: postgres/attachments_segment.sql in MySQL's dialect. Jira keeps ids and numbers
-- as DECIMAL(18,0): cast to SIGNED so ints, not Decimals, reach Python, while the comparison
-- on fa.id stays DECIMAL so the primary key drives the scan. DATETIME has no zone: read as
-- UTC (the session's time_zone is +00:00); a NULL or zero date is NULL.
SELECT CAST(fa.id AS SIGNED)                                  AS id,
       CAST(fa.issueid AS SIGNED)                             AS issue_id,
       (ji.id IS NOT NULL)                                    AS issue_exists,
       CAST(ji.issuenum AS SIGNED)                            AS issue_num,
       CAST(p.id AS SIGNED)                                   AS project_id,
       p.pkey                                                 AS project_key,
       coalesce(p.originalkey, p.pkey)                        AS original_key,
       p.pname                                                AS project_name,
       ji.summary                                             AS issue_summary,
       fa.filename                                            AS filename,
       CAST(fa.filesize AS SIGNED)                            AS filesize,
       fa.mimetype                                            AS mimetype,
       fa.author                                              AS author,
       CASE WHEN fa.created >= '1970-01-01 00:00:01' THEN CAST(UNIX_TIMESTAMP(fa.created) AS SIGNED) END AS created
FROM fileattachment fa
LEFT JOIN jiraissue ji ON ji.id = fa.issueid
LEFT JOIN project p ON p.id = ji.project
WHERE fa.id > %(after)s AND fa.id <= %(until)s
  AND MOD(fa.id, %(shards)s) = %(shard)s    -- INSPECTOR_SHARDS; 1 and 0 without
ORDER BY fa.id
LIMIT %(limit)s
