-- Every orphan into the scratch file (sorted_attach.sql), when there are many (a wrong
-- attachments root makes every file one).
CREATE TABLE sorted.orphan_lines AS SELECT relpath, size FROM orphan_rows
