"""Readable placeholders in ``bpass … -h``: ``--key KEY.key``, ``--server URL``, ``--packs N``
instead of typer's ``<path>``, ``<str>``, ``<int>``, and no type shown after a flag
(``--json``, not ``--json <bool>``).

Applied once to the built command tree (:func:`readable`), so that every command, present and
future, gets them: an option not named in :data:`OPTION_METAVARS` shows its own name in
capitals, an argument its name (``KIND``, ``PASSPORT``), as ``--help`` texts refer to them.
"""

from __future__ import annotations

from typing import Any

__all__ = ["OPTION_METAVARS", "readable"]

_PATH_METAVARS = {
    "--key": "KEY.key",
    "--out": "FILE",
    "--data": "FILE.json",
    "--model": "FILE.json",
    "--facilities": "FILE.json",
    "--config": "FILE.json",
    "--class-table": "FILE.json",
    "--point4": "FILE.json",
    "--home": "DIR",
}
"""Options given a file or folder: what is expected there."""

OPTION_METAVARS = {
    "--db": "URL",
    "--server": "URL",
    "--base-url": "URL",
    "--key": "MULTIKEY",
    "--did": "DID",
    "--name": "NAME",
    "--country": "CC",
    "--role": "ROLE",
    "--format": "FORMAT",
    "--kind": "KIND",
    "--origin": "ORIGIN",
    "--pack": "LOT",
    "--serial": "SERIAL",
    "--reason": "WHY",
    "--until": "TIME",
    "--at": "TIME",
    "--explain": "FIGURE",
    "--event": "KIND@TIME[:WHAT]",
    "--set": "POINTER=VALUE",
    "--log-key": "VKEY",
    "--log-vkey": "VKEY",
    "--log-level": "LEVEL",
    "--performance-version": "VERSION",
    "--chemistry": "CHEMISTRY",
    "--host": "HOST",
    "--body-timeout": "SECONDS",
    "--header-timeout": "SECONDS",
    "--keep-alive": "SECONDS",
}
"""Options given text or a number, by long name (numbers otherwise show ``N``)."""

_COMMAND_METAVARS = {
    ("passport export", "--out"): "DIR",
    ("passport status", "--to"): "STATUS",
    ("passport mandate", "--to"): "DID",
    ("passport grant", "--to"): "DID",
}
"""Where one command's option takes something other than the option's usual placeholder."""


def _option_metavar(command: str, param: Any) -> str:
    long: str = next((o for o in param.opts if o.startswith("--")), param.opts[0])
    annotation = param.type_descriptor.annotation
    if (command, long) in _COMMAND_METAVARS:
        return _COMMAND_METAVARS[(command, long)]
    if param.type_descriptor.is_path and long in _PATH_METAVARS:
        return _PATH_METAVARS[long]
    if long in OPTION_METAVARS and not param.type_descriptor.is_path:
        return OPTION_METAVARS[long]
    if annotation in (int, float):
        return "N"
    return long.lstrip("-").upper()


def _no_type(ctx: Any) -> None:
    """An argument's type column: empty (its name, in capitals, says what it is)."""
    return None


def _readable_params(command: Any, path: str) -> None:
    for param in command.params:
        if param.param_type_name == "argument":
            if param.metavar is None:
                name = param.name.upper()
                param.metavar = name + ("..." if param.nargs != 1 else "")
            param.display_type_rich = _no_type
        elif getattr(param, "is_flag", False) or getattr(param, "count", False):
            param.metavar = ""
        elif param.metavar is None:
            param.metavar = _option_metavar(path, param)
    original = command.get_help_option

    def help_option(ctx: Any) -> Any:
        option = original(ctx)
        if option is not None:
            option.metavar = ""
        return option

    command.get_help_option = help_option


def readable(command: Any, path: str = "") -> Any:
    """Give every option and argument of ``command`` and its subcommands a readable placeholder
    (in place); returns ``command``."""
    _readable_params(command, path)
    for name, sub in getattr(command, "commands", {}).items():
        readable(sub, f"{path} {name}".strip())
    return command
