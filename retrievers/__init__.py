"""Podium retrievers."""

__all__: list[str] = []
