"""A real asyncssh server on 127.0.0.1 (ephemeral port), driven by OpenSSH's `sftp -b` (or asyncssh's
client when `sftp` is missing), stopped after each test."""
import asyncio
import json
import os
import queue
import shutil
import subprocess
import threading
from dataclasses import dataclass, replace
from pathlib import Path

import asyncssh
import pytest

from cobpipe.jobs.sftp import SftpSettings, UploadHub, serve

from jobfiles import PHI, claims_837, era_835, wait_for

SFTP = shutil.which("sftp")


@dataclass
class Server:
    port: int
    key: Path
    wrong_key: Path
    hub: UploadHub
    keys: Path


def _write_key(path: Path) -> asyncssh.SSHKey:
    key = asyncssh.generate_private_key("ssh-ed25519")
    key.write_private_key(str(path))
    os.chmod(path, 0o600)
    return key


@pytest.fixture
def server(root, ledger, options, tmp_path):
    keys = tmp_path / "keys"
    keys.mkdir()
    _write_key(keys / "host_ed25519")
    partner = _write_key(keys / "partner")
    _write_key(keys / "stranger")
    (keys / "authorized_keys").write_bytes(partner.export_public_key())
    settings = SftpSettings("127.0.0.1", 0, keys / "authorized_keys", keys / "host_ed25519", rescan_every=600)
    hub = UploadHub(root, ledger, replace(options, settle=0.2))
    ports: queue.Queue = queue.Queue()
    control: dict = {}

    async def main():
        control["loop"] = asyncio.get_running_loop()
        control["stop"] = asyncio.Event()
        await serve(root, ledger, hub.options, settings, control["stop"], on_listening=ports.put, hub=hub)

    thread = threading.Thread(target=lambda: asyncio.run(main()), daemon=True)
    thread.start()
    try:
        port = ports.get(timeout=20)
        yield Server(port, keys / "partner", keys / "stranger", hub, keys)
    finally:
        if "loop" in control:
            control["loop"].call_soon_threadsafe(control["stop"].set)
        thread.join(timeout=20)
        assert not thread.is_alive(), "SFTP server did not stop"


def sftp_batch(server: Server, commands: list[str], key: Path | None = None, timeout: float = 60):
    """Run OpenSSH sftp in batch mode; returns (exit code, stdout + stderr)."""
    if SFTP is None:
        return _asyncssh_batch(server, commands, key or server.key, timeout)
    batch = server.keys / "batch.txt"
    batch.write_text("\n".join(commands) + "\n")
    result = subprocess.run(
        [SFTP, "-b", str(batch), "-i", str(key or server.key), "-F", "/dev/null",
         "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "BatchMode=yes",
         "-o", "IdentitiesOnly=yes", "-o", "PasswordAuthentication=no", "-o", "ConnectTimeout=20",
         "-P", str(server.port), "partner@127.0.0.1"],
        capture_output=True, text=True, timeout=timeout)
    return result.returncode, result.stdout + result.stderr


def _asyncssh_batch(server: Server, commands: list[str], key: Path, timeout: float):
    """The few batch commands the tests use, through asyncssh's client (when OpenSSH is missing)."""
    async def go():
        async with asyncssh.connect("127.0.0.1", server.port, username="partner", client_keys=[str(key)],
                                    known_hosts=None, agent_path=None) as conn:
            async with conn.start_sftp_client() as client:
                for line in commands:
                    verb, *args = line.split()
                    if verb == "put":
                        await client.put(args[0], args[1])
                    elif verb == "get":
                        await client.get(args[0], args[1])
                    elif verb == "rename":
                        await client.rename(args[0], args[1])
                    elif verb == "ls":
                        await client.listdir(args[0] if args else ".")
                    elif verb == "symlink":
                        await client.symlink(args[0], args[1])
                    elif verb == "rm":
                        await client.remove(args[0])

    try:
        asyncio.run(asyncio.wait_for(go(), timeout))
    except (asyncssh.Error, OSError) as exc:
        return 1, str(exc)
    return 0, ""


def local(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return path


def inbound_names(root):
    return sorted(p.name for p in root.inbound.iterdir() if p.is_file())


def test_upload_837p_then_835_and_download_the_secondary_claim(server, root, tmp_path, json_log):
    claims = local(tmp_path, "claims.837", claims_837(["S1", "S2"]))
    era = local(tmp_path, "era.835", era_835(["S1", "S2"]))
    code, out = sftp_batch(server, [f"put {claims} /inbound/claims.837"])
    assert code == 0, out
    wait_for(lambda: (root.archive / "claims.837").exists(), what="837P stored and archived")
    code, out = sftp_batch(server, ["cd /inbound", f"put {era} era.835"])
    assert code == 0, out
    [secondary] = wait_for(lambda: sorted(root.outbound.glob("*.837")), what="secondary 837P in outbound")
    download = tmp_path / "download"
    download.mkdir()
    code, out = sftp_batch(server, [f"get /outbound/{secondary.name} {download}/", "ls -l /outbound"])
    assert code == 0, out
    assert (download / secondary.name).read_text().count("CLM*") == 2
    # the same 835 again: recognized, nothing new in outbound
    code, out = sftp_batch(server, [f"put {era} /inbound/era.835"])
    assert code == 0, out
    wait_for(lambda: len(list(root.archive.glob("era*.835"))) == 2, what="duplicate archived")
    assert sorted(root.outbound.glob("*.837")) == [secondary]
    assert list(root.uploads.iterdir()) == []
    # the worker thread logs the outcome just after archiving: wait for the line, not only the file
    wait_for(lambda: "file.duplicate" in [json.loads(line)["event"] for line in list(json_log)],
             what="duplicate logged")
    events = [json.loads(line)["event"] for line in list(json_log)]
    assert events.count("upload.received") == 3 and "file.converted" in events and "file.duplicate" in events
    for value in PHI.values():
        assert not any(value in line for line in json_log), value


def test_a_temporary_upload_name_renamed_into_place_is_processed(server, root, tmp_path):
    claims = local(tmp_path, "claims.837", claims_837(["R1"]))
    code, out = sftp_batch(server, [f"put {claims} /inbound/claims.837.filepart",
                                    "rename /inbound/claims.837.filepart /inbound/claims.837"])
    assert code == 0, out
    # archiving links the file into archive/ before it unlinks it from inbound/: wait for both
    wait_for(lambda: (root.archive / "claims.837").exists() and inbound_names(root) == [],
             what="renamed upload processed")
    assert list(root.uploads.iterdir()) == []


def test_an_aborted_upload_leaves_nothing_and_triggers_nothing(server, root, ledger):
    text = era_835(["A1"] * 50)

    async def upload_half_then_drop():
        conn = await asyncssh.connect("127.0.0.1", server.port, username="partner",
                                      client_keys=[str(server.key)], known_hosts=None, agent_path=None)
        client = await conn.start_sftp_client()
        remote = await client.open("/inbound/era.835", "wb")
        await remote.write(text[: len(text) // 2].encode())
        assert len(list(root.uploads.iterdir())) == 1  # the hidden staging file, not inbound/era.835
        assert inbound_names(root) == []
        conn.abort()  # connection dropped mid-write: no close request is ever sent

    asyncio.run(asyncio.wait_for(upload_half_then_drop(), 30))
    wait_for(lambda: list(root.uploads.iterdir()) == [], what="staging file removed")
    assert inbound_names(root) == [] and list(root.rejected.iterdir()) == []
    assert ledger.stats().files == {}


def test_a_cleanly_closed_upload_without_iea_is_rejected_as_truncated(server, root, tmp_path):
    text = era_835(["C1"])
    cut = local(tmp_path, "era.835", text[: text.rindex("GE*")])
    code, out = sftp_batch(server, [f"put {cut} /inbound/era.835"])
    assert code == 0, out
    # the move links the file into rejected/ before it unlinks the staging file: wait for both
    wait_for(lambda: (root.rejected / "era.835").exists() and list(root.uploads.iterdir()) == [],
             what="truncated upload rejected and its staging file gone")
    assert (root.rejected / "era.835.reason.json").exists()
    assert inbound_names(root) == []


def test_a_key_not_in_the_authorized_file_is_refused(server, root, tmp_path):
    claims = local(tmp_path, "claims.837", claims_837(["K1"]))
    code, out = sftp_batch(server, [f"put {claims} /inbound/claims.837"], key=server.wrong_key)
    assert code != 0
    assert "Permission denied" in out or "denied" in out.lower() or SFTP is None
    assert inbound_names(root) == [] and list(root.uploads.iterdir()) == []


@pytest.mark.parametrize("command", [
    "put {file} /inbound/../../escape.835",
    "put {file} ../escape.835",
    "put {file} /escape.835",
    "put {file} /archive/escape.835",
    "put {file} /outbound/escape.835",
    "get /inbound/../../root/.cobpipe/ledger.db {tmp}/stolen",
    "get ../../../etc/hostname {tmp}/stolen",
    "get /archive/claims.837 {tmp}/stolen",
    "symlink /outbound /inbound/link",
    "mkdir /inbound/sub",
])
def test_paths_outside_inbound_and_outbound_are_refused(server, root, tmp_path, command):
    client = tmp_path / "client"
    client.mkdir()
    file = local(client, "escape.835", era_835(["E1"]))
    (root.archive / "claims.837").write_text(claims_837(["E1"]))
    code, out = sftp_batch(server, [command.format(file=file, tmp=client)])
    assert code != 0, out
    assert not (client / "stolen").exists()
    assert [p.name for p in tmp_path.rglob("escape.835*")] == ["escape.835"]
    assert sorted(p.name for p in root.path.iterdir()) == [".cobpipe", "archive", "inbound", "outbound",
                                                          "rejected"]
    assert inbound_names(root) == [] and list(root.outbound.iterdir()) == []
    assert not (root.path.parent / "escape.835").exists() and not (root.path / "escape.835").exists()


def test_a_symlink_in_outbound_pointing_outside_is_not_served(server, root, tmp_path):
    secret = local(tmp_path, "secret.txt", "not for partners")
    (root.outbound / "innocent.837").symlink_to(secret)
    code, out = sftp_batch(server, [f"get /outbound/innocent.837 {tmp_path}/got"])
    assert code != 0
    assert not (tmp_path / "got").exists()
    code, out = sftp_batch(server, ["ls /outbound"])
    assert code == 0 and "innocent" not in out.split("ls /outbound", 1)[-1]


def test_the_root_shows_only_inbound_and_outbound(server):
    code, out = sftp_batch(server, ["ls -a /"])
    assert code == 0, out
    listed = {name.rsplit("/", 1)[-1] for name in out.split("ls -a /", 1)[-1].split()}
    assert {"inbound", "outbound"} <= listed
    assert not {"archive", "rejected", ".cobpipe", ".uploads"} & listed


def test_a_closed_upload_is_in_inbound_before_the_close_is_acknowledged(server, root, tmp_path):
    """The worker thread may be busy for minutes with a large file; an upload the client was told is
    stored must not wait in the hidden staging folder meanwhile (a server killed then would lose it)."""
    busy, release = threading.Event(), threading.Event()
    server.hub.submit(lambda: (busy.set(), release.wait(30)))
    assert busy.wait(10)
    try:
        claims = local(tmp_path, "claims.837", claims_837(["W1"]))
        code, out = sftp_batch(server, [f"put {claims} /inbound/claims.837"])
        assert code == 0, out
        assert inbound_names(root) == ["claims.837"] and list(root.uploads.iterdir()) == []
        part = local(tmp_path, "more.837", claims_837(["W2"], control=102))
        code, out = sftp_batch(server, [f"put {part} /inbound/more.837.filepart",
                                        "rename /inbound/more.837.filepart /inbound/more.837"])
        assert code == 0, out
        assert inbound_names(root) == ["claims.837", "more.837"] and list(root.uploads.iterdir()) == []
    finally:
        release.set()
    wait_for(lambda: sorted(p.name for p in root.archive.iterdir()) == ["claims.837", "more.837"],
             what="both uploads processed once the worker is free")


def test_an_aborted_upload_triggers_nothing_even_if_it_ends_with_an_iea(server, root, ledger):
    """The connection dropped before the client closed the file: the client never heard "stored" and
    will send it again, so nothing is processed (the bytes may also be only the first interchange)."""
    text = claims_837(["AB1"])

    async def upload_all_then_drop():
        conn = await asyncssh.connect("127.0.0.1", server.port, username="partner",
                                      client_keys=[str(server.key)], known_hosts=None, agent_path=None)
        client = await conn.start_sftp_client()
        remote = await client.open("/inbound/claims.837", "wb")
        await remote.write(text.encode())
        conn.abort()

    asyncio.run(asyncio.wait_for(upload_all_then_drop(), 30))
    wait_for(lambda: list(root.uploads.iterdir()) == [], what="staging file removed")
    wait_for(lambda: not server.hub.pending, what="worker idle")
    assert inbound_names(root) == [] and list(root.archive.iterdir()) == []
    assert ledger.stats().files == {}
