"""Everything a finished pass turns into: the report files (build.py), report.html (html.py),
the storage analytics (analytics.py), summary.txt (summary_text.py) with what to do next
(next_steps.py), and the merge of shards (merge.py).
"""
