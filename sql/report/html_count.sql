-- How many rows a list of report.html has (its title shows it before its rows are written);
-- the caller substitutes one of the html_*.sql list queries for the placeholder.
SELECT count(*) FROM (
{query}
)
