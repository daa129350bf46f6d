"""Podium's error hierarchy, split by audience.

``ConfigError`` is developer misuse found before any side effect;
``InputError`` is bad user input; ``ModelBehaviorError`` is output from a model
that the program cannot use; ``ToolInputError`` is a bad tool argument that the
model may retry. The CLI prints any :class:`PodiumError` as one line and exits 2.
"""

from __future__ import annotations

__all__ = [
    "ConfigError",
    "InputError",
    "ModelBehaviorError",
    "PodiumError",
    "ToolInputError",
    "UnexpectedModelCall",
]


class PodiumError(Exception):
    """Base class of every error Podium raises on purpose."""


class ConfigError(PodiumError):
    """Misuse or misconfiguration found before any side effect."""


class InputError(PodiumError):
    """Bad user input: empty text, an unknown graph, a missing collection."""


class ModelBehaviorError(PodiumError):
    """A model returned something the program cannot use."""


class ToolInputError(PodiumError):
    """A tool argument was invalid; the model may correct it and retry."""


class UnexpectedModelCall(PodiumError, AssertionError):
    """A scripted model was called with no scripted reply left."""
