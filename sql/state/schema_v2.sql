-- Version 2: a pass reads the attachments added since the previous finished pass first
-- (ids above head_id, cursor in cursor_id), then re-verifies the rest (ids up to head_id,
-- cursor in cursor_old); new_done marks the end of the first part.
ALTER TABLE passes ADD COLUMN head_id INTEGER NOT NULL DEFAULT 0;
ALTER TABLE passes ADD COLUMN cursor_old INTEGER NOT NULL DEFAULT 0;
ALTER TABLE passes ADD COLUMN new_done INTEGER NOT NULL DEFAULT 0;
