"""Slow and failing storage for tests and benchmarks, from the C sources in ``native/``.

- ``shim_env``: an LD_PRELOAD library (``latencyshim.c``) that makes every metadata call under
  some folders cost one network round trip, in the calling thread, as an NFS client does.
- ``latency_mount``: a FUSE pass-through (``latencyfs.c``) with a sleep per request and fault
  injection (EIO, requests that never answer), as an NFS server that went away. It needs
  ``fuse3`` and ``libfuse3-dev`` from Debian (``fuse_missing`` says what is not there).

Both are compiled with gcc on first use into a build folder outside the source tree.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

NATIVE = Path(__file__).resolve().parent / "native"
BUILD = Path(tempfile.gettempdir()) / f"jiraworld-native-{os.getuid()}"


def _stale(target: Path, source: Path) -> bool:
    return not target.exists() or target.stat().st_mtime < source.stat().st_mtime


def latency_shim() -> Path:
    """latencyshim.c built into an LD_PRELOAD library (once, or when changed)."""
    BUILD.mkdir(parents=True, exist_ok=True)
    lib, src = BUILD / "latencyshim.so", NATIVE / "latencyshim.c"
    if _stale(lib, src):
        subprocess.run(["gcc", "-O2", "-Wall", "-shared", "-fPIC", "-o", str(lib), str(src), "-ldl"], check=True)
    return lib


def shim_env(latency_us: int, *slow: Path) -> dict[str, str]:
    """Environment that makes every metadata call under the ``slow`` folders cost latency_us."""
    return {
        "LD_PRELOAD": str(latency_shim()),
        "LATENCY_US": str(latency_us),
        "LATENCY_PREFIXES": ":".join(str(p) for p in slow),
    }


def fuse_missing() -> str | None:
    """What latency_mount lacks on this machine, or None when it can mount."""
    if not shutil.which("fusermount3"):
        return "fuse3 is not installed (apt-get install fuse3 libfuse3-dev pkg-config)"
    flags = subprocess.run(["pkg-config", "--exists", "fuse3"], capture_output=True)
    if flags.returncode != 0:
        return "libfuse3-dev is not installed (apt-get install fuse3 libfuse3-dev pkg-config)"
    if not os.path.exists("/dev/fuse"):
        return "/dev/fuse does not exist"
    return None


def _latencyfs() -> Path:
    BUILD.mkdir(parents=True, exist_ok=True)
    binary, src = BUILD / "latencyfs", NATIVE / "latencyfs.c"
    if _stale(binary, src):
        if missing := fuse_missing():
            raise RuntimeError(f"latencyfs cannot be built: {missing}")
        flags = subprocess.run(
            ["pkg-config", "--cflags", "--libs", "fuse3"], capture_output=True, text=True, check=True
        )
        subprocess.run(["gcc", "-O2", "-Wall", "-o", str(binary), str(src), *flags.stdout.split()], check=True)
    return binary


@contextlib.contextmanager
def latency_mount(source: Path, mountpoint: Path, latency_us: int, threads: int = 512, **faults: str) -> Iterator[Path]:
    """``source`` served through latencyfs at ``mountpoint``: every request sleeps latency_us.
    ``faults`` are latencyfs's fault variables (EIO_NAMES, HANG_NAMES, HANG_S, CACHE_S)."""
    binary = _latencyfs()
    mountpoint.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, SOURCE=str(source), LATENCY_US=str(latency_us), MAX_THREADS=str(threads), **faults)
    proc = subprocess.Popen([str(binary), str(mountpoint), "-f", "-o", "ro"], env=env)
    deadline = time.monotonic() + 10
    while not os.path.ismount(mountpoint):
        if time.monotonic() > deadline or proc.poll() is not None:
            proc.kill()
            raise RuntimeError("latencyfs did not mount")
        time.sleep(0.05)
    try:
        yield mountpoint
    finally:
        # Lazily: a request left hanging (HANG_NAMES) would otherwise keep the mount busy.
        subprocess.run(["fusermount3", "-u", "-z", str(mountpoint)], check=False, capture_output=True)
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
