"""A real SFTP server for tests and benchmarks: OpenSSH's sshd with a throwaway config, host
key and client key, serving ``internal-sftp`` on 127.0.0.1 (Debian's openssh-server; sshd
must run as root, as the tests and CI do).

``SftpServer(base).start()`` writes everything under ``base``: ``known_hosts`` holding the
server's key (and ``other_known_hosts`` holding another host's, for the refused-key test),
``client_key`` for key logins. ``password_user`` creates a local account with a password,
for password logins.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

SSHD = "/usr/sbin/sshd"


def available() -> str | None:
    """Why no sshd can run here, or None."""
    if not os.path.exists(SSHD) or shutil.which("ssh-keygen") is None:
        return "OpenSSH's sshd is not installed (apt-get install openssh-server)"
    if os.geteuid() != 0:
        return "sshd needs root to run"
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _keygen(path: Path) -> None:
    for old in (path, path.with_suffix(".pub")):  # a folder used before: fresh keys each start
        old.unlink(missing_ok=True)
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)], check=True)


class SftpServer:
    def __init__(self, base: Path, password_auth: bool = False):
        self.base = Path(base)
        self.password_auth = password_auth
        self.port = _free_port()
        self.proc: subprocess.Popen | None = None

    @property
    def known_hosts(self) -> Path:
        return self.base / "known_hosts"

    @property
    def client_key(self) -> Path:
        return self.base / "client_key"

    def start(self) -> SftpServer:
        self.base.mkdir(parents=True, exist_ok=True)
        _keygen(self.base / "host_key")
        _keygen(self.client_key)
        _keygen(self.base / "other_host_key")
        shutil.copy(self.client_key.with_suffix(".pub"), self.base / "authorized_keys")
        host_pub = (self.base / "host_key.pub").read_text().split()
        other_pub = (self.base / "other_host_key.pub").read_text().split()
        self.known_hosts.write_text(f"[127.0.0.1]:{self.port} {host_pub[0]} {host_pub[1]}\n")
        (self.base / "other_known_hosts").write_text(f"[127.0.0.1]:{self.port} {other_pub[0]} {other_pub[1]}\n")
        config = self.base / "sshd_config"
        config.write_text(
            "\n".join([
                "ListenAddress 127.0.0.1", f"Port {self.port}", f"HostKey {self.base / 'host_key'}",
                f"PidFile {self.base / 'sshd.pid'}", f"AuthorizedKeysFile {self.base / 'authorized_keys'}",
                "UsePAM no", "StrictModes no", "PermitRootLogin yes",
                f"PasswordAuthentication {'yes' if self.password_auth else 'no'}",
                "KbdInteractiveAuthentication no", "Subsystem sftp internal-sftp", "MaxStartups 100",
                "LogLevel ERROR",
            ]) + "\n"
        )  # fmt: skip
        os.makedirs("/run/sshd", exist_ok=True)
        with open(self.base / "sshd.log", "wb") as log:  # sshd keeps its own copy of the fd
            self.proc = subprocess.Popen([SSHD, "-D", "-e", "-f", str(config)], stderr=log)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return self
            except OSError:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"sshd exited: {(self.base / 'sshd.log').read_text()}") from None
                time.sleep(0.05)
        raise RuntimeError("sshd did not listen within 10 s")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)

    def password_user(self, name: str, password: str) -> None:
        """A local account that may log in with ``password`` (created once; password reset)."""
        exists = subprocess.run(["id", name], capture_output=True).returncode == 0
        if not exists:
            subprocess.run(["useradd", "--no-create-home", "--shell", "/bin/sh", name], check=True)
        subprocess.run(["chpasswd"], input=f"{name}:{password}\n", text=True, check=True)
