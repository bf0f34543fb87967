"""Security of the console: sessions, roles, CSRF, PHI masking and audit, and logs without PHI."""
from __future__ import annotations

import datetime as dt
import io
import logging
import re

import pytest
from click.testing import CliRunner

from cobpipe.cli import main
from cobpipe.console.store import ConsoleStore
from conftest import PHI, claim_form, csrf_of, login

SHA_RE = re.compile(r"/remittances/([0-9a-f]{64})")

# starlette's TestClient warns that it will move from httpx to httpx2 (not installed here)
pytestmark = pytest.mark.filterwarnings("ignore:Using `httpx` with `starlette.testclient`")


def _pages(client) -> list[str]:
    """Every GET page of the console, with real ids from the fixture."""
    sha = SHA_RE.search(client.get("/remittances").text).group(1)
    return ["/queue", "/queue?status=rejected", "/claims/BADLINE01", "/claims/NOCOV01", "/claims/UNMATCHGHOST01",
            "/claims/SEED001?mode=paper", "/paper", "/remittances", f"/remittances/{sha}",
            f"/remittances/{sha}?findings=1", "/files", "/reports/era." + sha[:12] + ".report.json"]


def test_no_page_or_download_without_a_session(anonymous, client_for, ledger):
    biller = client_for("bella")
    sha = SHA_RE.search(biller.get("/remittances").text).group(1)
    gets = _pages(biller) + ["/users", "/audit", f"/files/{sha}/download",
                             f"/outputs/era.{sha[:12]}.report.json/download", "/", "/static/../app.py"]
    for url in gets:
        response = anonymous.get(url, follow_redirects=False)
        assert response.status_code in (303, 404), url
        if response.status_code == 303:
            assert response.headers["location"] == "/login", url
        assert "TANSYBROOK" not in response.text and "ISA*" not in response.text, url
    posts = ["/claims/BADLINE01", "/claims/BADLINE01/reveal", "/paper", "/users", "/logout"]
    for url in posts:
        response = anonymous.post(url, data={"action": "send", "name": "mallory", "role": "admin",
                                             "password": "x" * 12}, follow_redirects=False)
        assert response.status_code == 303 and response.headers["location"] == "/login", url
    assert ConsoleStore(ledger).user("mallory") is None
    # a made-up or stale cookie is no session
    anonymous.cookies.set("cobpipe_session", "forged-token-value")
    assert anonymous.get("/queue", follow_redirects=False).status_code == 303


def test_static_files_need_no_session_and_hold_no_data(anonymous):
    assert anonymous.get("/static/console.js").status_code == 200
    assert anonymous.get("/static/console.css").status_code == 200


def test_sessions_expire_and_logout_ends_them(client_for, ledger):
    client = client_for("bella")
    assert client.get("/queue").status_code == 200
    past = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=1)).isoformat()
    with ledger.transaction():
        ledger.query("UPDATE console_sessions SET expires_at = ? WHERE user_name = ?", (past, "bella"))
    response = client.get("/queue", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/login"
    assert ledger.query("SELECT COUNT(*) FROM console_sessions WHERE user_name = 'bella'")[0][0] == 0
    client = client_for("bella")
    assert client.post("/logout", data={"csrf": csrf_of(client)}, follow_redirects=False).status_code == 303
    assert client.get("/queue", follow_redirects=False).status_code == 303


def test_passwords_are_argon2_hashes_and_session_tokens_are_stored_hashed(client_for, ledger):
    client = client_for("bella")
    (hashed,) = ledger.query("SELECT password_hash FROM console_users WHERE name = 'bella'")[0]
    assert hashed.startswith("$argon2id$") and "biller-pass" not in hashed
    token = client.cookies.get("cobpipe_session")
    stored = [r[0] for r in ledger.query("SELECT token_hash FROM console_sessions")]
    assert token and token not in stored and len(stored[0]) == 64


def test_wrong_password_and_lockout(anonymous, ledger):
    for _ in range(5):
        assert login(anonymous, "bella", "wrong-password-1").status_code == 401
    # locked now, even with the right password
    assert login(anonymous, "bella").status_code == 429
    actions = [r[0] for r in ledger.query("SELECT action FROM console_audit WHERE user_name = 'bella'")]
    assert actions.count("login.failed") == 5 and "login.locked" in actions


def test_login_needs_its_form_token(anonymous):
    response = anonymous.post("/login", data={"name": "bella", "password": "biller-pass-0001"},
                              follow_redirects=False)
    assert response.status_code == 403 and "cobpipe_session" not in response.cookies


def test_a_biller_cannot_manage_users_or_read_the_audit_log(client_for, ledger):
    biller = client_for("bella")
    assert biller.get("/users").status_code == 403
    assert biller.get("/audit").status_code == 403
    response = biller.post("/users", data={"csrf": csrf_of(biller), "action": "add", "name": "mallory",
                                           "role": "admin", "password": "mallory-pass-1"})
    assert response.status_code == 403
    response = biller.post("/users", data={"csrf": csrf_of(biller), "action": "role", "name": "bella",
                                           "role": "admin"})
    assert response.status_code == 403
    store = ConsoleStore(ledger)
    assert store.user("mallory") is None and store.user("bella").role == "biller"
    assert "/users" not in biller.get("/queue").text  # not offered either


def test_an_admin_manages_users_and_every_change_is_audited(client_for, ledger):
    admin = client_for("ada")
    csrf = csrf_of(admin, "/users")
    assert "mallory" in admin.post("/users", data={"csrf": csrf, "action": "add", "name": "mallory",
                                                   "role": "analyst", "password": "mallory-pass-1"}).text
    admin.post("/users", data={"csrf": csrf, "action": "role", "name": "mallory", "role": "biller"})
    admin.post("/users", data={"csrf": csrf, "action": "disable", "name": "mallory"})
    store = ConsoleStore(ledger)
    user = store.user("mallory")
    assert user.role == "biller" and user.disabled
    trail = [(r["user"], r["action"], r["target"]) for r in store.audit_page(50)[0]]
    for action in ("user.add", "user.role", "user.disable"):
        assert ("ada", action, "mallory") in trail
    page = admin.get("/audit").text
    assert "user.disable" in page and "mallory" in page
    # a disabled user cannot log in
    from starlette.testclient import TestClient

    with TestClient(admin.app, base_url="http://127.0.0.1") as other:
        assert login(other, "mallory", "mallory-pass-1").status_code == 401
    # the last admin keeps the role
    assert "last admin" in admin.post("/users", data={"csrf": csrf, "action": "role", "name": "ada",
                                                      "role": "biller"}).text


def test_an_analyst_is_read_only_and_sees_no_phi(client_for, root):
    analyst = client_for("andy")
    for url in _pages(analyst):
        response = analyst.get(url)
        assert response.status_code == 200, url
        assert not [p for p in PHI if p in response.text], url
        assert 'value="send"' not in response.text
    form = claim_form(analyst, "/claims/BADLINE01")
    form.update({"line-1-paid": "12", "action": "send"})
    assert analyst.post("/claims/BADLINE01", data=form).status_code == 403
    assert analyst.post("/claims/BADLINE01/reveal", data={"csrf": form["csrf"]}).status_code == 403
    sha = SHA_RE.search(analyst.get("/remittances").text).group(1)
    assert analyst.get(f"/files/{sha}/download").status_code == 403
    assert not list((root / "outbound").glob("console-*"))


def test_csrf_token_is_required_on_every_form(client_for, root, ledger):
    biller = client_for("bella")
    form = claim_form(biller, "/claims/BADLINE01")
    form.update({"line-1-paid": "12", "action": "send"})
    for token in (None, "", "not-the-token"):
        data = dict(form)
        if token is None:
            del data["csrf"]
        else:
            data["csrf"] = token
        response = biller.post("/claims/BADLINE01", data=data, follow_redirects=False)
        assert response.status_code == 403, token
        assert biller.post("/claims/BADLINE01/reveal", data={"csrf": token or ""}).status_code == 403
        assert biller.post("/paper", data={"csrf": token or "", "claim_id": "SEED"}).status_code == 403
    assert not list((root / "outbound").glob("console-*"))
    assert not ledger.query("SELECT 1 FROM issued")
    admin = client_for("ada")
    response = admin.post("/users", data={"action": "add", "name": "mallory", "role": "admin",
                                          "password": "mallory-pass-1"})
    assert response.status_code == 403 and ConsoleStore(ledger).user("mallory") is None
    # another user's token is not this user's token
    response = admin.post("/claims/BADLINE01", data=form)
    assert response.status_code == 403
    # with the token, the same form is accepted
    assert biller.post("/claims/BADLINE01", data=form, follow_redirects=False).status_code == 303


def test_phi_is_masked_until_revealed_and_each_reveal_is_audited(client_for, ledger):
    biller = client_for("bella")
    for url in _pages(biller):
        text = biller.get(url).text
        assert not [p for p in PHI if p in text], url
    page = biller.get("/claims/BADLINE01").text
    assert "T*** F***" in page and "****0001" in page
    response = biller.post("/claims/BADLINE01/reveal", data={"csrf": csrf_of(biller), "back": "/claims/BADLINE01"},
                           follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/claims/BADLINE01"
    page = biller.get("/claims/BADLINE01").text
    assert "TANSYBROOK, FELIX" in page and "PRM0770001" in page and "SEC0770002" in page and "2006-01-11" in page
    # only that claim is revealed
    assert "DUSKHOLLOW" not in biller.get("/claims/NOCOV01").text
    sha = SHA_RE.search(biller.get("/remittances").text).group(1)
    explorer = biller.get(f"/remittances/{sha}").text
    assert "TANSYBROOK" in explorer and "DUSKHOLLOW" not in explorer
    rows = ConsoleStore(ledger).audit_of("phi.reveal")
    assert [(r["user"], r["target"]) for r in rows] == [("bella", "BADLINE01")]
    # hiding again masks again
    biller.post("/claims/BADLINE01/reveal", data={"csrf": csrf_of(biller), "hide": "1"})
    assert "TANSYBROOK" not in biller.get("/claims/BADLINE01").text
    # a new session starts masked
    other = client_for("bella")
    assert "TANSYBROOK" not in other.get("/claims/BADLINE01").text


def test_downloads_are_audited(client_for, ledger):
    biller = client_for("bella")
    sha = SHA_RE.search(biller.get("/remittances").text).group(1)
    response = biller.get(f"/files/{sha}/download")
    assert response.status_code == 200 and response.text.startswith("ISA*")
    assert response.headers["cache-control"] == "no-store"
    report = f"era.{sha[:12]}.report.json"
    assert biller.get(f"/outputs/{report}/download").status_code == 200
    assert biller.get("/outputs/..%2Fledger.db/download").status_code == 404
    actions = [(r["action"], r["target"]) for r in ConsoleStore(ledger).audit_page(50)[0]]
    assert ("download.input", "era.835") in actions and ("download.output", report) in actions


class _EverythingFormatter(logging.Formatter):
    """A log record with every attribute (message, arguments, extra fields, exception text)."""

    def format(self, record: logging.LogRecord) -> str:
        text = f"{record.name} {record.levelname} {record.getMessage()} {record.__dict__!r}"
        if record.exc_info:
            text += self.formatException(record.exc_info)
        return text


def test_no_phi_in_any_log_line(client_for, ledger):
    """Everything a session does -- search by a patient's name, reveal, edit, send, download -- logs
    nothing that names a patient or subscriber, at any level, through any logger."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(_EverythingFormatter())
    # the root logger, and the cobpipe logger in case a job command stopped it propagating
    loggers = [logging.getLogger(), logging.getLogger("cobpipe")]
    previous = [(each, each.level, each.propagate) for each in loggers]
    for each in loggers:
        each.addHandler(handler)
        each.setLevel(logging.DEBUG)
    loggers[1].propagate = False  # each record once
    try:
        biller = client_for("bella")
        for url in _pages(biller):
            biller.get(url)
        biller.post("/paper", data={"csrf": csrf_of(biller), "patient": "SAMPLE", "claim_id": "", "dos": ""})
        biller.post("/claims/BADLINE01/reveal", data={"csrf": csrf_of(biller)})
        biller.get("/claims/BADLINE01")
        form = claim_form(biller, "/claims/NOCOV01")
        form.update({"coverage": "new", "cov_payer_name": "BLUE STAR INSURANCE", "cov_payer_id": "22222",
                     "cov_member_id": "SEC1310002", "cov_relationship": "01", "cov_last_name": "DUSKHOLLOW",
                     "cov_first_name": "MARA", "action": "send"})
        assert biller.post("/claims/NOCOV01", data=form, follow_redirects=False).status_code == 303
        login(biller, "bella", "wrong-password-9")
    finally:
        for each, level, propagate in previous:
            each.removeHandler(handler)
            each.setLevel(level)
            each.propagate = propagate
    logged = stream.getvalue()
    assert "console.request" in logged and "console.claim_sent" in logged  # the handler did see the logs
    assert not [p for p in PHI + ("SEC1310002", "MARA", "SAMPLE") if p in logged]
    assert "wrong-password" not in logged and "biller-pass" not in logged
    # the audit log says what was done without the search term
    search = ConsoleStore(ledger).audit_of("claims.search")[0]
    assert search["detail"] == {"by": ["patient"], "found": 1}


def test_user_add_command(root, ledger):
    runner = CliRunner()
    result = runner.invoke(main, ["user", "add", str(root), "carl", "--role", "analyst", "--password-stdin"],
                           input="carl-pass-00001\n")
    assert result.exit_code == 0, result.output
    assert ConsoleStore(ledger).user("carl").role == "analyst"
    result = runner.invoke(main, ["user", "add", str(root), "dora", "--password-stdin"], input="short\n")
    assert result.exit_code == 2 and "at least 10" in result.output
    result = runner.invoke(main, ["user", "add", str(root), "carl", "--password-stdin"], input="carl-pass-00002\n")
    assert result.exit_code == 2 and "already exists" in result.output
    result = runner.invoke(main, ["user", "add", str(root), "bad name!", "--password-stdin"], input="x" * 12 + "\n")
    assert result.exit_code == 2


@pytest.mark.parametrize("path", ["/claims/BADLINE01", "/queue", "/login"])
def test_security_headers(client_for, anonymous, path):
    client = anonymous if path == "/login" else client_for("bella")
    response = client.get(path)
    assert response.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert response.headers["cache-control"] == "no-store"


def test_redirects_stay_on_this_site(client_for):
    biller = client_for("bella")
    for target in ("//evil.example/x", "/\\evil.example", "https://evil.example/", "javascript:alert(1)"):
        response = biller.post("/claims/BADLINE01/reveal", data={"csrf": csrf_of(biller), "back": target},
                               follow_redirects=False)
        assert response.headers["location"] == "/claims/BADLINE01", target


def test_a_session_ends_idle_minutes_after_the_last_request_and_never_after_the_absolute_limit():
    from cobpipe.console.auth import SessionPolicy, expiry

    policy = SessionPolicy(idle=dt.timedelta(minutes=30), absolute=dt.timedelta(hours=12))
    login_at = dt.datetime(2026, 3, 1, 8, 0, tzinfo=dt.timezone.utc)
    assert expiry(login_at, login_at, policy) == login_at + dt.timedelta(minutes=30)
    later = login_at + dt.timedelta(hours=3)
    assert expiry(login_at, later, policy) == later + dt.timedelta(minutes=30)
    assert expiry(login_at, login_at + dt.timedelta(hours=11, minutes=50), policy) == login_at + dt.timedelta(hours=12)


def test_user_password_and_list_commands(root, ledger, app, client_for):
    from starlette.testclient import TestClient

    runner = CliRunner()
    client_for("bella")  # a session that the new password ends
    result = runner.invoke(main, ["user", "password", str(root), "bella", "--password-stdin"],
                           input="new-biller-pass-1\n")
    assert result.exit_code == 0, result.output
    assert ledger.query("SELECT COUNT(*) FROM console_sessions WHERE user_name = 'bella'")[0][0] == 0
    assert runner.invoke(main, ["user", "password", str(root), "nobody", "--password-stdin"],
                         input="whatever-pass-1\n").exit_code == 2
    listing = runner.invoke(main, ["user", "list", str(root)]).output.splitlines()
    assert "bella\tbiller\tactive" in listing and "ada\tadmin\tactive" in listing
    assert ConsoleStore(ledger).audit_of("user.password")[0]["target"] == "bella"
    with TestClient(app, base_url="http://127.0.0.1") as fresh:
        assert login(fresh, "bella").status_code == 401
        assert login(fresh, "bella", "new-biller-pass-1").status_code == 303
