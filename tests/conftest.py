"""The test suite's fixtures live in importable plugin modules (import helpers from them, never
from a conftest): tests/helpers/fixtures.py (tmux servers, sshd, registries, PostgreSQL, the CLI)
and tests/helpers/hub.py (a real hub process over demo agents)."""

pytest_plugins = ["tests.helpers.fixtures", "tests.helpers.hub"]
