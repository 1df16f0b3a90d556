-- How many rows shown_ids.sql found (at most report.FEW_ROWS + 1): report.materialize reads
-- them by id (shown_rows.sql) while they are few, and with one scan (shown_rows_scan.sql) else.
SELECT json_array_length(getvariable('shown_ids'))
