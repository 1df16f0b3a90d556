DELETE FROM results WHERE pass_id = ?1;
DELETE FROM disk_files WHERE pass_id = ?1;
DELETE FROM blocked_folders WHERE pass_id = ?1;
DELETE FROM restores WHERE pass_id = ?1;
DELETE FROM cloud_partitions WHERE pass_id = ?1;
DELETE FROM issue_facts WHERE pass_id = ?1;
DELETE FROM attachment_authors WHERE pass_id = ?1;
DELETE FROM passes WHERE pass_id = ?1;
