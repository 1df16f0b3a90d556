-- Keys of walked files in [?1, ?2] that no row of the pass owns (materialize.sql).
INSERT INTO orphan_keys
SELECT w.k FROM walked w
WHERE w.k BETWEEN ?1 AND ?2
  AND NOT EXISTS (SELECT 1 FROM owned o WHERE o.k BETWEEN ?1 AND ?2 AND o.k = w.k)
