"""Watching a run from another machine: its control socket forwarded over SSH.

A real, unprivileged OpenSSH server on a free localhost port (a temporary host
key, a temporary authorized key, nothing of the system's configuration), and a
real ``ssh -N -L local.sock:/path/control.sock``, as docs/console.md tells an
operator to do. Skipped, saying why, where OpenSSH is not installed.
"""

from __future__ import annotations

import getpass
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from console.app import ConsoleApp
from console.remote_run import RemoteRun, check_socket_path
from tests.console.helpers import sync, wait_for

SSHD = shutil.which("sshd") or next(
    (p for p in ("/usr/sbin/sshd", "/usr/local/sbin/sshd") if os.access(p, os.X_OK)),
    None,
)
SSH = shutil.which("ssh")
KEYGEN = shutil.which("ssh-keygen")
PRIVSEP = Path("/run/sshd")


def _why_not() -> str | None:
    if not (SSHD and SSH and KEYGEN):
        return (
            "needs OpenSSH's ssh, sshd and ssh-keygen "
            "(apt-get install openssh-client openssh-server)"
        )
    if os.geteuid() == 0 and not PRIVSEP.is_dir():
        return (
            "sshd run as root needs its privilege separation directory "
            f"{PRIVSEP} (mkdir -m 755 {PRIVSEP}, as its service does)"
        )
    return None


pytestmark = pytest.mark.skipif(_why_not() is not None, reason=_why_not() or "")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _until(predicate: Any, timeout: float, what: str, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if proc.poll() is not None:
            _, err = proc.communicate()
            pytest.fail(f"{what}: the process exited: {err.decode()[-800:]}")
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(0.05)


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


@pytest.fixture
def forwarded(live_run: Any, tmp_path: Path) -> Iterator[Path]:
    """The live run's socket, forwarded over SSH to a local socket."""
    ssh_dir = tmp_path / "ssh"
    ssh_dir.mkdir(mode=0o700)
    for key in ("host_key", "user_key"):
        subprocess.run(
            [str(KEYGEN), "-q", "-t", "ed25519", "-N", "", "-f", str(ssh_dir / key)],
            check=True,
        )
    authorized = ssh_dir / "authorized_keys"
    authorized.write_bytes((ssh_dir / "user_key.pub").read_bytes())
    authorized.chmod(0o600)
    port = _free_port()
    config = ssh_dir / "sshd_config"
    config.write_text(
        "\n".join(
            [
                f"Port {port}",
                "ListenAddress 127.0.0.1",
                f"HostKey {ssh_dir / 'host_key'}",
                f"AuthorizedKeysFile {authorized}",
                f"PidFile {ssh_dir / 'sshd.pid'}",
                "PasswordAuthentication no",
                "KbdInteractiveAuthentication no",
                "UsePAM no",
                "StrictModes no",
                "AllowStreamLocalForwarding yes",
                "PermitRootLogin prohibit-password",
                "",
            ]
        )
    )
    sshd = subprocess.Popen(
        [str(SSHD), "-D", "-e", "-f", str(config)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    local = tmp_path / "fwd" / "pamiq.sock"
    local.parent.mkdir(mode=0o700)
    tunnel: subprocess.Popen | None = None
    try:
        _until(lambda: _accepts(port), 20, "sshd to listen", sshd)
        tunnel = subprocess.Popen(
            [
                str(SSH),
                "-F",
                "/dev/null",
                "-N",
                "-i",
                str(ssh_dir / "user_key"),
                "-p",
                str(port),
                "-o",
                "BatchMode=yes",
                "-o",
                "StrictHostKeyChecking=no",
                "-o",
                f"UserKnownHostsFile={ssh_dir / 'known_hosts'}",
                "-o",
                "ExitOnForwardFailure=yes",
                "-o",
                "StreamLocalBindUnlink=yes",
                "-L",
                f"{local}:{live_run.run_dir.socket_path}",
                f"{getpass.getuser()}@127.0.0.1",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        _until(local.exists, 20, "ssh to forward the socket", tunnel)
        yield local
    finally:
        for proc in (tunnel, sshd):
            if proc is not None and proc.poll() is None:
                proc.terminate()
                try:
                    proc.communicate(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.communicate()


@sync
async def test_attach_over_an_ssh_forwarded_socket(
    live_run: Any, forwarded: Path
) -> None:
    system = live_run.system
    check_socket_path(forwarded)  # ours, in a directory only we can write
    remote = RemoteRun(forwarded)
    assert remote.name == system.config.name
    assert remote.status().trainers.keys() == {"values"}
    app = ConsoleApp(remote, attached=True)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_for(
            pilot,
            lambda: app.status is not None and "values" in app.status.trainers,
            what="a status through the tunnel",
        )
        await pilot.press("p")
        await wait_for(pilot, lambda: system.state.value == "paused", what="pause")
        await wait_for(pilot, lambda: app.busy == "", what="pause finished")
        await pilot.press("p")
        await wait_for(pilot, lambda: system.state.value == "active", what="resume")
        await pilot.press("q")
        await wait_for(pilot, lambda: not app.is_running, what="detach")
    assert app.detached and system.state.value == "active"
