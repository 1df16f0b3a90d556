-- Before a step whose memory grows with the instance (one group per issue): one thread and
-- a small limit, so that DuckDB spills instead (1M attachments: +22-30 MB instead of +55 MB,
-- 1.0 s instead of 0.4 s). release_memory.sql restores the build's settings after it.
SET threads = 1;
SET memory_limit = getvariable('step_memory_limit');
