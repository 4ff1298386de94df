"""Allow `python -m maitred.simulators pos|rms`."""

from maitred.simulators.cli import app

app(prog_name="maitred simulate")
