"""Shared benchmark plumbing: cached synthetic Jira worlds, timed runs, a slow-storage mount.

Worlds are generated once by ``jiraworld.world`` (the real Jira 8.3 schema in a throwaway
PostgreSQL cluster, a real attachments tree) under ``benchmarks/out/`` and reused; the
cluster is started for the run and stopped after.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from jiraworld import world
from jiraworld.pgcluster import Cluster, create_jira_database
from jiraworld.slowstorage import latency_mount, latency_shim, shim_env  # noqa: F401  (benchmarks import them here)

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"

# What the inspector logs at DEBUG when each stage ends and when the report is written.
STAGE_END = re.compile(
    r"DEBUG (\w+) finished in ([\d.]+) s \(cpu ([\d.]+) s user, ([\d.]+) s sys; peak rss ([\d.]+) MB"
)
REPORT_END = re.compile(r"report written in ([\d.]+) s; parent peak rss ([\d.]+) MB")


@dataclass
class World:
    base: Path
    cluster: Cluster
    expected: dict

    @property
    def root(self) -> Path:
        return self.base / "attachments"

    def env(self, run_dir: Path, root: Path | None = None, **extra: str) -> dict[str, str]:
        run_dir.mkdir(parents=True, exist_ok=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("INSPECTOR_", "PG"))}
        env.update(
            INSPECTOR_DB_DSN=self.cluster.dsn("jira", user="inspector_ro"),
            INSPECTOR_ATTACHMENTS_ROOT=str(root or self.root),
            INSPECTOR_JIRA_URL="https://jira.example.com",
            INSPECTOR_JIRA_UID="2001",
            INSPECTOR_JIRA_GID="2001",
            INSPECTOR_STATE_DB=str(run_dir / "state.sqlite"),
            INSPECTOR_REPORT_DIR=str(run_dir / "report"),
        )
        env.update(extra)
        return env


@contextlib.contextmanager
def cached_world(attachments: int, seed: int = 7, fault_rate: float = 0.002):
    """A world of ``attachments`` rows, built on first use and kept in benchmarks/out/."""
    base = OUT / f"world-{attachments}-{seed}-{fault_rate}"
    marker = base / "expected.json"
    if not marker.exists() and base.exists():
        shutil.rmtree(base)  # an interrupted build
    base.mkdir(parents=True, exist_ok=True)
    os.chmod(base, 0o755)
    cluster = Cluster(base / "pg").start()
    try:
        if not marker.exists():
            print(f"building a world of {attachments} attachments in {base} (once)", file=sys.stderr)
            started = time.monotonic()
            create_jira_database(cluster, "jira")
            spec = world.WorldSpec(attachments=attachments, seed=seed, fault_rate=fault_rate, hostile_rate=0.01)
            exp = world.build(cluster.dsn("jira"), base / "attachments", spec)
            summary = {
                "total_attachments": exp.total, "missing": len(exp.missing), "permissions": len(exp.permissions),
                "corrupted": len(exp.corrupted), "errors": len(exp.errors), "orphans": len(exp.orphans),
                "build_seconds": round(time.monotonic() - started, 1),
            }  # fmt: skip
            marker.write_text(json.dumps(summary, indent=2))
        yield World(base, cluster, json.loads(marker.read_text()))
    finally:
        cluster.stop()


def clean(run_dir: Path) -> None:
    shutil.rmtree(run_dir, ignore_errors=True)
    run_dir.mkdir(parents=True)


def failure_lines(stderr: str) -> str:
    """The end of a failed run's log without the per-row DEBUG lines, which at scale would
    push the error itself out of any tail."""
    kept = [line for line in stderr.splitlines() if " DEBUG attachment " not in line]
    return "\n".join(kept[-40:])


def timed(cmd: list[str], env: dict[str, str]) -> tuple[float, subprocess.CompletedProcess]:
    elapsed, _cpu, result = timed_cpu(cmd, env)
    return elapsed, result


def timed_cpu(cmd: list[str], env: dict[str, str]) -> tuple[float, float, subprocess.CompletedProcess]:
    """Wall seconds, CPU seconds (user + sys of the command and every process it waited for:
    the inspector's stage processes included) and the finished process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    result = subprocess.run(cmd, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({result.returncode}):\n{failure_lines(result.stderr)}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return elapsed, cpu, result


def inspector_cmd() -> list[str]:
    return [sys.executable, "-m", "inspector"]


def baseline_cmd() -> list[str]:
    return [sys.executable, str(HERE / "baseline.py")]


COUNTS = ("total_attachments", "missing", "permissions", "corrupted", "errors", "orphans")


def counts_of_inspector(report_dir: Path) -> dict:
    s = json.loads((report_dir / "summary.json").read_text())
    return {k: s[k] for k in COUNTS}


def counts_of_baseline(stdout: str) -> dict:
    fields = dict(part.split("=") for part in stdout.split() if "=" in part)
    return {k: int(fields[k]) for k in COUNTS}


def median(values: list[float]) -> float:
    return statistics.median(values)


def machine() -> str:
    disk = subprocess.run(["df", "-h", str(HERE)], capture_output=True, text=True).stdout.splitlines()[-1].split()
    return f"{os.cpu_count()} cores, {disk[0]} ({disk[1]}), Python {sys.version.split()[0]}"
