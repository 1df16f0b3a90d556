-- The orphans' rows read again from the state, once the scan has stored their sizes there
-- (report.size_orphans), when they are many (a wrong attachments root makes every file one):
-- an UPDATE of a spilled table of a million rows took over a second for each 10,000 sizes.
-- The old rows go first, and one thread reads (one_thread.sql): next to them, the read ran out
-- of the build's memory.
DROP TABLE orphan_rows;
CREATE TEMP TABLE orphan_rows AS FROM walk_extras_in_state() WHERE kind <> 'unlistable';
