-- Version 5: object storage. A listing names every object with its size and last-modified
-- time, and on object storage the checkers settle rows from what the walk listed
-- (inspector/storage/listed.py): the walk keeps the time beside the size (NULL on a file
-- system, where names are listed and only orphans are sized).
ALTER TABLE disk_files ADD COLUMN mtime INTEGER;
