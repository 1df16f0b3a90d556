-- About how many attachment rows there are, from the table statistics (no scan); NULL when
-- the server has none yet (attachments_count.sql then counts).
SELECT TABLE_ROWS FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'fileattachment'
