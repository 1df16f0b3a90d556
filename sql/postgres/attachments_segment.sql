-- One keyset segment of attachment rows (ids in (after, until]) with their issue and project, in id order.
-- LEFT JOINs on purpose: a row whose issue or project is gone cannot be served by Jira
-- and must be reported as missing, not silently dropped.
-- numeric(18,0) is cast to bigint so no Decimal reaches Python; the comparison on fa.id
-- stays numeric so the primary key index drives the scan (never OFFSET). A shard's rows are those
-- with id mod shards = shard: the index still drives the scan, past the other shards' ids.
-- Without shards the test is folded away before planning: PostgreSQL guesses that an equality
-- on an expression keeps one row in 200, and for so few rows it joined the projects by a
-- scan of all of them per row (a cursor over 200,000 attachments: 0.35-0.40 s of server time
-- a 100k segment, 0.32-0.33 s without the test; as a plain SELECT the guess even sorted every
-- remaining row on disk).
SELECT fa.id::bigint                             AS id,
       fa.issueid::bigint                        AS issue_id,
       (ji.id IS NOT NULL)                       AS issue_exists,
       ji.issuenum::bigint                       AS issue_num,
       p.id::bigint                              AS project_id,
       p.pkey                                    AS project_key,
       coalesce(p.originalkey, p.pkey)           AS original_key,
       p.pname                                   AS project_name,
       ji.summary                                AS issue_summary,
       fa.filename                               AS filename,
       fa.filesize::bigint                       AS filesize,
       fa.mimetype                               AS mimetype,
       fa.author                                 AS author,
       extract(epoch FROM fa.created)::bigint    AS created
FROM fileattachment fa
LEFT JOIN jiraissue ji ON ji.id = fa.issueid
LEFT JOIN project p ON p.id = ji.project
WHERE fa.id > %(after)s::numeric AND fa.id <= %(until)s::numeric
  AND (%(shards)s::integer = 1 OR mod(fa.id, %(shards)s::numeric) = %(shard)s::numeric)    -- INSPECTOR_SHARDS
ORDER BY fa.id
LIMIT %(limit)s
