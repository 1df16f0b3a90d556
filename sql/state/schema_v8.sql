-- Version 8: shards (INSPECTOR_SHARDS). A pass records which share of the instance it read, and
-- from where, so that `inspector report --merge` joins only shards that belong together.
ALTER TABLE passes ADD COLUMN shard_count INTEGER NOT NULL DEFAULT 1;
ALTER TABLE passes ADD COLUMN shard_index INTEGER NOT NULL DEFAULT 0;
ALTER TABLE passes ADD COLUMN source TEXT;                  -- user@host:port/db, or the Cloud site
