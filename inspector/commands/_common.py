"""What every command shares: the exit codes its help ends with, and the log set-up."""

from __future__ import annotations

import logging
import logging.handlers
import sys

from ..config import config
from ..config.settings import unknown_variables
from ..errors import ConfigError

log = logging.getLogger("inspector")

EXIT_CODES = """exit codes:
  0  finished          2  configuration or usage error   3  database error
  4  state file error  5  a pipeline process failed      6  report or query error
  7  the attachments storage stopped answering (stats hang past INSPECTOR_STAT_TIMEOUT, or S3 failed
     for INSPECTOR_RETRY_TIMEOUT), or restore's backup did (INSPECTOR_RESTORE_RETRY_TIMEOUT)
  8  restore finished, but some attachments could not be copied (restore-plan.txt says why)
  130/143  stopped by SIGINT/SIGTERM (progress kept; the next run resumes)
  1  unexpected internal error (a bug: please report it with the traceback)"""


def setup_logging(level: str, cfg: config.Config | None = None) -> None:
    """stderr, plus a size-rotated file when INSPECTOR_LOG_FILE is set. Stage processes log
    through the parent (a queue), so these handlers see every line."""
    formatter = logging.Formatter("%(asctime)s %(levelname)s %(message)s", "%Y-%m-%dT%H:%M:%S")
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if cfg is not None and cfg.log_file is not None:
        try:
            handlers.append(
                logging.handlers.RotatingFileHandler(
                    cfg.log_file, maxBytes=cfg.log_max_bytes, backupCount=cfg.log_backups, encoding="utf-8"
                )
            )
        except OSError as exc:
            raise ConfigError(f"INSPECTOR_LOG_FILE: cannot open '{cfg.log_file}': {exc.strerror}") from None
    for handler in handlers:
        handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = handlers
    root.setLevel(level)
    for name, close in unknown_variables():
        log.warning("%s is not a setting of the inspector and is ignored%s", name,
                    f": did you mean {close}?" if close else " (inspector --help lists them)")  # fmt: skip
