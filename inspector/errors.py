"""The error hierarchy: every failure the user can act on maps to one class and one exit code.

The CLI prints ``str(error)`` as a single line and exits with ``error.exit_code``; anything
else escaping is a bug and exits 1 with a traceback.
"""


class InspectorError(Exception):
    exit_code = 1


class ConfigError(InspectorError):
    """Bad environment variables, options or paths: fix the input and run again."""

    exit_code = 2


class DatabaseError(InspectorError):
    """Jira's database could not be reached or queried."""

    exit_code = 3


class StateError(InspectorError):
    """The state file cannot be used (locked, unwritable, corrupted or from another version)."""

    exit_code = 4


class PipelineError(InspectorError):
    """A pipeline process died or failed; progress up to the last checkpoint is kept."""

    exit_code = 5


class ReportError(InspectorError):
    """A report could not be built, or the user's query failed."""

    exit_code = 6


class StorageError(InspectorError):
    """The attachments storage stopped answering (stats hang); progress up to the last checkpoint is kept."""

    exit_code = 7


class Interrupted(InspectorError):
    """Stopped by SIGTERM or SIGINT: children reaped, progress up to the last checkpoint kept."""

    def __init__(
        self, signum: int, next_step: str = "progress up to the last checkpoint is kept, the next run resumes"
    ):
        import signal

        self.signum = signum
        self.exit_code = 128 + signum
        super().__init__(f"stopped by {signal.Signals(signum).name}; {next_step}")


class Paused(Exception):
    """The maintenance window closed: the pass stopped at a checkpoint and resumes later."""


class RestoreIncomplete(InspectorError):
    """A restore finished, but some attachments could not be copied (their rows say why)."""

    exit_code = 8
