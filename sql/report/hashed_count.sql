-- Files with a full content hash in the state (0: duplicates were not searched).
SELECT count(*) FROM hash_source WHERE full_hash IS NOT NULL
