"""Run a command and report its own resource use, not its parent's: `python -S -I launch.py REPORT CMD...`.

Linux counts in a child's peak RSS (ru_maxrss) the memory of the process it was forked from: the
copied address space is the child's until exec, and exec records its high-water mark. Forked from
the benchmark (or a test process that has grown to hundreds of MB), a step would be charged for
that size. This launcher is a fresh, bare interpreter (~10 MB), so the command it forks inherits
only that: its figure is its own peak (or the launcher's size, whichever is larger), plus the
largest of its own children's, as wait4 reports it.

Writes {"wall": s, "cpu": s, "maxrss_kb": n, "status": wait status} to the file REPORT and exits
with the command's exit code (128 + signal when killed).
"""
import json
import os
import sys
import time


def main() -> int:
    report, cmd = sys.argv[1], sys.argv[2:]
    start = time.perf_counter()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - replaced by the command
        try:
            os.execvp(cmd[0], cmd)
        except OSError as exc:
            os.write(2, f"launch: cannot run {cmd[0]}: {exc.strerror}\n".encode())
            os._exit(127)
    _, status, usage = os.wait4(pid, 0)
    wall = time.perf_counter() - start
    with open(report, "w", encoding="utf-8") as stream:
        json.dump({"wall": wall, "cpu": usage.ru_utime + usage.ru_stime, "maxrss_kb": usage.ru_maxrss,
                   "status": status}, stream)
    code = os.waitstatus_to_exitcode(status)
    return code if code >= 0 else 128 - code


if __name__ == "__main__":
    sys.exit(main())
