-- Every column, only for the rows a report shows in full: the flagged ones and those of the
-- largest attachments and issues (largest_issue_sizes is made first, by
-- largest_issue_sizes.sql; then shown_rows.sql, largest.sql and flagged.sql). Which rows those are is
-- found narrow here; while they are few, only their rows are then read whole, by id, through
-- SQLite's own primary key: the sqlite scanner pushes no filter down, and a filtered scan
-- of every column of a million rows took 1.4 s and 30 MB to keep 17,000 of them (now 0.9 s
-- for both steps). The ids go in as constant lists: written as IN (subquery), DuckDB joined
-- the whole table against them and ran out of the report's memory.
CREATE OR REPLACE TEMP TABLE largest_attachment_sizes AS FROM main.largest_attachment_sizes;
SET VARIABLE largest_ids = (SELECT coalesce(list(id), []) FROM largest_attachment_sizes);
SET VARIABLE largest_issue_ids = (SELECT coalesce(list(issue_id), []) FROM largest_issue_sizes);
-- One id more than report.FEW_ROWS at most: beyond that many (a bad chown flags every
-- attachment) the rows are read by one scan instead (shown_rows_scan.sql), and a list of every
-- id would have to fit in the build's memory.
SET VARIABLE shown_ids = (
    SELECT coalesce(to_json(list(id)), '[]')::VARCHAR FROM (
        SELECT id FROM checked
        WHERE flags <> 0
           OR list_contains(getvariable('largest_ids'), id)
           OR list_contains(getvariable('largest_issue_ids'), issue_id)
        LIMIT getvariable('few_rows') + 1));
-- sqlite_query returns text: each column gets back the type the attached state gives it.
CREATE OR REPLACE TEMP VIEW shown_results AS
SELECT CAST(pass_id AS BIGINT) AS pass_id, CAST(id AS BIGINT) AS id, CAST(issue_id AS BIGINT) AS issue_id,
       CAST(issue_exists AS BIGINT) AS issue_exists, CAST(issue_num AS BIGINT) AS issue_num,
       CAST(project_id AS BIGINT) AS project_id, project_key, original_key, project_name, issue_summary,
       filename, CAST(filesize AS BIGINT) AS filesize, mimetype, author, CAST(created AS BIGINT) AS created,
       relpath, CAST(actual_size AS BIGINT) AS actual_size, CAST(mode AS BIGINT) AS mode,
       CAST(uid AS BIGINT) AS uid, CAST(gid AS BIGINT) AS gid, CAST(mtime AS BIGINT) AS mtime,
       CAST(flags AS BIGINT) AS flags, detail
FROM sqlite_query(
    'state', 'SELECT * FROM results WHERE pass_id = ? AND id IN (SELECT value FROM json_each(?))',
    params = (getvariable('pass_id')::BIGINT, getvariable('shown_ids')));
