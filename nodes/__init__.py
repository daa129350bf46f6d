"""Podium nodes."""

__all__: list[str] = []
