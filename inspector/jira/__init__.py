"""What the inspector knows about Jira itself: the attachment row (model.py) and where Jira keeps
an attachment's file (layout.py).
"""
