-- The shown rows read whole by id (shown_ids.sql), as the attachments view gives them, on one
-- thread (one_thread.sql): as quick as on two, and 9 MB less at 1M attachments.
CREATE OR REPLACE TEMP TABLE shown_rows AS FROM attachments_in('shown_results');
DROP VIEW shown_results;
