"""What ``pip install -e '.[test]'`` brings: everything the tests import (#16), so no test skips
for a missing package on a machine set up as the README says."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_the_test_extra_has_what_the_tests_import() -> None:
    extra = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["optional-dependencies"]["test"]
    names = {re.split(r"[<>=\[ ]", requirement, maxsplit=1)[0].lower() for requirement in extra}
    assert {"pytest", "testcontainers", "pyyaml"} <= names


def test_the_benchmark_readme_says_it_needs_the_test_extra() -> None:
    assert "'.[test]'" in (REPO / "tests" / "benchmarks" / "README.md").read_text()
