"""Evaluation datasets (JSONL), evaluators and runners for Podium's graphs."""

from podium.evals._datasets import DATASETS_DIR, load_dataset

__all__ = ["DATASETS_DIR", "load_dataset"]
