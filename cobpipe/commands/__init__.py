"""CLI commands, one module each; every module lists its commands in COMMANDS, and
cobpipe.cli.COMMAND_MODULES says which module holds which command (loaded on first use)."""
