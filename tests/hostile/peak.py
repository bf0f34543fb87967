"""`python peak.py OUT.json MODULE ARGS...`: run `python -m MODULE ARGS...` as a child of this small
launcher and write its exit code and peak RSS (KiB) to OUT.json.

The figure is getrusage(RUSAGE_CHILDREN) here: the largest process this launcher waited for (the
command, and the validator process or worker pools it waited for itself). Linux counts in a process's
peak the memory of the process it was forked from (kept across exec), so the command is forked from
this launcher -- a few MB -- never from the test process, whose size would otherwise be measured too
(RUSAGE_SELF of this launcher includes it, and is not used).
"""
import json
import resource
import subprocess
import sys


def main() -> None:
    out, module, *args = sys.argv[1:]
    done = subprocess.run([sys.executable, "-m", module, *args], check=False)
    code = done.returncode if done.returncode >= 0 else 128 - done.returncode  # killed by a signal
    data = {"exit": code, "self_kb": 0, "children_kb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}
    with open(out, "w") as stream:
        json.dump(data, stream)
    sys.exit(code)


if __name__ == "__main__":
    main()
