"""The registry's typed models."""

from __future__ import annotations

from bridge.config.models import HostSpec


def test_host_spec_defaults_are_safe() -> None:
    spec = HostSpec(address="10.0.0.1")
    assert spec.host_key_policy == "strict" and spec.connect_timeout == 10
