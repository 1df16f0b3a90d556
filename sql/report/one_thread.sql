-- Before a step that runs on one thread (report._one_thread): the per-issue totals, which
-- then spill within their own small limit instead of growing with the instance, and the
-- shown rows, which one thread builds as quickly with less memory. release_memory.sql
-- restores the build's settings after it.
SET threads = 1;
