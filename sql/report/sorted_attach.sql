-- A scratch SQLite file (report dir, .sorted-lists.sqlite) that puts a list in order when it
-- is long (more than report.FEW_ROWS rows; after a bad chown every attachment is flagged, with
-- a wrong root every file is an orphan): DuckDB's sort of a million list rows needs more
-- memory than the build's limit, SQLite's sort works on disk within a few MB (in its temporary
-- folder: the first writable of $SQLITE_TMPDIR, $TMPDIR, /var/tmp and /tmp). The caller
-- substitutes {path}.
ATTACH {path} AS sorted (TYPE sqlite)
