"""Podium: ready-to-run AI orchestration graphs on LangGraph, LangChain and LlamaIndex."""

from podium.errors import ConfigError, InputError, PodiumError
from podium.models import load_chat_model, load_embeddings, load_llama_embeddings
from podium.settings import get_settings

__all__ = [
    "ConfigError",
    "InputError",
    "PodiumError",
    "get_settings",
    "load_chat_model",
    "load_embeddings",
    "load_llama_embeddings",
]
__version__ = "0.1.0"
