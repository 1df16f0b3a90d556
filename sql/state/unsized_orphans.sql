-- Walked files no stored row owns whose size is not known yet (the walk reads names only).
-- Sizing sets size (-1 when the entry vanished), so repeating this query pages through them.
SELECT d.relpath
FROM disk_files d
WHERE d.pass_id = ?1 AND d.size IS NULL AND d.kind <> 'unlistable'
  AND NOT EXISTS (
      SELECT 1 FROM results r
      WHERE r.pass_id = d.pass_id AND r.id = d.att_id AND r.relpath = d.relpath)
LIMIT ?2
