-- Orphans among the walked files claiming an id in [?1, ?2] (files claiming none are always
-- orphans: the caller passes NULL bounds for them). The anti-join is done one id range at a
-- time so its hash table stays small however many attachments there are.
INSERT INTO orphan_rows
SELECT d.relpath, d.size, d.kind, d.att_id
FROM disk_files d
WHERE d.kind <> 'unlistable'
  AND (CASE WHEN ?1 IS NULL THEN d.att_id IS NULL ELSE d.att_id BETWEEN ?1 AND ?2 END)
  AND NOT EXISTS (
      SELECT 1 FROM state.results r
      WHERE r.pass_id = getvariable('pass_id') AND r.id BETWEEN ?1 AND ?2
        AND r.id = d.att_id AND r.relpath = d.relpath)
