-- Orphans among the walked files claiming an id in [?1, ?2] (files claiming none are always
-- orphans: the caller passes NULL bounds for them). A file is owned when a row of the pass
-- resolved to exactly its path (compared by 64-bit hash: a false match needs the same id and
-- a colliding hash, about one chance in 10^19).
INSERT INTO orphan_keys
SELECT w.att_id, w.h
FROM walked w
WHERE (CASE WHEN ?1 IS NULL THEN w.att_id IS NULL ELSE w.att_id BETWEEN ?1 AND ?2 END)
  AND NOT EXISTS (
      SELECT 1 FROM owned o
      WHERE o.id BETWEEN ?1 AND ?2 AND o.id = w.att_id AND o.h = w.h)
