"""Expansion of W&B's command macros for subprocess trials."""

from __future__ import annotations

import json
import sys

from tracking.sweeps.macros import expand_command

CONFIG = {
    "flag": True,
    "off": False,
    "layers": [64, 32],
    "opt": {"name": "adam", "beta": 0.9},
    "none": None,
    "lr": 0.01,
}


def test_default_command():
    argv = expand_command(None, program="train.py", config={"lr": 0.01, "bs": 32})
    assert argv == ["/usr/bin/env", sys.executable, "train.py", "--lr=0.01", "--bs=32"]


def test_args_formats_values_with_str():
    argv = expand_command(["${args}"], program=None, config=CONFIG)
    assert argv == [
        "--flag=True",
        "--off=False",
        "--layers=[64, 32]",
        "--opt={'name': 'adam', 'beta': 0.9}",
        "--none=None",
        "--lr=0.01",
    ]


def test_args_no_hyphens():
    argv = expand_command(
        ["${args_no_hyphens}"], program=None, config={"a": 1, "b": None}
    )
    assert argv == ["a=1", "b=None"]


def test_args_no_boolean_flags():
    argv = expand_command(["${args_no_boolean_flags}"], program=None, config=CONFIG)
    assert argv[:2] == ["--flag", "--layers=[64, 32]"]
    assert "--off" not in " ".join(argv)
    assert argv[-2:] == ["--none=None", "--lr=0.01"]


def test_args_no_equals():
    argv = expand_command(
        ["${args_no_equals}"], program=None, config={"a": 1, "b": [1]}
    )
    assert argv == ["--a", "1", "--b", "[1]"]


def test_args_json_and_file():
    argv = expand_command(
        ["x", "${args_json}", "${args_json_file}"],
        program=None,
        config=CONFIG,
        json_file="/tmp/config-abc.json",
    )
    assert argv[0] == "x"
    assert json.loads(argv[1]) == CONFIG
    assert argv[2] == "/tmp/config-abc.json"


def test_hydra_macros():
    argv = expand_command(
        ["${args_append_hydra}", "${args_override_hydra}"],
        program=None,
        config={"a": 1},
    )
    assert argv == ["+a=1", "++a=1"]


def test_token_with_text_left_as_is():
    """Check W&B's rule: only whole ${...} tokens are replaced."""
    argv = expand_command(
        ["python", "train.py", "--bs=${batch_size}", "${batch_size}", "${program}"],
        program=None,
        config={"batch_size": 32},
    )
    assert argv == ["python", "train.py", "--bs=${batch_size}"]


def test_envvar_replaced_inside_tokens():
    environ = {"DATA": "/data"}
    argv = expand_command(
        ["--data=${envvar:DATA}/x", "${envvar:MISSING}", "${envvar:DATA}"],
        program=None,
        config={},
        environ=environ,
    )
    assert argv == ["--data=/data/x", "MISSING", "/data"]


def test_interpreter_override():
    argv = expand_command(
        ["${interpreter}", "${program}"], program="t.py", config={}, interpreter="py3"
    )
    assert argv == ["py3", "t.py"]
