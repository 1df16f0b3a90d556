-- The newest pass and what it has found so far (for `inspector status`).
SELECT p.pass_id, p.status, p.started_at, p.finished_at, p.cursor_id, p.rows_done, p.rows_estimate,
       p.reader_done, p.walk_done,
       (SELECT count(*) FROM results r WHERE r.pass_id = p.pass_id AND r.flags & 1) AS missing,
       (SELECT count(*) FROM results r WHERE r.pass_id = p.pass_id AND r.flags & 2) AS permissions,
       (SELECT count(*) FROM results r WHERE r.pass_id = p.pass_id AND r.flags & 4) AS corrupted,
       (SELECT count(*) FROM results r WHERE r.pass_id = p.pass_id AND r.flags & 8) AS errors
FROM passes p
ORDER BY p.pass_id DESC
LIMIT 1
