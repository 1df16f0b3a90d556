-- Read once for every report file, into temporary tables that stand in for the views of the
-- same name: duplicates are few next to all attachments, and the storage facts (a few rows
-- per project, type, uploader and year) come from one scan.
CREATE OR REPLACE TEMP TABLE duplicates AS SELECT * FROM main.duplicates;
CREATE OR REPLACE TEMP TABLE duplicate_groups AS SELECT * FROM main.duplicate_groups;
CREATE OR REPLACE TEMP TABLE storage_facts AS FROM main.storage_facts_with('flagged_rows');
