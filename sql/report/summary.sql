-- The headline numbers of summary.json (one row), from what a report build has materialized:
-- storage_facts (its years take in every row), flagged_rows, orphan_rows and the count of
-- unlistable folders (orphans_collect.sql).
WITH totals AS (
    SELECT coalesce(sum(attachments), 0)::BIGINT AS total_attachments,
           coalesce(sum(declared_bytes), 0)::BIGINT AS total_bytes, coalesce(sum(bytes), 0)::BIGINT AS disk_bytes
    FROM storage_facts WHERE dimension = 'year'
)
SELECT
    t.total_attachments,
    t.total_bytes,
    t.disk_bytes,
    (SELECT count(*) FILTER (WHERE missing) FROM flagged_rows)                 AS missing,
    (SELECT count(*) FILTER (WHERE permissions) FROM flagged_rows)             AS permissions,
    (SELECT count(*) FILTER (WHERE corrupted) FROM flagged_rows)               AS corrupted,
    (SELECT count(*) FILTER (WHERE error) FROM flagged_rows)                   AS errors,
    (SELECT count(DISTINCT coalesce(issue_id, -id)) FROM flagged_rows)         AS issues_with_problems,
    (SELECT count(*) FROM orphan_rows)                                         AS orphans,
    (SELECT coalesce(sum(size) FILTER (WHERE size > 0), 0) FROM orphan_rows)   AS orphan_bytes,
    getvariable('unlistable_folders')                                          AS unlistable_folders
FROM totals t
