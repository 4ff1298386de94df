"""Allow `python -m maitred`."""

from maitred.cli import main

main()
