"""The run config: access, key normalisation, change rules and locking."""

from __future__ import annotations

import argparse

import numpy as np
import pytest

from tracking import Config, ConfigError


def test_dict_and_attribute_access():
    config = Config()
    config.update({"lr": 0.1})
    config.batch = 32
    assert config["lr"] == config.lr == 0.1
    assert config["batch"] == 32
    assert "lr" in config
    assert config.get("missing", 5) == 5
    with pytest.raises(AttributeError):
        _ = config.missing


def test_keys_stripped_of_dashes():
    config = Config()
    config.update({"--batch-size": 8, "-x-": 1})
    assert config.keys() == ["batch-size", "x"]
    assert config["--batch-size"] == 8


def test_change_needs_allow_val_change():
    config = Config()
    config.update({"lr": 0.1})
    config.update({"lr": 0.1})
    with pytest.raises(ConfigError, match="'lr' from 0.1 to 0.2.*allow_val_change"):
        config.update({"lr": 0.2})
    with pytest.raises(ConfigError):
        config.lr = 0.3
    config.update({"lr": 0.2}, allow_val_change=True)
    assert config.lr == 0.2


def test_hidden_keys_not_listed():
    config = Config()
    config.update({"_wandb": {"x": 1}, "a": 1})
    assert config.keys() == ["a"]
    assert "_wandb" in config.as_dict()


def test_namespace_and_numpy_values():
    config = Config()
    config.update(argparse.Namespace(epochs=np.int64(3), rate=np.float32(0.5)))
    assert config.epochs == 3
    assert type(config.epochs) is int
    assert config.rate == 0.5


def test_yaml_file_source(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text("lr:\n  value: 0.01\n  desc: learning rate\nepochs: 5\n")
    config = Config()
    from tracking.config import parse_config_source

    config.update(parse_config_source(str(path)))
    assert config.as_dict() == {"lr": 0.01, "epochs": 5}


def test_locked_keys_ignore_updates(caplog):
    config = Config()
    config.lock({"lr": 0.5}, locked_by="sweep")
    config.update({"lr": 0.1}, allow_val_change=True)
    assert config.lr == 0.5
    assert "locked by 'sweep'" in caplog.text


def test_non_json_value_rejected():
    config = Config()
    with pytest.raises(TypeError, match="'fn'"):
        config.update({"fn": object()})
