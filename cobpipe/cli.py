"""The `cobpipe` command: a thin click group; each command lives in cobpipe/commands/.

Exit codes, shared by every command: 0 clean, 1 findings or rejected claims, 2 unusable input,
3 an internal error (a bug: reported in one line, with the traceback only under --debug).
"""
from __future__ import annotations

import sys
import traceback

import click

from edi.errors import CobpipeError

EXIT_CLEAN, EXIT_FINDINGS, EXIT_UNUSABLE, EXIT_INTERNAL = 0, 1, 2, 3


class CobpipeGroup(click.Group):
    """Turns our own errors into one line and exit 2, and anything else into exit 3."""

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


def _register() -> None:
    from .commands import COMMANDS

    for command in COMMANDS:
        main.add_command(command)


_register()

if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
