SELECT * FROM largest_issues
