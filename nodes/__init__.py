"""Reusable graph nodes: model steps, retrieval, guardrails, review, critique, budget."""

from podium.nodes.llm import MODEL_RETRY, make_llm_step, model_from_context
from podium.nodes.retrieve import retrieve

__all__ = ["MODEL_RETRY", "make_llm_step", "model_from_context", "retrieve"]
