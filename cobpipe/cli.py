"""The `cobpipe` command: a thin click group; each command lives in cobpipe/commands/.

Exit codes, shared by every command: 0 clean, 1 findings or rejected claims, 2 unusable input,
3 an internal error (a bug: reported in one line, with the traceback only under --debug).
"""
from __future__ import annotations

import importlib
import sys
import traceback

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
}


class CobpipeGroup(click.Group):
    """Loads each command's module on first use; turns our own errors into one line and exit 2,
    and anything else into exit 3."""

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

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except CobpipeError as exc:
            click.echo(f"cobpipe: {exc}", err=True)
            ctx.exit(EXIT_UNUSABLE)
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException):
            raise
        except KeyboardInterrupt:
            click.echo("cobpipe: interrupted", err=True)
            ctx.exit(130)
        except Exception as exc:  # noqa: BLE001 - the last guard against a traceback for users
            if ctx.meta.get("cobpipe.debug"):
                traceback.print_exc()
            click.echo(f"cobpipe: internal error ({type(exc).__name__}); run with --debug for details",
                       err=True)
            ctx.exit(EXIT_INTERNAL)


@click.group(cls=CobpipeGroup)
@click.option("--debug", is_flag=True, help="Show tracebacks of internal errors (may include data).")
@click.version_option(package_name="cobpipe")
@click.pass_context
def main(ctx: click.Context, debug: bool) -> None:
    """cobpipe: secondary (COB) 837P claims from the primary payer's 835 remittance."""
    ctx.meta["cobpipe.debug"] = debug


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
