-- Storage analytics and duplicates, for the report and for `inspector report --sql`.
-- Bytes are bytes on disk (actual_size); a missing file counts 0.

-- Hashes still valid for the file this pass saw (same path, size and mtime).
CREATE OR REPLACE VIEW file_hashes AS
SELECT a.id, a.relpath, h.size, lower(hex(h.head_tail)) AS head_tail, lower(hex(h.full_hash)) AS full_hash,
       h.error, h.hashed_at
FROM hash_source h
JOIN attachments a ON a.relpath = h.relpath AND a.actual_size = h.size AND a.mtime_unix = h.mtime;

-- Every file that has a byte-identical twin: the oldest upload (then the lowest id) of each
-- group is the original, the others are copies. Only files that exist, are readable and are
-- not empty take part.
CREATE OR REPLACE VIEW duplicates AS
WITH hashed AS (
    SELECT a.*, lower(hex(h.full_hash)) AS group_id
    FROM hash_source h
    JOIN attachments a ON a.relpath = h.relpath AND a.actual_size = h.size AND a.mtime_unix = h.mtime
    WHERE h.full_hash IS NOT NULL AND NOT (a.missing OR a.permissions OR a.error) AND a.actual_size > 0
), ranked AS (
    SELECT *, count(*) OVER g AS group_files,
           row_number() OVER (g ORDER BY created NULLS LAST, id) AS position,
           first_value(id) OVER (g ORDER BY created NULLS LAST, id) AS original_id,
           first_value(link) OVER (g ORDER BY created NULLS LAST, id) AS original_link,
           first_value(filename) OVER (g ORDER BY created NULLS LAST, id) AS original_filename,
           first_value(issue_key) OVER (g ORDER BY created NULLS LAST, id) AS original_issue_key
    FROM hashed
    WINDOW g AS (PARTITION BY actual_size, group_id)
)
SELECT group_id, position = 1 AS is_original, position, group_files, original_id, original_link,
       original_filename, original_issue_key, id, link, issue_key, issue_link, project_key, project_name, author, created, filename,
       actual_size AS size
FROM ranked
WHERE group_files > 1;

CREATE OR REPLACE VIEW duplicate_groups AS
SELECT group_id, any_value(size) AS size, count(*) AS files, (count(*) - 1) * any_value(size) AS wasted_bytes,
       any_value(original_id) AS original_id, any_value(original_link) AS original_link,
       min(created) AS first_upload, max(created) AS last_upload,
       count(DISTINCT project_key) AS projects,
       string_agg(DISTINCT project_key, ',' ORDER BY project_key) AS project_keys,
       any_value(filename) FILTER (WHERE is_original) AS filename
FROM duplicates
GROUP BY group_id;

-- Attachments, bytes and problems per project, file type, uploader and year of upload, in one
-- scan (the report reads this once into a temporary table of the same name).
-- Extension: the filename's last dot-part (lower case, at most 10 letters or digits), else ''.
-- Sizes come straight from the results, without the folder verdicts `checked` adds (they
-- change no size and cost a join and every path); the problem counts come from the flagged
-- rows of `flagged_src` alone (a row with no problem counts in none of them), which a report
-- build has read anyway (flagged.sql). Both kinds of row get their dimensions from one
-- projection.
CREATE OR REPLACE MACRO storage_facts_with(flagged_src) AS TABLE
SELECT CASE WHEN grouping(project_key) = 0 THEN 'project' WHEN grouping(extension) = 0 THEN 'type'
            WHEN grouping(author) = 0 THEN 'author' ELSE 'year' END AS dimension,
       project_key,
       CASE WHEN grouping(project_key) = 0 AND project_key IS NULL THEN '(issue or project deleted)'
            ELSE any_value(project_name) END AS project_name,
       extension, mimetype, author, year,
       sum(n)::BIGINT AS attachments, coalesce(sum(actual_size), 0)::BIGINT AS bytes,
       coalesce(sum(filesize), 0)::BIGINT AS declared_bytes,
       sum(missing)::BIGINT AS missing, sum(permissions)::BIGINT AS permissions,
       sum(corrupted)::BIGINT AS corrupted, sum(errors)::BIGINT AS errors
FROM (
    SELECT project_key, project_name, actual_size, filesize, n, missing, permissions, corrupted, errors,
           lower(regexp_extract(coalesce(filename, ''), '\.([A-Za-z0-9]{1,10})$', 1)) AS extension,
           coalesce(mimetype, '') AS mimetype, coalesce(author, '') AS author, year(created) AS year
    FROM (
        SELECT project_key, project_name, actual_size, filesize, 1 AS n,
               0 AS missing, 0 AS permissions, 0 AS corrupted, 0 AS errors,
               filename, mimetype, author, make_timestamp(created * 1000000) AS created
        FROM state.results
        WHERE pass_id = getvariable('pass_id')
        UNION ALL
        SELECT project_key, project_name, NULL, NULL, 0,
               missing::INTEGER, permissions::INTEGER, corrupted::INTEGER, error::INTEGER,
               filename, mimetype, author, created
        FROM query_table(flagged_src)
    )
)
GROUP BY GROUPING SETS ((project_key), (extension, mimetype), (author), (year));

CREATE OR REPLACE VIEW flagged_attachments AS SELECT * FROM attachments WHERE flagged;

CREATE OR REPLACE VIEW storage_facts AS FROM storage_facts_with('flagged_attachments');

CREATE OR REPLACE VIEW storage_by_project AS
WITH dup AS (
    SELECT project_key, count(*) AS copies, sum(size) AS bytes FROM duplicates WHERE NOT is_original GROUP BY 1
)
SELECT f.project_key, f.project_name, f.attachments, f.bytes, f.missing, f.permissions, f.corrupted, f.errors,
       coalesce(d.copies, 0) AS duplicate_copies, coalesce(d.bytes, 0) AS duplicate_bytes
FROM storage_facts f
LEFT JOIN dup d ON d.project_key IS NOT DISTINCT FROM f.project_key
WHERE f.dimension = 'project';

CREATE OR REPLACE VIEW storage_by_type AS
SELECT extension, mimetype, attachments, bytes FROM storage_facts WHERE dimension = 'type';

CREATE OR REPLACE VIEW storage_by_author AS
SELECT author, attachments, bytes FROM storage_facts WHERE dimension = 'author';

CREATE OR REPLACE VIEW storage_by_year AS
SELECT year, attachments, bytes FROM storage_facts WHERE dimension = 'year';

-- The hundred largest attachments and issues, narrow first: ids and bytes only (half a million
-- issues must not hold their keys, links and summaries in one hash table), read straight from
-- the results (the folder verdicts `checked` adds change no size).
CREATE OR REPLACE VIEW largest_attachment_sizes AS
SELECT id, actual_size FROM state.results
WHERE pass_id = getvariable('pass_id') AND actual_size IS NOT NULL
ORDER BY actual_size DESC, id
LIMIT 100;

CREATE OR REPLACE VIEW largest_issue_sizes AS
SELECT issue_id, count(*) AS attachments, coalesce(sum(actual_size), 0) AS bytes
FROM state.results
WHERE pass_id = getvariable('pass_id') AND issue_id IS NOT NULL
GROUP BY issue_id
ORDER BY bytes DESC, issue_id
LIMIT 100;

-- Then their links and names, looked up in the attachment rows of table `src`: the views
-- below look in all of them; a report build looks in the few rows it reads anyway with the
-- flagged ones (shown_rows.sql), which saves two full reads of every column of the state.
CREATE OR REPLACE MACRO largest_attachments_in(src) AS TABLE
SELECT a.id, a.link, a.issue_key, a.issue_link, a.project_key, a.filename, a.author, a.created, t.actual_size AS size
FROM largest_attachment_sizes t
JOIN query_table(src) a ON a.id = t.id
ORDER BY t.actual_size DESC, t.id;

CREATE OR REPLACE MACRO largest_issues_in(src) AS TABLE
SELECT t.issue_id, any_value(a.issue_key) AS issue_key, any_value(a.issue_link) AS issue_link,
       any_value(a.project_key) AS project_key, any_value(a.issue_summary) AS issue_summary,
       t.attachments, t.bytes
FROM largest_issue_sizes t
JOIN query_table(src) a ON a.issue_id = t.issue_id
GROUP BY t.issue_id, t.attachments, t.bytes
ORDER BY t.bytes DESC, t.issue_id;

CREATE OR REPLACE VIEW largest_attachments AS FROM largest_attachments_in('attachments');
CREATE OR REPLACE VIEW largest_issues AS FROM largest_issues_in('attachments');

-- Jira Cloud: storage by the status category of the issue (new, indeterminate, done), and by
-- how long the issue has gone without an update when the pass started (whole years). Done
-- issues untouched for years hold the attachments admins archive first. Empty for Data Center.
CREATE OR REPLACE VIEW issue_facts AS
SELECT issue_id, status, status_category, issue_type, make_timestamp(updated * 1000000) AS updated
FROM facts_source;

CREATE OR REPLACE VIEW storage_by_status_category AS
SELECT f.status_category, count(*) AS attachments, count(DISTINCT r.issue_id) AS issues,
       coalesce(sum(r.actual_size), 0)::BIGINT AS bytes
FROM state.results r
JOIN facts_source f ON f.issue_id = r.issue_id
WHERE r.pass_id = getvariable('pass_id')
GROUP BY 1;

CREATE OR REPLACE VIEW storage_by_staleness AS
SELECT f.status_category,
       least(3, floor((epoch(CAST(p.started_at AS TIMESTAMP)) - f.updated) / (365.25 * 86400)))::INTEGER
           AS years_untouched,
       count(*) AS attachments, count(DISTINCT r.issue_id) AS issues,
       coalesce(sum(r.actual_size), 0)::BIGINT AS bytes
FROM state.results r
JOIN facts_source f ON f.issue_id = r.issue_id
JOIN state.passes p ON p.pass_id = r.pass_id
WHERE r.pass_id = getvariable('pass_id') AND f.updated IS NOT NULL
GROUP BY 1, 2;
