"""Console fixtures: a drop-folder ROOT built by the real job (`cobpipe run`) from the samples, with
one user per role, and a logged-in TestClient per user."""
from __future__ import annotations

import re
import shutil
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from cobpipe.cli import main
from cobpipe.console import Settings, create_app
from cobpipe.console.auth import hash_password
from cobpipe.console.store import ConsoleStore
from cobpipe.ledger import Ledger

sys.path.insert(0, str(Path(__file__).parent))

from formdata import form_fields  # noqa: E402

PASSWORDS = {"bella": "biller-pass-0001", "andy": "analyst-pass-0001", "ada": "admin-pass-00001"}
ROLES = {"bella": "biller", "andy": "analyst", "ada": "admin"}

# names, member ids and birth dates of the patients and subscribers of the fixture's claims and 835s
PHI = ("TANSYBROOK", "FELIX", "PRM0770001", "SEC0770002", "20060111", "2006-01-11",
       "DUSKHOLLOW", "REMY", "PRM1310001", "NETTLEBRIAR", "WREN", "PRM0880091",
       "ALEX", "PRM0001234", "SEC0005678", "19800115", "1980-01-15",
       "MILLSTREAM", "ELM STREET")


@pytest.fixture(scope="session")
def built_root(tmp_path_factory, samples_dir) -> Path:
    """The samples' claims (claims.837, seed-claims.837) and the problems 835 through `cobpipe run`:
    BADLINE01 and NOCOV01 rejected, UNMATCHGHOST01 unmatched, SEED001 stored with no 835."""
    root = tmp_path_factory.mktemp("console-template") / "root"
    (root / "inbound").mkdir(parents=True)
    for name in ("claims.837", "seed-claims.837"):
        shutil.copyfile(samples_dir / "cob" / name, root / "inbound" / name)
    result = CliRunner().invoke(main, ["run", str(root), "--settle", "0"])
    assert result.exit_code == 0, result.output
    shutil.copyfile(samples_dir / "cob" / "problems" / "era.835", root / "inbound" / "era.835")
    result = CliRunner().invoke(main, ["run", str(root), "--settle", "0"])
    assert result.exit_code == 1, result.output  # 2 rejected, 1 unmatched
    with Ledger.open(root / ".cobpipe" / "ledger.db") as ledger:
        store = ConsoleStore(ledger)
        for name, role in ROLES.items():
            store.add_user(name, role, hash_password(PASSWORDS[name]))
    return root


@pytest.fixture
def root(built_root, tmp_path) -> Path:
    """A private copy of the built ROOT (each test may send claims)."""
    target = tmp_path / "root"
    shutil.copytree(built_root, target)
    return target


@pytest.fixture
def ledger(root):
    with Ledger.open(root / ".cobpipe" / "ledger.db") as ledger:
        yield ledger


@pytest.fixture
def app(root, ledger):
    return create_app(root, ledger, settings=Settings(root))


@pytest.fixture
def anonymous(app):
    from starlette.testclient import TestClient

    with TestClient(app, base_url="http://127.0.0.1") as client:
        yield client


def login(client, name: str, password: str | None = None):
    page = client.get("/login")
    token = re.search(r'name="login_token" value="([^"]+)"', page.text).group(1)
    response = client.post("/login", data={"name": name, "password": password or PASSWORDS[name],
                                           "login_token": token}, follow_redirects=False)
    return response


@pytest.fixture
def client_for(app):
    """client_for("bella") -> a TestClient logged in as that user."""
    from starlette.testclient import TestClient

    clients = []

    def make(name: str):
        client = TestClient(app, base_url="http://127.0.0.1")
        client.__enter__()
        clients.append(client)
        response = login(client, name)
        assert response.status_code == 303 and response.headers["location"] == "/queue", response.text
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)


def claim_form(client, url: str) -> dict[str, str]:
    page = client.get(url)
    assert page.status_code == 200, page.text
    return form_fields(page.text, "claim-form")


def csrf_of(client, url: str = "/queue") -> str:
    return re.search(r'name="csrf" value="([^"]+)"', client.get(url).text).group(1)
