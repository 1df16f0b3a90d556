-- Version 10: the run a pass belongs to (INSPECTOR_RUN_ID, e.g. a Kubernetes Job's uid shared by
-- its pods), so that `inspector report --merge` joins only the shards of one run.
ALTER TABLE passes ADD COLUMN run_id TEXT;
