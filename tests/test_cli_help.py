"""`automl --help` and `automl COMMAND --help` take each command's text from its handler."""

from __future__ import annotations

import argparse

import pytest

from automl.cli import build_parser
from automl.cli_support import add_command


def test_command_help_comes_from_the_handler_docstring(capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--help"])
    listing = " ".join(capsys.readouterr().out.split())
    assert "ui browse experiments, runs and the registry in a web browser" in listing
    assert "rerun re-execute a trial's notebook with new parameters or data" in listing
    with pytest.raises(SystemExit):
        build_parser().parse_args(["serve", "--help"])
    assert "split traffic between several with --route" in " ".join(capsys.readouterr().out.split())


def test_a_handler_without_a_docstring_is_refused():
    subparsers = argparse.ArgumentParser().add_subparsers()
    with pytest.raises(TypeError, match="'bare'.*needs a docstring"):
        add_command(subparsers, "bare", lambda args: 0)
