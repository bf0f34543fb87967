"""The memory figures of the hostile suite are the command's own, whatever the test process's size
(a full suite run grows the test process past 200 MB; Linux counts a forked parent's memory in the
child's peak)."""
from conftest import run_measured


def test_the_peak_does_not_include_the_test_process(tmp_path):
    ballast = bytearray(300 * 1024 * 1024)  # the test process holds 300 MB while measuring
    ballast[::4096] = b"x" * len(ballast[::4096])  # touched: resident, not just reserved
    peak = run_measured(tmp_path, "--help")
    assert peak.exit == 0 and "Usage" in peak.stdout
    assert peak.mb < 150, f"{peak.mb:.0f} MB: the test process's 300 MB were counted"
    del ballast
