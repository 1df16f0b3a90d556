"""One pass: the pipeline of stage processes (pipeline.py, stages/), what crosses their queues
(messages.py), the per-row verdicts (verdicts.py, acl.py), shards and the checks before a pass
(preflight.py).
"""
