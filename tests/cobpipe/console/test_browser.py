"""End to end in a real browser: `cobpipe console` served by uvicorn in its own process, driven by
Playwright with Debian's chromium (never a downloaded browser).

Skipped with the reason when /usr/bin/chromium is absent; failed instead when
COBPIPE_REQUIRE_SERVICES=1 (.ci/run). Screenshots of the main screens go to a temporary folder, or
to COBPIPE_SCREENSHOTS_DIR (the README's are made with
`COBPIPE_SCREENSHOTS_DIR=docs/screenshots pytest tests/cobpipe/console/test_browser.py`).
"""
from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from conftest import PASSWORDS, PHI
from edi import ig
from edi.reader import X12Reader

CHROMIUM = Path("/usr/bin/chromium")
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
               "--disable-sync", "--no-first-run"]


def _require_chromium() -> None:
    if CHROMIUM.exists():
        return
    message = f"{CHROMIUM} is not installed (apt-get install chromium); the browser tests need it"
    if os.environ.get("COBPIPE_REQUIRE_SERVICES", "") not in ("", "0"):
        pytest.fail(f"COBPIPE_REQUIRE_SERVICES=1 but {message}", pytrace=False)
    pytest.skip(message)


def _free_port() -> int:
    with contextlib.closing(socket.socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def server(root, tmp_path):
    """`cobpipe console ROOT --port N` in a process of its own; stopped (and waited for) afterwards."""
    port = _free_port()
    log = open(tmp_path / "console.log", "w+b")
    command = [sys.executable, "-c", "from cobpipe.cli import main; main()", "console", str(root), "--port", str(port),
               "--log-level", "debug"]
    proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=root)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                with urllib.request.urlopen(f"{url}/login", timeout=5) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                log.seek(0)
                raise AssertionError(f"the console did not start: {log.read().decode(errors='replace')}")
            time.sleep(0.1)
        yield url, tmp_path / "console.log"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


@pytest.fixture
def page(tmp_path):
    _require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=LAUNCH_ARGS, timeout=180_000)
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            page = context.new_page()
            page.set_default_timeout(120_000)  # a shared, loaded machine: generous deadlines
            yield page
        finally:
            browser.close()


@pytest.fixture
def shots(tmp_path) -> Path:
    folder = Path(os.environ.get("COBPIPE_SCREENSHOTS_DIR") or tmp_path / "shots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _login(page, url: str, name: str = "bella") -> None:
    page.goto(f"{url}/queue")
    assert page.url.endswith("/login")
    page.fill("input[name=name]", name)
    page.fill("input[name=password]", PASSWORDS[name])
    page.click("button[type=submit]")
    page.wait_for_url(f"{url}/queue")


def _sent(root: Path) -> list[Path]:
    return sorted((root / "outbound").glob("console-*.837"))


def _segments(path: Path) -> list[str]:
    return ["*".join((seg.tag, *seg.elements)).rstrip("*") for seg in X12Reader.open(path)]


def test_work_a_rejected_claim_from_the_queue_to_a_sent_claim(server, page, root, shots):
    url, log = server
    page.goto(url)
    page.wait_for_selector("text=Log in")
    page.screenshot(path=str(shots / "login.png"))
    _login(page, url)
    assert page.locator("ul.counts").inner_text().split() == ["2", "rejected", "0", "held", "1", "unmatched"]
    page.screenshot(path=str(shots / "queue.png"), full_page=True)
    page.click("a[href='/claims/BADLINE01']")
    page.wait_for_selector("#claim-form")
    # the 835's line 2 is off by $2.00: shown live, Send disabled
    assert page.inner_text("#balance-1") == "$-2.00"
    assert page.inner_text("#claim-balance") == "$-2.00"
    assert page.is_disabled("#send")
    page.screenshot(path=str(shots / "claim-screen.png"), full_page=True)
    page.fill("input[name='line-1-paid']", "12")
    assert page.inner_text("#balance-1") == "$0.00"
    assert page.inner_text("#claim-balance") == "$0.00"
    assert page.inner_text("#total-paid") == "$132.00"
    assert page.is_enabled("#send")
    assert not _sent(root)
    page.click("#send")
    page.wait_for_url(f"{url}/sent/**")
    assert "Secondary claim sent" in page.inner_text("main")
    page.screenshot(path=str(shots / "sent.png"))
    (sent,) = _sent(root)
    assert sent.name in page.url
    segments = _segments(sent)
    assert "SVD*11111*12*HC:81002**1" in segments and "NM1*PR*2*BLUE STAR INSURANCE*****PI*22222" in segments
    assert not [f for f in ig.validate_file(sent) if f.severity.value == "error"]
    # back in the queue, the claim is gone; the remittance explorer follows it to the file sent
    page.goto(f"{url}/queue")
    assert "BADLINE01" not in page.inner_text("main")
    page.click("text=Remittances")
    page.click("text=era.835")
    page.wait_for_selector("article.eob-claim")
    assert sent.name in page.inner_text("#claim-BADLINE01")
    page.screenshot(path=str(shots / "remittance.png"), full_page=True)
    page.click("text=Files and runs")
    assert sent.name in page.inner_text("main")
    page.screenshot(path=str(shots / "files.png"), full_page=True)
    server_log = log.read_text(errors="replace")
    assert "console.claim_sent" in server_log
    assert not [p for p in PHI if p in server_log]


def test_key_the_seed_paper_eob_into_a_sent_secondary_claim(server, page, root, shots):
    url, log = server
    _login(page, url)
    page.click("text=Paper EOB")
    page.fill("#search input[name=claim_id]", "SEED001")
    page.click("#search button[type=submit]")
    page.click("text=Key EOB")
    page.wait_for_selector("#claim-form")
    assert page.input_value("input[name='line-0-charge']") == "33.00"
    page.fill("input[name=adjudication_date]", "2026-03-20")
    page.fill("input[name=payer_claim_number]", "ACME26079000123")
    page.fill("input[name='line-0-paid']", "10")
    assert page.inner_text("#balance-0") == "$23.00"
    page.click("#add-adj-0")
    page.wait_for_selector("select[name='line-0-adj-0-group']")
    page.select_option("select[name='line-0-adj-0-group']", "CO")
    page.fill("input[name='line-0-adj-0-reason']", "45")
    page.fill("input[name='line-0-adj-0-amount']", "13")
    assert page.inner_text("#balance-0") == "$10.00"
    page.click("#add-adj-0")
    page.wait_for_selector("select[name='line-0-adj-1-group']")
    # what was keyed survived the round trip for the new row
    assert page.input_value("input[name='line-0-adj-0-amount']") == "13.00"
    assert page.input_value("input[name=adjudication_date]") == "2026-03-20"
    page.select_option("select[name='line-0-adj-1-group']", "PR")
    page.fill("input[name='line-0-adj-1-reason']", "1")
    page.fill("input[name='line-0-adj-1-amount']", "10")
    assert "Deductible" in page.inner_text("table.adjs tr.adj:nth-child(2) td.text")  # CARC 1 in words, as typed
    assert page.inner_text("#balance-0") == "$0.00"
    assert page.inner_text("#claim-balance") == "$0.00"
    assert page.inner_text("#total-pr") == "$10.00"
    page.screenshot(path=str(shots / "paper-eob.png"), full_page=True)
    page.click("#send")
    page.wait_for_url(f"{url}/sent/**")
    (sent,) = _sent(root)
    segments = _segments(sent)
    for expected in ("CLM*SEED001*33***11:B:1*Y*A*Y*Y", "AMT*D*10", "REF*F8*ACME26079000123",
                     "SVD*11111*10*HC:99213**1", "CAS*CO*45*13", "CAS*PR*1*10", "DTP*573*D8*20260320", "AMT*EAF*10"):
        assert expected in segments, expected
    assert not [p for p in PHI if p in log.read_text(errors="replace")]


def test_an_unbalanced_edit_cannot_be_sent(server, page, root):
    url, _ = server
    _login(page, url)
    page.goto(f"{url}/claims/BADLINE01")
    page.fill("input[name='line-1-paid']", "13")
    assert page.inner_text("#balance-1") == "$-1.00"
    assert page.is_disabled("#send")
    assert "Not balanced yet" in page.inner_text("#live-state")
    # a browser that ignores the disabled button (or a hand-made request) is refused by the server
    page.eval_on_selector("#send", "b => { b.disabled = false; b.form.requestSubmit(b); }")
    page.wait_for_selector("#check.bad")
    text = page.inner_text("#check")
    assert "line 2: does not balance" in text and "claim: does not balance" in text
    assert not _sent(root)


def test_entering_the_secondary_coverage_in_the_browser(server, page, root):
    """NOCOV01 has no secondary on the claim: typing one chooses "enter", a payer id from the payer
    list brings its name, and the claim goes to the payer typed in."""
    url, _ = server
    _login(page, url)
    page.goto(f"{url}/claims/NOCOV01")
    assert page.is_checked("#coverage-new")
    page.fill("input[name=cov_payer_id]", "SAMPLE01")
    assert page.input_value("input[name=cov_payer_name]") == "EXAMPLE COMMERCIAL PLAN"
    page.fill("input[name=cov_member_id]", "ECP12345")
    assert page.inner_text("#claim-balance") == "$0.00" and page.is_enabled("#send")
    page.click("#send")
    page.wait_for_url(f"{url}/sent/**")
    (sent,) = _sent(root)
    assert "NM1*PR*2*EXAMPLE COMMERCIAL PLAN*****PI*SAMPLE01" in _segments(sent)
