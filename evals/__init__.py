"""Podium evals."""

__all__: list[str] = []
