"""`make bench` entry point (scenarios are added in bench/)."""

from __future__ import annotations


def main() -> None:
    """Run every benchmark and print its ratio to the baseline measured in the same run."""
    raise SystemExit("no benchmark yet")


if __name__ == "__main__":
    main()
