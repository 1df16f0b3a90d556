-- WAL lets reports and `inspector report --sql` read while the writer writes; NORMAL sync is
-- safe against a killed process (only power loss can drop the latest transactions).
PRAGMA journal_mode = WAL;
PRAGMA synchronous = NORMAL;
PRAGMA busy_timeout = 10000;
