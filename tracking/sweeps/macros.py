"""W&B's command macros, expanded into the argv of a subprocess trial.

Only whole tokens of the form ``${name}`` are replaced, and one can become
several arguments or none; an unknown macro becomes nothing. A token with
text around a macro, such as ``--bs=${batch_size}``, is passed as written,
as W&B passes it. ``${envvar:NAME}`` is replaced inside any token, by the
variable's value, or by ``NAME`` itself when the variable is unset.

One difference from W&B: ``${interpreter}`` is the agent's own Python
(``sys.executable``) where W&B writes ``python``, so a trial runs in the
agent's environment even when that environment is not activated.
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Mapping, Sequence
from typing import Any

DEFAULT_COMMAND = ("${env}", "${interpreter}", "${program}", "${args}")

_WHOLE_MACRO = re.compile(r"^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$")
_ENVVAR = re.compile(r"\$\{envvar:([^}]*)\}")


def _value_text(value: Any) -> str:
    # W&B formats values with str(): True, [64, 32], {'name': 'adam'}, None.
    return str(value)


def _args(config: Mapping[str, Any], prefix: str = "--") -> list[str]:
    return [f"{prefix}{key}={_value_text(value)}" for key, value in config.items()]


def _args_no_boolean_flags(config: Mapping[str, Any]) -> list[str]:
    found = []
    for key, value in config.items():
        if value is True:
            found.append(f"--{key}")
        elif value is not False:
            found.append(f"--{key}={_value_text(value)}")
    return found


def _args_no_equals(config: Mapping[str, Any]) -> list[str]:
    found = []
    for key, value in config.items():
        found.extend([f"--{key}", _value_text(value)])
    return found


def expand_command(
    command: Sequence[str] | None,
    *,
    program: str | None,
    config: Mapping[str, Any],
    json_file: str | None = None,
    environ: Mapping[str, str] | None = None,
    interpreter: str | None = None,
) -> list[str]:
    """Expand a sweep's ``command`` into an argv list.

    Parameters
    ----------
    command : sequence of str, optional
        The template; W&B's default ``${env} ${interpreter} ${program}
        ${args}`` when None.
    program : str, optional
        The sweep's ``program``, for ``${program}``.
    config : mapping
        The trial's parameters by top-level name; nested parameters are dicts.
    json_file : str, optional
        The path ``${args_json_file}`` expands to.
    environ : mapping, optional
        Variables for ``${envvar:NAME}``; ``os.environ`` by default.
    interpreter : str, optional
        The Python for ``${interpreter}``; ``sys.executable`` by default.
    """
    environ = os.environ if environ is None else environ
    macros: dict[str, list[str]] = {
        "env": [] if sys.platform == "win32" else ["/usr/bin/env"],
        "interpreter": [interpreter or sys.executable],
        "program": [program] if program else [],
        "args": _args(config),
        "args_no_hyphens": _args(config, prefix=""),
        "args_no_boolean_flags": _args_no_boolean_flags(config),
        "args_no_equals": _args_no_equals(config),
        "args_json": [json.dumps(dict(config))],
        "args_json_file": [json_file] if json_file else [],
        "args_append_hydra": _args(config, prefix="+"),
        "args_override_hydra": _args(config, prefix="++"),
    }

    argv: list[str] = []
    for token in command if command is not None else DEFAULT_COMMAND:
        token = _ENVVAR.sub(lambda match: environ.get(match[1], match[1]), token)
        whole = _WHOLE_MACRO.match(token)
        if whole:
            argv.extend(macros.get(whole[1], []))
        else:
            argv.append(token)
    return argv
