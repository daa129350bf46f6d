"""Test-suite guards: no real model by accident, no provider keys, state in tmp_path."""

from __future__ import annotations

import os

import pytest

from podium.settings import get_settings

# Deterministic and offline for every test, set before any model is loaded.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
os.environ.setdefault("LANGSMITH_TRACING", "false")

_PROVIDER_KEYS = (
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "ANTHROPIC_API_KEY",
    "LANGSMITH_API_KEY",
    "LANGCHAIN_API_KEY",
    "TAVILY_API_KEY",
    "PODIUM_MODEL",
)


@pytest.fixture(autouse=True)
def _offline_guard(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, tmp_path):
    """Refuse network-backed models unless a test is marked ``network_model``."""
    for key in _PROVIDER_KEYS:
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("LANGSMITH_TRACING", "false")
    monkeypatch.setenv("PODIUM_HOME", str(tmp_path / "podium-home"))
    allowed = request.node.get_closest_marker("network_model") is not None
    monkeypatch.setenv("PODIUM_ALLOW_NETWORK_MODELS", "1" if allowed else "0")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()
