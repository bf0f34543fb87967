"""The `cobpipe` command: a thin click group; each command lives in cobpipe/commands/.

Exit codes, shared by every command: 0 clean, 1 findings or rejected claims, 2 unusable input,
3 an internal error (a bug: reported in one line, with the traceback only under --debug).
"""
from __future__ import annotations

import contextlib
import errno
import importlib
import json
import sys

import click

from edi.errors import CobpipeError

EXIT_CLEAN, EXIT_FINDINGS, EXIT_UNUSABLE, EXIT_INTERNAL = 0, 1, 2, 3


# command -> its module in cobpipe/commands/ (each lists its commands in COMMANDS). A module, and
# what it imports, loads when one of its commands runs or the help lists them: `cobpipe convert`
# does not pay for the SFTP server, the explain renderers or the benchmark at every start.
COMMAND_MODULES = {
    "convert": "convert", "explain": "explain", "validate": "validate",
    "watch": "jobs", "run": "jobs", "sftp-serve": "jobs", "status": "jobs",
    "synth": "bench", "bench": "bench",
    "console": "console", "user": "console",
    "ack": "ack",
    "worker": "worker",
    "prune": "prune",
}


def _wants_json(args: list[str]) -> bool:
    """Whether the command line asks for JSON output (--json, or explain's --format json)."""
    for n, arg in enumerate(args):
        if arg == "--":
            break
        if arg in ("--json", "--format=json") or arg == "--format" and args[n + 1:n + 2] == ["json"]:
            return True
    return False


class CobpipeGroup(click.Group):
    """Loads each command's module on first use; turns our own errors and the environment's (a
    path that cannot be written or read) into one line and exit 2, anything else into exit 3; with
    --json, also the error object of cobpipe.cliutil on stdout. `--debug` may come before or after
    the command name."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(COMMAND_MODULES))

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        command = super().get_command(ctx, name)
        if command is None and name in COMMAND_MODULES:
            module = importlib.import_module(f"cobpipe.commands.{COMMAND_MODULES[name]}")
            for each in module.COMMANDS:
                self.add_command(each)
            command = super().get_command(ctx, name)
        return command

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        # `cobpipe convert ... --debug` as well as `cobpipe --debug convert ...` (not after `--`,
        # and not for `bench`, whose arguments pass through to bench/run.py untouched)
        args = list(args)
        names = [a for a in args if not a.startswith("-")]
        if names and names[0] != "bench":
            cut = args.index("--") if "--" in args else len(args)
            if "--debug" in args[1:cut]:
                args = ["--debug"] + [a for a in args[:cut] if a != "--debug"] + args[cut:]
        ctx.meta["cobpipe.json"] = _wants_json(args)
        return super().parse_args(ctx, args)

    def invoke(self, ctx: click.Context):
        from .cliutil import error_object, is_environment_error, os_error_message

        as_json = ctx.meta.get("cobpipe.json", False)

        def fail(code: str, message: str, path: str | None, status: int) -> None:
            if as_json:
                click.echo(json.dumps(error_object(code, message, path)))
            click.echo(f"cobpipe: {message}", err=True)
            ctx.exit(status)

        try:
            return super().invoke(ctx)
        except CobpipeError as exc:
            from .cliutil import OutputError

            code = "cannot_write" if isinstance(exc, OutputError) else "unusable_input"
            fail(code, str(exc), getattr(exc, "path", None), EXIT_UNUSABLE)
        except click.ClickException as exc:
            if as_json:
                click.echo(json.dumps(error_object("usage", exc.format_message(), None)))
            raise
        except (click.exceptions.Exit, click.exceptions.Abort):
            raise
        except KeyboardInterrupt:
            click.echo("cobpipe: interrupted", err=True)
            ctx.exit(130)
        except BrokenPipeError:  # the reader went away (`cobpipe explain big.835 | head`): stop quietly
            import os

            with contextlib.suppress(OSError, ValueError):
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            ctx.exit(141)  # 128 + SIGPIPE, as a shell reports a command stopped by a closed pipe
        except OSError as exc:
            if not is_environment_error(exc):
                return self._internal(ctx, exc, fail)
            path = exc.filename if exc.filename is None else str(exc.filename)
            fail("cannot_read" if exc.errno == errno.ENOENT else "cannot_write",
                 os_error_message(exc), path, EXIT_UNUSABLE)
        except Exception as exc:  # noqa: BLE001 - the last guard against a traceback for users
            return self._internal(ctx, exc, fail)

    @staticmethod
    def _internal(ctx: click.Context, exc: BaseException, fail) -> None:
        if ctx.meta.get("cobpipe.debug"):
            import traceback  # only here: every start-up would pay for it (issue 17)

            traceback.print_exc()
        fail("internal", f"internal error ({type(exc).__name__}); run with --debug for details", None,
             EXIT_INTERNAL)


@click.group(cls=CobpipeGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--debug", is_flag=True, help="Show tracebacks of internal errors (may include data); "
                                            "before or after the command name.")
@click.version_option(package_name="cobpipe")
@click.pass_context
def main(ctx: click.Context, debug: bool) -> None:
    """cobpipe: secondary (COB) 837P claims from the primary payer's 835 remittance.

    Shell completion (bash; zsh and fish likewise): eval "$(_COBPIPE_COMPLETE=bash_source cobpipe)"
    """
    ctx.meta["cobpipe.debug"] = debug


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
