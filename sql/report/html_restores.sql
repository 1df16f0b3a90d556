-- report.html's restore section: the count per status, then the rows that were not restored.
SELECT backup, status, count(*) AS n, sum(bytes) AS bytes, max(finished_at) AS last
FROM restores GROUP BY backup, status ORDER BY backup, status
