-- Version 9: a restore's part is tied to the backup copy it came from. source_tag names that copy
-- (backup, path, size, and its mtime or ETag); a part is continued only by a run that finds the
-- same tag, else it starts over. part_ref is what finds the part again where it is no file of its
-- own (the upload id of an S3 multipart upload).
ALTER TABLE restores ADD COLUMN source_tag TEXT;
ALTER TABLE restores ADD COLUMN part_ref TEXT;
