-- The newest pass and what it has found so far (for `inspector status`).
SELECT p.pass_id, p.status, p.started_at, p.finished_at, p.cursor_id, p.rows_done, p.rows_estimate,
       p.reader_done, p.walk_done, p.head_id, p.cursor_old, p.new_done,
       (SELECT count(*) FROM results r WHERE r.pass_id = p.pass_id AND r.flags & :flag_missing) AS missing,
       (SELECT count(*) FROM results r WHERE r.pass_id = p.pass_id AND r.flags & :flag_permissions) AS permissions,
       (SELECT count(*) FROM results r WHERE r.pass_id = p.pass_id AND r.flags & :flag_corrupted) AS corrupted,
       (SELECT count(*) FROM results r WHERE r.pass_id = p.pass_id AND r.flags & :flag_error) AS errors,
       (SELECT count(*) FROM disk_files d WHERE d.pass_id = p.pass_id AND d.kind <> 'unlistable')
       + (SELECT coalesce(sum(length(w.names) - length(replace(w.names, '/', '')) + 1), 0)
          FROM walked_folders w WHERE w.pass_id = p.pass_id) AS walked
FROM passes p
ORDER BY p.pass_id DESC
LIMIT 1
