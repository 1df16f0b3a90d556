-- Nothing was hashed: the same stand-ins, the duplicate ones empty without a scan.
CREATE OR REPLACE TEMP TABLE duplicates AS SELECT * FROM main.duplicates WHERE false;
CREATE OR REPLACE TEMP TABLE duplicate_groups AS SELECT * FROM main.duplicate_groups WHERE false;
CREATE OR REPLACE TEMP TABLE storage_facts AS FROM main.storage_facts_with('flagged_rows');
