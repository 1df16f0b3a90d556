"""jira-attachment-inspector: checks that every Jira attachment row has a healthy file on disk."""

__version__ = "0.1.0"
