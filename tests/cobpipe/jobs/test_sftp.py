"""The real server: `cobpipe sftp-serve` as a subprocess on 127.0.0.1 (a free port), driven by OpenSSH's
`sftp -b` and by asyncssh's client, with two partners' keys; stopped (SIGTERM, else SIGKILL) after each
test. Conditions are waited for with generous deadlines (the server's JSON log lines, files)."""
from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
from pathlib import Path

import asyncssh
import pytest

from cobpipe.ledger import Ledger

from jobfiles import PHI, claims_837, era_835, wait_for

SFTP = shutil.which("sftp")
needs_openssh = pytest.mark.skipif(SFTP is None, reason="OpenSSH sftp client not installed (apt-get install openssh-client)")
DEADLINE = 60.0


class Keys:
    def __init__(self, folder: Path) -> None:
        folder.mkdir(exist_ok=True)
        self.folder = folder
        self.host = folder / "host_ed25519"
        _key(self.host)
        self.acme = _key(folder / "acme")
        self.acme2 = _key(folder / "acme-laptop")
        self.beta = _key(folder / "beta")
        self.stranger = _key(folder / "stranger")
        self.authorized = folder / "authorized_keys"
        self.authorized.write_text(
            "# partners of this server\n"
            f"{_public(self.acme, 'acme-billing')}\n"
            f"{_public(self.acme2, 'acme-billing')}\n\n"
            f"{_public(self.beta, 'beta-clinic')}\n")


def _key(path: Path) -> Path:
    key = asyncssh.generate_private_key("ssh-ed25519")
    key.write_private_key(str(path))
    os.chmod(path, 0o600)
    return path


def _public(private: Path, comment: str) -> str:
    key = asyncssh.read_private_key(str(private))
    return key.export_public_key().decode().split()[0] + " " + key.export_public_key().decode().split()[1] + " " + comment


class Server:
    """A `cobpipe sftp-serve` subprocess; its stderr JSON lines are collected as events."""

    def __init__(self, root, keys: Keys, *extra: str) -> None:
        self.root, self.keys = root, keys
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "cobpipe.cli", "sftp-serve", str(root.path), "--port", "0",
             "--authorized-keys", str(keys.authorized), "--host-key", str(keys.host), "--rescan", "600",
             "--settle", "0.2", "--log-format", "json", *extra],
            stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self.port = self.wait("sftp.listening")["port"]

    def _read(self) -> None:
        for line in self.proc.stderr:
            self.lines.append(line)

    def events(self, name: str | None = None, **match) -> list[dict]:
        found = []
        for line in list(self.lines):
            try:
                data = json.loads(line)
            except json.JSONDecodeError:
                data = {"event": "text", "line": line}
            if (name is None or data.get("event") == name) and all(data.get(k) == v for k, v in match.items()):
                found.append(data)
        return found

    def wait(self, name: str, timeout: float = DEADLINE, count: int = 1, **match) -> dict:
        def seen():
            if self.proc.poll() is not None and not self.events(name, **match):
                raise AssertionError(f"server exited ({self.proc.returncode}): {''.join(self.lines)[-2000:]}")
            found = self.events(name, **match)
            return found[count - 1] if len(found) >= count else None

        return wait_for(seen, timeout=timeout, what=f"log event {name} {match or ''}")

    def children(self) -> set[int]:
        found: set[int] = set()
        with contextlib.suppress(OSError):
            for task in Path(f"/proc/{self.proc.pid}/task").iterdir():
                found |= {int(c) for c in (task / "children").read_text().split()}
        return found

    def stop(self) -> None:
        """SIGTERM (the worker finishes its file, the server exits 0); SIGKILL after 60 s, and then its
        worker processes too, by pid."""
        if self.proc.poll() is None:
            workers = self.children()
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
                for pid in workers:
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGKILL)
        self._reader.join(timeout=10)

    def home(self, partner: str) -> Path:
        return self.root.path / "partners" / partner

    def sftp(self, commands: list[str], key: Path | None = None, timeout: float = DEADLINE):
        """OpenSSH sftp in batch mode; (exit code, output)."""
        batch = self.keys.folder / f"batch-{len(self.lines)}-{os.getpid()}.txt"
        batch.write_text("\n".join(commands) + "\n")
        result = subprocess.run(
            [SFTP, "-b", str(batch), *_ssh_options(key or self.keys.acme), "-P", str(self.port),
             "typed-user-name@127.0.0.1"], capture_output=True, text=True, timeout=timeout)
        return result.returncode, result.stdout + result.stderr

    def connect(self, key: Path | None = None):
        return asyncssh.connect("127.0.0.1", self.port, username="typed-user-name",
                                client_keys=[str(key or self.keys.acme)], known_hosts=None, agent_path=None)


def _ssh_options(key: Path) -> list[str]:
    return ["-i", str(key), "-F", "/dev/null", "-o", "StrictHostKeyChecking=no", "-o",
            "UserKnownHostsFile=/dev/null", "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes",
            "-o", "PasswordAuthentication=no", "-o", "ConnectTimeout=20"]


@pytest.fixture
def keys(tmp_path) -> Keys:
    return Keys(tmp_path / "keys")


@pytest.fixture
def start(root, keys):
    started: list[Server] = []

    def run(*extra: str) -> Server:
        server = Server(root, keys, *extra)
        started.append(server)
        return server

    yield run
    for server in started:
        server.stop()
    for server in started:
        assert server.proc.returncode == 0, "".join(server.lines)[-3000:]


@pytest.fixture
def server(start) -> Server:
    return start()


def local(folder: Path, name: str, text: str | bytes) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return path


def files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.is_file()) if folder.exists() else []


def run(coro, timeout: float = DEADLINE):
    return asyncio.run(asyncio.wait_for(coro, timeout))


# --- uploads, partner homes, acknowledgments out -------------------------------------------------

@needs_openssh
def test_a_partner_uploads_and_downloads_its_secondary_claims_and_acknowledgments(server, root, tmp_path):
    claims = local(tmp_path / "c", "claims.837", claims_837(["S1", "S2"]))
    era = local(tmp_path / "c", "era.835", era_835(["S1", "S2"]))
    code, out = server.sftp([f"put {claims} /inbound/claims.837"])
    assert code == 0, out
    server.wait("file.stored")
    code, out = server.sftp(["cd /inbound", f"put {era} era.835.part", "rename era.835.part era.835"])
    assert code == 0, out
    server.wait("file.converted")
    acme = server.home("acme-billing")
    wait_for(lambda: len(list((acme / "outbound").glob("*.999"))) == 2, what="a 999 for each upload")
    [secondary] = (acme / "outbound").glob("*.837")
    assert list(root.outbound.iterdir()) == []  # nothing in the shared outbound
    down = tmp_path / "down"
    down.mkdir()
    code, out = server.sftp([f"get /outbound/{secondary.name} {down}/", "get /outbound/*.999 " + str(down),
                             "ls -l /outbound"])
    assert code == 0, out
    assert (down / secondary.name).read_text().count("CLM*") == 2
    for answer in down.glob("*.999"):
        assert "IK5*A~" in answer.read_text() and "AK9*A*1*1*1~" in answer.read_text()
    with Ledger.open(root.ledger_path) as ledger:
        assert all(ledger.file(e["sha256"]).detail["partner"] == "acme-billing"
                   for e in server.events("upload.received"))
    # the log names the partner and the key, never the user name typed
    login = server.wait("sftp.login")
    assert login["partner"] == "acme-billing" and login["fingerprint"].startswith("SHA256:")
    text = "".join(server.lines)
    assert "typed-user-name" not in text
    for value in PHI.values():
        assert value not in text, value


@needs_openssh
def test_two_partners_see_only_their_own_files(server, root, tmp_path, keys):
    claims = local(tmp_path / "c", "claims.837", claims_837(["T1"]))
    assert server.sftp([f"put {claims} /inbound/claims.837"])[0] == 0
    acme_out = server.home("acme-billing") / "outbound"
    [answer] = wait_for(lambda: list(acme_out.glob("*.999")), what="acme's 999")
    # a second key with the same comment is the same partner
    code, out = server.sftp(["ls -1 /outbound"], key=keys.acme2)
    assert code == 0 and answer.name in out, out
    # the other partner: lists nothing of acme's, cannot read, delete or overwrite it
    code, out = server.sftp(["ls -1 /outbound", "ls -1 /inbound"], key=keys.beta)
    assert code == 0 and answer.name not in out and "claims.837" not in out, out
    got = tmp_path / "stolen"
    for command in (f"get /outbound/{answer.name} {got}", f"rm /outbound/{answer.name}",
                    f"put {claims} /outbound/{answer.name}", f"get /inbound/claims.837 {got}",
                    f"get /../acme-billing/outbound/{answer.name} {got}",
                    f"get /outbound/../../acme-billing/outbound/{answer.name} {got}"):
        code, out = server.sftp([command], key=keys.beta)
        assert code != 0, (command, out)
    assert not got.exists() and answer.exists()
    assert answer.read_text().startswith("ISA*")
    # beta's own upload of the same name lands in beta's home only
    theirs = local(tmp_path / "b", "claims.837", claims_837(["T2"], control=102))
    assert server.sftp([f"put {theirs} /inbound/claims.837"], key=keys.beta)[0] == 0
    wait_for(lambda: list((server.home("beta-clinic") / "outbound").glob("*.999")), what="beta's answer")
    assert files(acme_out) == [answer.name]


@needs_openssh
def test_a_broken_upload_gets_a_ta1_or_999_the_partner_downloads(server, tmp_path):
    envelope_bad = claims_837(["B1"]).replace("IEA*1*000000101", "IEA*1*000000999")
    guide_bad = claims_837(["B2"], control=102).replace("CLM*B2*33***11:B:1*Y*A*Y*Y", "CLM*B2*33***11:B:1*Y*Q*Y*Y")
    cut = claims_837(["B3"], control=103)
    cut = cut[: cut.rindex("SE*")]  # closed by the client, but no SE/GE/IEA
    uploads = [local(tmp_path / "c", n, t) for n, t in
               (("envelope.837", envelope_bad), ("guide.837", guide_bad), ("cut.837", cut))]
    assert server.sftp([f"put {p} /inbound/{p.name}" for p in uploads])[0] == 0
    out = server.home("acme-billing") / "outbound"
    wait_for(lambda: len(files(out)) == 3, what="three acknowledgments")
    down = tmp_path / "down"
    down.mkdir()
    assert server.sftp([f"get /outbound/* {down}/"])[0] == 0
    [ta1] = down.glob("envelope.*.ta1")
    assert "TA1*000000101*260312*0930*R*001~" in ta1.read_text()
    [ack] = down.glob("guide.*.999")
    assert "IK3*CLM*19*2300*8~\nIK4*7**7~\nIK5*E*5~" in ack.read_text()
    # the cut file (closed by the client without its IEA) is rejected as truncated, and answered
    [cut_answer] = down.glob("cut.*.ta1")
    assert "TA1*000000103*260312*0930*R*023~" in cut_answer.read_text()
    server.wait("file.rejected", file="cut.837")
    reason = json.loads((server.root.rejected / "cut.837.reason.json").read_text())
    assert reason["reason"] == "truncated"


def test_random_binary_gets_an_honest_reason(server, tmp_path):
    blob = bytes(range(256)) * 64

    async def upload():
        async with server.connect() as conn, conn.start_sftp_client() as client:
            async with client.open("/inbound/noise.837", "wb") as remote:
                await remote.write(blob)

    run(upload())
    server.wait("file.rejected", file="noise.837")
    reason = json.loads((server.root.rejected / "noise.837.reason.json").read_text())
    assert (reason["reason"], reason["message"]) == ("not-x12", "not X12: binary data")


# --- acknowledgments in, over SFTP -------------------------------------------------------------

@needs_openssh
def test_a_999_and_a_277ca_uploaded_move_each_claims_state(server, root, tmp_path):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "acks"))
    from ackfiles import ack_277ca, ack_999

    claims = local(tmp_path / "c", "claims.837", claims_837(["K1", "K2"]))
    era = local(tmp_path / "c", "era.835", era_835(["K1", "K2"]))
    assert server.sftp([f"put {claims} /inbound/claims.837"])[0] == 0
    server.wait("file.stored")
    assert server.sftp([f"put {era} /inbound/era.835"])[0] == 0
    server.wait("file.converted")
    with Ledger.open(root.ledger_path) as ledger:
        issued = ledger.issued_for("K1")[0]
    accept = local(tmp_path / "c", "ch.999", ack_999(issued.gs06, [(issued.st02, "A", [])], "A"))
    partly = local(tmp_path / "c", "payer.277", ack_277ca([("K1", "A2:20:PR", "PCN1"), ("K2", "A7:562:85", "")]))
    assert server.sftp([f"put {accept} /inbound/ch.999", f"put {partly} /inbound/payer.277"])[0] == 0
    server.wait("ack.applied", file="payer.277")
    with Ledger.open(root.ledger_path) as ledger:
        k1 = {a["kind"]: a["state"] for a in ledger.claim_acks("K1")}
        k2 = {a["kind"]: a["state"] for a in ledger.claim_acks("K2")}
        assert k1 == {"999": "accepted", "277CA": "accepted"} and k2 == {"999": "accepted", "277CA": "rejected"}
        assert ledger.payer_claim_number("K1", "22222") == "PCN1"
        assert ledger.stats().claims_by_status.get("rejected") == 1
    # acknowledgments are never acknowledged
    out = server.home("acme-billing") / "outbound"
    assert not [n for n in files(out) if n.startswith(("ch.", "payer."))]


# --- aborted uploads (issue 15 item 4) -----------------------------------------------------------

@needs_openssh
def test_an_sftp_client_killed_mid_put_leaves_nothing_processed(server, root, tmp_path):
    big = local(tmp_path / "c", "big.837", claims_837([f"Z{n}" for n in range(20000)]))
    batch = tmp_path / "batch.txt"
    batch.write_text(f"put {big} /inbound/big.837\n")
    client = subprocess.Popen([SFTP, "-b", str(batch), "-l", "400", *_ssh_options(server.keys.acme),
                               "-P", str(server.port), "u@127.0.0.1"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        uploads = server.home("acme-billing") / "inbound" / ".uploads"
        wait_for(lambda: any(p.stat().st_size > 0 for p in uploads.glob("*")), what="bytes arriving")
    finally:
        client.kill()
        client.wait(timeout=10)
    server.wait("upload.aborted")
    server.wait("sftp.session_closed")
    assert files(uploads) == [] and files(server.home("acme-billing") / "inbound") == []
    assert files(root.rejected) == [] and files(root.archive) == []
    with Ledger.open(root.ledger_path) as ledger:
        assert ledger.stats().files == {}


def test_a_channel_closed_with_the_handle_open_is_discarded_even_ending_with_an_iea(server, root):
    text = claims_837(["AB1"])  # complete, IEA last: only the missing close says it is not finished

    async def write_then_leave():
        async with server.connect() as conn:
            client = await conn.start_sftp_client()
            remote = await client.open("/inbound/claims.837", "wb")
            await remote.write(text.encode())
            client.exit()  # the SFTP channel closes cleanly; no close request for the file
            await client.wait_closed()

    run(write_then_leave())
    server.wait("upload.aborted", file="claims.837")
    assert files(server.home("acme-billing") / "inbound") == [] and files(root.archive) == []
    with Ledger.open(root.ledger_path) as ledger:
        assert ledger.stats().files == {}


# --- limits (issue 15 items 3 and 5) -------------------------------------------------------------

def test_handle_exhaustion_is_refused_once_and_others_are_served(start, keys):
    server = start("--max-handles", "8")

    async def hog():
        async with server.connect() as conn, conn.start_sftp_client() as client:
            opened, refused = [], []
            for n in range(40):
                try:
                    opened.append(await client.open(f"/inbound/f{n}.837.part", "wb"))
                except asyncssh.SFTPFailure as exc:
                    refused.append(exc.reason)
            # meanwhile another partner works normally
            async with server.connect(keys.beta) as other, other.start_sftp_client() as beta:
                assert await beta.listdir("/outbound") == [".", ".."]
            return len(opened), refused

    opened, refused = run(hog())
    assert opened == 8 and len(refused) == 32
    assert "too many open files in this session (limit 8)" in refused[0]
    server.wait("sftp.session_closed")
    assert len(server.events("sftp.refused", reason="handles")) == 1
    assert "Traceback" not in "".join(server.lines)


def test_sessions_per_partner_are_limited(start, keys):
    server = start("--max-sessions", "1")

    async def twice():
        async with server.connect() as first, first.start_sftp_client() as one:
            async with server.connect(keys.acme2) as second, second.start_sftp_client() as two:
                with pytest.raises(asyncssh.SFTPFailure) as refused:
                    await two.listdir("/outbound")
                async with server.connect(keys.beta) as other, other.start_sftp_client() as beta:
                    assert await beta.listdir("/outbound") == [".", ".."]  # another partner is not limited
            assert await one.listdir("/outbound") == [".", ".."]
        await asyncio.to_thread(server.wait, "sftp.session_closed", count=3)  # both of acme's, and beta's
        async with server.connect(keys.acme2) as again, again.start_sftp_client() as three:
            assert await three.listdir("/outbound") == [".", ".."]  # the first session ended: room again
        return refused.value.reason

    assert run(twice()) == "too many sessions for partner acme-billing (limit 1)"
    assert len(server.events("sftp.refused", reason="sessions")) == 1


def test_an_upload_over_the_size_limit_is_refused_and_not_kept(start, root, tmp_path):
    server = start("--max-upload-mb", "0.05")
    text = claims_837([f"L{n}" for n in range(300)]).encode()
    assert len(text) > 60_000

    async def upload():
        async with server.connect() as conn, conn.start_sftp_client() as client:
            with pytest.raises(asyncssh.SFTPError) as refused:
                async with client.open("/inbound/large.837", "wb") as remote:
                    await remote.write(text)
            return refused.value.reason

    assert "larger than the limit of 52428 bytes" in run(upload())
    server.wait("upload.aborted", reason="refused")
    home = server.home("acme-billing")
    assert files(home / "inbound") == [] and files(home / "inbound" / ".uploads") == []
    assert files(root.rejected) == []


def test_a_partner_over_its_quota_is_refused(start, root):
    server = start("--quota-mb", "0.02")
    first = claims_837(["Q1"])
    (server.home("acme-billing") / "inbound" / "waiting.837.part").write_text("x" * 30_000)

    async def upload():
        async with server.connect() as conn, conn.start_sftp_client() as client:
            with pytest.raises(asyncssh.SFTPError) as refused:
                async with client.open("/inbound/q.837", "wb") as remote:
                    await remote.write(first.encode())
            return refused.value.reason

    assert "quota of 20971 bytes" in run(upload())


def test_uploads_are_refused_below_the_free_disk_floor(start):
    server = start("--min-free-disk-mb", str(10 ** 9))

    async def upload():
        async with server.connect() as conn, conn.start_sftp_client() as client:
            with pytest.raises(asyncssh.SFTPError) as refused:
                await client.open("/inbound/x.837", "wb")
            return refused.value.reason

    assert "disk is nearly full" in run(upload())


# --- memory: the server never parses (issue 15 item 1) ---------------------------------------------

def _vm_hwm_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise AssertionError("no VmHWM")


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs /proc")
def test_the_servers_memory_stays_flat_on_a_large_hostile_upload(start, root, tmp_path):
    server = start("--max-upload-mb", "200")
    small = claims_837(["M1"]).encode()
    head = claims_837(["M2"], control=104)
    cut = head.index("SE*")
    hostile = (head[:cut] + "ZZ*1~\n" * 5_000_000 + head[cut:]).encode()  # ~30 MB of unknown segments

    async def upload(name: str, data: bytes):
        async with server.connect() as conn, conn.start_sftp_client() as client:
            async with client.open(f"/inbound/{name}", "wb") as remote:
                for start_at in range(0, len(data), 1 << 20):
                    await remote.write(data[start_at:start_at + (1 << 20)], start_at)

    run(upload("small.837", small))
    server.wait("upload.received", file="small.837")
    server.wait("file.stored")
    before = _vm_hwm_kb(server.proc.pid)
    run(upload("hostile.837", hostile), timeout=300)
    server.wait("upload.received", file="hostile.837")
    wait_for(lambda: server.events("file.rejected", file="hostile.837") or server.events("file.stored", count=2)
             or len(server.events("file.stored")) >= 2, timeout=600, what="hostile upload processed")
    after = _vm_hwm_kb(server.proc.pid)
    assert after - before < 10_000, (before, after)  # kB: the server streamed 30 MB without growing
    # the parsing happened in the worker, a child process of the server
    assert server.children(), "no worker process"


# --- start-up errors ------------------------------------------------------------------------------

@pytest.mark.parametrize(("line", "expected"), [
    ("ssh-ed25519 AAAAnotbase64", "authorized_keys:2: not a usable public key"),
    ("{public}", "authorized_keys:2: the key has no comment naming its partner"),
    ('from="10.0.0.1" {public} acme', "authorized_keys:2: not a public key line"),
    ("{public} ../evil", "authorized_keys:2: partner name '../evil' is not usable"),
])
def test_a_bad_key_line_stops_the_server_naming_file_and_line(root, keys, line, expected):
    public = " ".join(asyncssh.read_private_key(str(keys.beta)).export_public_key().decode().split()[:2])
    keys.authorized.write_text(f"{_public(keys.acme, 'acme')}\n{line.format(public=public)}\n")
    result = _start_and_fail(root, keys.authorized, keys.host)
    assert result.returncode == 2
    [message] = result.stderr.strip().splitlines()
    assert expected in message and str(keys.authorized) in message


def test_a_missing_host_key_stops_the_server_in_one_line(root, keys):
    result = _start_and_fail(root, keys.authorized, keys.folder / "missing_host_key")
    assert result.returncode == 2
    [message] = result.stderr.strip().splitlines()
    assert "missing_host_key: host key file not found" in message


def _start_and_fail(root, authorized: Path, host: Path):
    return subprocess.run([sys.executable, "-m", "cobpipe.cli", "sftp-serve", str(root.path), "--port", "0",
                           "--authorized-keys", str(authorized), "--host-key", str(host), "--log-format", "json"],
                          capture_output=True, text=True, timeout=60)


# --- confinement -------------------------------------------------------------------------------

@needs_openssh
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
    file = local(client, "escape.835", era_835(["E1"]))
    (root.archive / "claims.837").write_text(claims_837(["E1"]))
    code, out = server.sftp([command.format(file=file, tmp=client)])
    assert code != 0, out
    assert not (client / "stolen").exists()
    assert [p.name for p in tmp_path.rglob("escape.835*")] == ["escape.835"]
    home = server.home("acme-billing")
    assert files(home / "inbound") == [] and files(home / "outbound") == []


@needs_openssh
def test_the_root_shows_only_inbound_and_outbound(server):
    code, out = server.sftp(["ls -a /"])
    assert code == 0, out
    listed = {name.rsplit("/", 1)[-1] for name in out.split("ls -a /", 1)[-1].split()}
    assert {"inbound", "outbound"} <= listed
    assert not {"archive", "rejected", ".cobpipe", ".uploads", "partners", "acme-billing"} & listed
