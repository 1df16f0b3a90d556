-- Between the steps of a report build: DuckDB's worker threads keep the memory a step used
-- after it ends, so each step's peak came on top of the last one's. Setting the thread count
-- stops and restarts them, and what they kept is returned (1M attachments: the report's
-- peak fell from 143-152 MB to 129-130 MB in a bare process, in the same time). The build's
-- own limits (report.connect) come back with them after a step of its own (one_thread.sql).
SET threads = 1;
SET memory_limit = getvariable('report_memory_limit');
SET threads = getvariable('report_threads');
