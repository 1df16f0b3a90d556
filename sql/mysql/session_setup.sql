-- Every session: read-only (a write fails in the server, whatever the login may do), UTC for
-- DATETIME, and the binary utf8mb4 Jira's tables use, so 4-byte names arrive intact.
SET SESSION TRANSACTION READ ONLY;
SET time_zone = '+00:00';
SET NAMES utf8mb4 COLLATE utf8mb4_bin
