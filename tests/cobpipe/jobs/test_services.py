"""`cobpipe watch` and `cobpipe sftp-serve` as real processes: they work and stop cleanly on SIGTERM."""
import asyncio
import json
import os
import queue
import signal
import subprocess
import sys
import threading

import asyncssh
import pytest

from jobfiles import claims_837, era_835, wait_for


class Service:
    """A cobpipe subprocess whose JSON log lines (stderr) are collected; always killed at the end."""

    def __init__(self, *args: str) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "cobpipe.cli", *args], stderr=subprocess.PIPE,
                                     stdout=subprocess.DEVNULL, text=True)
        self.lines: queue.Queue = queue.Queue()
        self.events: list[dict] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.proc.stderr:
            self.lines.put(line)

    def event(self, name: str, timeout: float = 30) -> dict:
        def seen():
            while True:
                try:
                    line = self.lines.get_nowait()
                except queue.Empty:
                    break
                try:
                    self.events.append(json.loads(line))
                except json.JSONDecodeError:
                    self.events.append({"event": "text", "line": line})
            return next((e for e in self.events if e.get("event") == name), None)

        return wait_for(seen, timeout=timeout, what=f"log event {name}")

    def terminate(self, timeout: float = 30) -> int:
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=timeout)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)


@pytest.fixture
def services():
    started: list[Service] = []

    def start(*args: str) -> Service:
        service = Service(*args)
        started.append(service)
        return service

    yield start
    for service in started:
        service.kill()


@pytest.mark.parametrize("poll", [False, True], ids=["inotify", "polling"])
def test_watch_processes_drops_and_stops_on_sigterm(root, services, poll):
    polling = ["--poll", "--poll-interval", "0.2"] if poll else []
    watch = services("watch", str(root.path), "--settle", "0.3", *polling)
    watch.event("watch.started")
    (root.inbound / "claims.837").write_text(claims_837(["V1"]))
    watch.event("file.stored")
    (root.inbound / "era.835").write_text(era_835(["V1"]))
    converted = watch.event("file.converted")
    assert converted["claims"] == ["V1"]
    assert sorted(p.suffix for p in root.outbound.iterdir()) == [".837", ".json"]
    assert watch.terminate() == 0
    watch.event("watch.stopped")


def test_sftp_serve_accepts_uploads_and_stops_on_sigterm(root, services, tmp_path):
    host = asyncssh.generate_private_key("ssh-ed25519")
    host.write_private_key(str(tmp_path / "host"))
    partner = asyncssh.generate_private_key("ssh-ed25519", comment="partner")  # the comment names the partner
    (tmp_path / "authorized_keys").write_bytes(partner.export_public_key())
    server = services("sftp-serve", str(root.path), "--port", "0", "--authorized-keys",
                      str(tmp_path / "authorized_keys"), "--host-key", str(tmp_path / "host"))
    port = server.event("sftp.listening")["port"]

    async def upload():
        async with asyncssh.connect("127.0.0.1", port, username="partner", client_keys=[partner],
                                    known_hosts=None, agent_path=None) as conn:
            async with conn.start_sftp_client() as client:
                async with client.open("/inbound/claims.837", "w") as remote:
                    await remote.write(claims_837(["U1"]))

    asyncio.run(asyncio.wait_for(upload(), 30))
    server.event("file.stored")
    assert (root.archive / "claims.837").exists()
    assert server.terminate() == 0
    server.event("sftp.stopped")
    assert not os.listdir(root.uploads)
