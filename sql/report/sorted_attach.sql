-- A scratch SQLite file (report dir, .sorted-lists.sqlite) that puts a flagged list in order
-- when it is long (more than report.FEW_ROWS rows; after a bad chown, every attachment):
-- DuckDB's sort of a million list rows needs more memory than the build's limit, SQLite's
-- sort works on disk within a few MB (in its temporary folder: $SQLITE_TMPDIR, else /var/tmp
-- or /tmp). The caller substitutes {path}.
ATTACH {path} AS sorted (TYPE sqlite)
