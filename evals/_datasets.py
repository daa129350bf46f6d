"""Eval datasets shipped with Podium, as JSONL files in ``evals/datasets``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from podium.errors import InputError

__all__ = ["DATASETS_DIR", "load_dataset"]

DATASETS_DIR = Path(__file__).resolve().parent / "datasets"


def load_dataset(name: str) -> list[dict[str, Any]]:
    """Return the examples of the dataset ``name`` (a file ``datasets/NAME.jsonl``).

    Raises:
        InputError: No such dataset, or a line that is not a JSON object.
    """
    path = DATASETS_DIR / f"{name}.jsonl"
    if not path.is_file():
        available = sorted(p.stem for p in DATASETS_DIR.glob("*.jsonl"))
        raise InputError(f"unknown eval dataset {name!r}; available: {', '.join(available)}")
    examples = []
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        try:
            example = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(f"{path.name} line {number} is not JSON: {exc}") from None
        if not isinstance(example, dict):
            raise InputError(f"{path.name} line {number} is not a JSON object")
        examples.append(example)
    return examples
