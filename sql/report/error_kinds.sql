-- The errors of the pass by kind: the errno name in the detail ("ELOOP (Too many levels of
-- symbolic links)", "(ETIMEDOUT)"), for the report's "what to do next".
SELECT coalesce(nullif(regexp_extract(detail, '(E[A-Z0-9]{2,})(?: \(|\))', 1), ''), 'other') AS kind,
       count(*) AS n
FROM flagged_rows
WHERE error
GROUP BY 1
ORDER BY 2 DESC, 1
