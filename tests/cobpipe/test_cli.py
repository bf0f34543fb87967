"""The command group: every command is found by name, from the module that defines it, loaded on use."""
import importlib
import subprocess
import sys

from click.testing import CliRunner

from cobpipe.cli import COMMAND_MODULES, main

MODULES = sorted(set(COMMAND_MODULES.values()))


def test_each_command_is_listed_under_the_module_that_defines_it():
    defined = {command.name: module for module in MODULES
               for command in importlib.import_module(f"cobpipe.commands.{module}").COMMANDS}
    assert defined == COMMAND_MODULES


def test_help_lists_every_command_and_each_one_runs_its_help():
    runner = CliRunner()
    listing = runner.invoke(main, ["--help"])
    assert listing.exit_code == 0
    for name in COMMAND_MODULES:
        assert f"  {name} " in listing.output
        if name == "bench":  # passes --help on to bench/run.py, in a process of its own
            continue
        result = runner.invoke(main, [name, "--help"])
        assert result.exit_code == 0 and "Usage:" in result.output
    assert runner.invoke(main, ["no-such-command"]).exit_code == 2


def test_a_command_loads_only_its_own_module():
    code = ("import sys; from cobpipe.cli import main\n"
            "try:\n    main(['convert', '--help'])\nexcept SystemExit:\n    pass\n"
            "print(sorted(m for m in sys.modules if m.startswith('cobpipe.commands.')))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip().splitlines()[-1] == "['cobpipe.commands.convert']"
