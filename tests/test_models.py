import math

import pytest

from podium.errors import ConfigError
from podium.models import (
    EMBEDDING_DIM,
    load_chat_model,
    load_embeddings,
    load_llama_embeddings,
    load_sentence_transformer,
)


def test_offline_is_the_default(monkeypatch):
    model = load_chat_model()
    assert model._llm_type == "podium-offline"


def test_a_model_instance_passes_through():
    model = load_chat_model("offline")
    assert load_chat_model(model) is model


@pytest.mark.parametrize(
    ("spec", "fragment"),
    [
        ("", "malformed"),
        ("gpt-4o-mini", "malformed"),
        ("openai:", "malformed"),
        ("OpenAI:gpt", "malformed"),
        ("openai: gpt-4o", "malformed"),
    ],
)
def test_malformed_spec_names_accepted_forms(spec, fragment):
    with pytest.raises(ConfigError) as info:
        load_chat_model(spec)
    message = str(info.value)
    assert fragment in message and "'offline'" in message and "provider:model" in message


def test_network_models_are_refused_in_tests():
    with pytest.raises(ConfigError, match="network-backed models are refused"):
        load_chat_model("openai:gpt-4o-mini")


@pytest.mark.network_model
def test_unknown_provider_is_a_config_error():
    with pytest.raises(ConfigError, match="unknown provider 'nosuch'"):
        load_chat_model("nosuch:model")


@pytest.mark.network_model
def test_missing_provider_package_names_it():
    with pytest.raises(ConfigError, match="langchain-ollama"):
        load_chat_model("ollama:llama3.2")


@pytest.mark.network_model
def test_missing_key_is_a_config_error():
    with pytest.raises(ConfigError, match="could not start"):
        load_chat_model("openai:gpt-4o-mini")


@pytest.mark.network_model
def test_openai_compatible_server_needs_no_key(monkeypatch):
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    model = load_chat_model("openai:local-model")
    assert model.model_name == "local-model"
    assert str(model.root_client.base_url).startswith("http://127.0.0.1:9")


def test_embeddings_are_minilm_unit_vectors():
    embeddings = load_embeddings()
    vectors = embeddings.embed_documents(["Book a flight to Paris", "Reserve a plane ticket"])
    assert len(vectors) == 2 and all(len(v) == EMBEDDING_DIM for v in vectors)
    assert all(math.isclose(sum(x * x for x in v), 1.0, rel_tol=1e-4) for v in vectors)
    related = sum(a * b for a, b in zip(*vectors, strict=True))
    unrelated = sum(
        a * b
        for a, b in zip(vectors[0], embeddings.embed_query("Sourdough bread recipe"), strict=True)
    )
    assert related > unrelated + 0.2
    assert embeddings.embed_documents([]) == []


def test_one_model_serves_langchain_and_llamaindex():
    assert load_sentence_transformer() is load_sentence_transformer()
    text = "Baggage allowance for a Saver fare"
    lc = load_embeddings().embed_query(text)
    li = load_llama_embeddings().get_text_embedding(text)
    assert max(abs(a - b) for a, b in zip(lc, li, strict=True)) < 1e-6
