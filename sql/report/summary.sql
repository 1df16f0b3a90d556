-- The headline numbers of summary.json (one row).
SELECT
    (SELECT count(*) FROM attachments)                                        AS total_attachments,
    (SELECT coalesce(sum(filesize), 0) FROM attachments)                      AS total_bytes,
    (SELECT count(*) FILTER (WHERE missing) FROM attachments)                 AS missing,
    (SELECT count(*) FILTER (WHERE permissions) FROM attachments)             AS permissions,
    (SELECT count(*) FILTER (WHERE corrupted) FROM attachments)               AS corrupted,
    (SELECT count(*) FILTER (WHERE error) FROM attachments)                   AS errors,
    (SELECT count(DISTINCT coalesce(issue_id, -id)) FILTER (WHERE flagged) FROM attachments)
                                                                              AS issues_with_problems,
    (SELECT count(*) FROM orphans)                                            AS orphans,
    (SELECT coalesce(sum(size) FILTER (WHERE size > 0), 0) FROM orphans)      AS orphan_bytes,
    (SELECT count(*) FROM disk_files WHERE kind = 'unlistable')               AS unlistable_folders
