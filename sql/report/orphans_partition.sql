-- Keys of walked files in [?1, ?2] that no row of the pass owns (materialize.sql). The bounds
-- are cast to the keys' type: bound as Python ints above 2^63 they arrive as HUGEINT and every
-- key was cast to compare (with the NOT EXISTS DuckDB also planned, the ten partitions of 1M
-- attachments took 0.5 s; written so, 0.2 s).
INSERT INTO orphan_keys
SELECT w.k FROM walked w
ANTI JOIN (SELECT k FROM owned WHERE k BETWEEN CAST(?1 AS UBIGINT) AND CAST(?2 AS UBIGINT)) o ON o.k = w.k
WHERE w.k BETWEEN CAST(?1 AS UBIGINT) AND CAST(?2 AS UBIGINT)
