-- Every flagged row into the scratch file (sorted_attach.sql), with the columns the lists need.
CREATE TABLE sorted.flagged_lines AS
SELECT missing::INTEGER AS missing, permissions::INTEGER AS permissions, corrupted::INTEGER AS corrupted,
       error::INTEGER AS error, project_key, issue_num, id,
       link, issue_key, issue_id, issue_link, project_name, filename, detail
FROM flagged_rows
