"""`convert` keeps the code of the dataclass methods it makes (commands.convert.remember_dataclass_code):
the classes made with kept code, with code compiled in the run and without the cache behave alike."""
from __future__ import annotations

import json
import marshal
import os
import subprocess
import sys
import textwrap
from pathlib import Path

# classes of every kind the project declares (frozen, slots, order, defaults, factories, keyword-only,
# a __post_init__), made in a module that has `from __future__ import annotations` as ours do; what
# each one does is printed as JSON: repr, eq, hash, order, frozen, the __init__'s annotations
SCRIPT = textwrap.dedent('''
    from __future__ import annotations
    import builtins, dataclasses, json, sys
    from pathlib import Path
    compiled = []
    plain_compile = builtins.compile
    def counted(*args, **kwargs):
        compiled.append(1)
        return plain_compile(*args, **kwargs)
    if sys.argv[1] != "plain":
        from cobpipe.commands.convert import remember_dataclass_code
        remember_dataclass_code(Path(sys.argv[1]))
        builtins.compile = counted
    from dataclasses import dataclass, field

    @dataclass(frozen=True, slots=True)
    class Frozen:
        a: str
        b: int = 2
        c: tuple = ()

    @dataclass(order=True)
    class Ordered:
        x: int
        y: list = field(default_factory=list)
        z: str = field(default="z", compare=False, repr=False)

    @dataclass(kw_only=True, slots=True)
    class KeywordOnly:
        name: str
        count: int = 0

    @dataclass
    class Posted:
        value: int
        double: int = field(init=False)

        def __post_init__(self) -> None:
            self.double = 2 * self.value

    builtins.compile = plain_compile
    seen = {}
    f = Frozen("a")
    try:
        f.a = "b"
        refused = None
    except dataclasses.FrozenInstanceError as exc:
        refused = type(exc).__name__
    seen["frozen"] = [repr(f), f == Frozen("a", 2, ()), hash(f) == hash(Frozen("a")), refused]
    seen["ordered"] = [repr(Ordered(1, [2], "q")), Ordered(1) < Ordered(2), Ordered(1, z="a") == Ordered(1, z="b")]
    seen["keyword"] = [repr(KeywordOnly(name="n")), KeywordOnly(name="n", count=1) != KeywordOnly(name="n")]
    seen["posted"] = [repr(Posted(3))]
    seen["annotations"] = {cls.__name__: {k: repr(v) for k, v in cls.__init__.__annotations__.items()}
                           for cls in (Frozen, Ordered, KeywordOnly, Posted)}
    print(json.dumps({"seen": seen, "compiled": len(compiled)}))
''')


def _run(tmp_path: Path, argument: str) -> dict:
    script = tmp_path / "classes.py"
    script.write_text(SCRIPT)
    environment = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "user-cache")}  # (the import's own cache)
    done = subprocess.run([sys.executable, str(script), argument], capture_output=True, text=True, check=True,
                          cwd=Path(__file__).resolve().parents[2], env=environment)
    return json.loads(done.stdout)


def test_kept_code_makes_the_classes_a_plain_run_makes(tmp_path: Path) -> None:
    folder = tmp_path / "cache"
    plain = _run(tmp_path, "plain")
    cold = _run(tmp_path, str(folder))  # compiled here, kept at exit
    kept = list(folder.glob("dataclass-code-*.marshal"))
    assert len(kept) == 1
    warm = _run(tmp_path, str(folder))  # made from the kept code
    assert cold["seen"] == plain["seen"] == warm["seen"]
    assert plain["seen"]["annotations"]["Frozen"]["return"] == "None"  # not a string: no __future__ flags
    assert cold["compiled"] > 0
    assert warm["compiled"] == 0  # every method's code was kept


def test_an_unreadable_kept_file_is_made_again(tmp_path: Path) -> None:
    folder = tmp_path / "cache"
    plain = _run(tmp_path, "plain")
    _run(tmp_path, str(folder))
    (kept,) = folder.glob("dataclass-code-*.marshal")
    no_code = marshal.dumps(dict.fromkeys(marshal.loads(kept.read_bytes()), 0))  # each source kept with no code
    for junk in (b"not marshal at all", marshal.dumps(7), no_code):
        kept.write_bytes(junk)
        again = _run(tmp_path, str(folder))
        assert again["seen"] == plain["seen"]
        assert again["compiled"] > 0
        assert _run(tmp_path, str(folder))["compiled"] == 0  # made again at exit
