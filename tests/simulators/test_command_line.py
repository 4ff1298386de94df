"""The command line the demo and the end-to-end stack start a simulator with is one the
simulator's command accepts, each value landing on the option it is meant for."""

from __future__ import annotations

import sys

import pytest
import typer

from maitred.simulators import cli as simulators_cli

CASES = [
    ("pos", {}),
    ("rms", {"floor": "terrace", "signing_secret": "whsec_rms"}),
    ("rbi-pos", {"signing_secret": "whsec_rbi"}),
    ("channel", {"signing_secret": "whsec_channel"}),
]


@pytest.mark.parametrize(("simulator", "options"), CASES, ids=[c[0] for c in CASES])
def test_the_command_line_is_the_simulators_own(simulator: str, options: dict[str, str]) -> None:
    argv = simulators_cli.command_line(
        simulator,
        port=9999,
        hub="http://127.0.0.1:1",
        hub_key="the-hub-key",
        token="the-token",
        venue="the-venue",
        **options,
    )
    assert argv[:5] == [sys.executable, "-m", "maitred", "simulate", simulator]
    group = typer.main.get_command(simulators_cli.app)
    assert isinstance(group, typer.core.TyperGroup)
    command = group.commands[simulator]
    params = command.make_context(simulator, argv[5:]).params
    expected = {
        "port": 9999,
        "hub": "http://127.0.0.1:1",
        "hub_key": "the-hub-key",
        "token": "the-token",
        "venue": "the-venue",
        **options,
    }
    assert {name: params[name] for name in expected} == expected


def test_an_option_the_simulator_does_not_have_is_refused() -> None:
    argv = simulators_cli.command_line(
        "pos", port=1, hub="h", hub_key="k", token="t", venue="v", signing_secret="whsec_x"
    )
    group = typer.main.get_command(simulators_cli.app)
    assert isinstance(group, typer.core.TyperGroup)
    with pytest.raises(Exception, match="signing-secret"):
        group.commands["pos"].make_context("pos", argv[5:])
