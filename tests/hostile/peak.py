"""`python peak.py OUT.json MODULE ARGS...`: run `python -m MODULE ARGS...` in this fresh interpreter
and write its exit code and peak RSS (KiB) to OUT.json.

The peak is getrusage(RUSAGE_SELF) of this process -- a fresh interpreter that inherited nothing
from the test process -- and, separately, RUSAGE_CHILDREN (the largest child it waited for: the
validator process and worker pools started by the command). The test process's own size never
enters the figures.
"""
import json
import os
import resource
import runpy
import sys


def main() -> None:
    out, module, *args = sys.argv[1:]
    sys.argv = [module, *args]
    code = 0
    try:
        runpy.run_module(module, run_name="__main__", alter_sys=True)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException as exc:  # noqa: BLE001 - the figure is still wanted
        print(f"peak.py: {type(exc).__name__}: {exc}", file=sys.stderr)
        code = 99
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        data = {"exit": code,
                "self_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                "children_kb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}
        with open(out, "w") as stream:
            json.dump(data, stream)
    os._exit(code)


if __name__ == "__main__":
    main()
