"""The OpenAI-compatible server: real uvicorn on loopback, real clients (ChatOpenAI, openai SDK)."""

from __future__ import annotations

import inspect
import json
import math
import os
import socket
import subprocess
import sys
import threading
import time
from contextlib import contextmanager

import httpx
import openai
import pytest
import uvicorn
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage
from langchain_openai import ChatOpenAI
from pydantic import BaseModel, Field
from typer.testing import CliRunner

from podium.cli import app as cli_app
from podium.models import EMBEDDING_DIM, load_chat_model, load_embeddings
from podium.serve import EMBEDDING_MODEL_ID, OFFLINE_MODEL_ID, create_app
from podium.settings import get_settings
from podium.testing import ScriptedChatModel
from podium.tools.calculator import calculator

pytestmark = pytest.mark.integration

QUESTION = "What is 17% of 2,340?"


@contextmanager
def serving(app):
    """Run ``app`` under uvicorn in a thread, on a loopback socket bound before it starts."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "server did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


@pytest.fixture(scope="module")
def base_url(tmp_path_factory):
    """A real uvicorn server on a free loopback port, serving the offline model."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PODIUM_HOME", str(tmp_path_factory.mktemp("serve-home")))
        mp.setenv("PODIUM_ALLOW_NETWORK_MODELS", "0")
        get_settings.cache_clear()
        app = create_app("offline")
    get_settings.cache_clear()
    with serving(app) as url:
        yield url


@pytest.fixture
def llm(base_url):
    return ChatOpenAI(
        base_url=base_url, api_key="x", model=OFFLINE_MODEL_ID, max_retries=0, timeout=60
    )


@pytest.fixture
def client(base_url):
    return openai.OpenAI(base_url=base_url, api_key="x", max_retries=0, timeout=60)


# --- ChatOpenAI ---------------------------------------------------------------------


def _tool_round_trip(model) -> tuple[AIMessage, AIMessage]:
    bound = model.bind_tools([calculator])
    messages = [HumanMessage(QUESTION)]
    first = bound.invoke(messages)
    assert first.response_metadata["finish_reason"] == "tool_calls"
    assert len(first.tool_calls) == 1
    call = first.tool_calls[0]
    assert call["name"] == "calculator" and call["id"]
    assert isinstance(call["args"].get("expression"), str)
    result = calculator.invoke(call)
    assert isinstance(result, ToolMessage) and result.status == "success"
    assert result.content == "397.8"
    final = bound.invoke([*messages, first, result])
    assert not final.tool_calls
    assert final.response_metadata["finish_reason"] == "stop"
    return first, final


def test_chat_openai_tool_call_round_trip(llm):
    first, final = _tool_round_trip(llm)
    assert "397.8" in final.content
    for message in (first, final):
        usage = message.usage_metadata
        assert usage["input_tokens"] > 0 and usage["output_tokens"] > 0
        assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"]


@pytest.mark.network_model
def test_load_chat_model_reaches_the_server_through_openai_base_url(base_url, monkeypatch):
    monkeypatch.setenv("OPENAI_BASE_URL", base_url)
    model = load_chat_model(f"openai:{OFFLINE_MODEL_ID}", max_retries=0)
    assert isinstance(model, ChatOpenAI)
    _, final = _tool_round_trip(model)
    assert "397.8" in final.content


def test_streamed_text_equals_the_invoked_answer(base_url):
    llm = ChatOpenAI(
        base_url=base_url, api_key="x", model=OFFLINE_MODEL_ID, max_retries=0, stream_usage=True
    )
    prompt = "Summarize: the train leaves at nine. Tickets cost twelve euros. Pets ride free."
    answer = llm.invoke(prompt)
    chunks = list(llm.stream(prompt))
    text_chunks = [c for c in chunks if c.content]
    assert len(text_chunks) >= 3
    assert "".join(c.content for c in chunks) == answer.content
    merged = chunks[0]
    for chunk in chunks[1:]:
        merged = merged + chunk
    assert merged.usage_metadata["total_tokens"] == answer.usage_metadata["total_tokens"]
    assert merged.response_metadata["finish_reason"] == "stop"


def test_streamed_tool_call_assembles_into_the_invoked_call(llm):
    bound = llm.bind_tools([calculator])
    invoked = bound.invoke(QUESTION)
    chunks = list(bound.stream(QUESTION))
    assert any(c.tool_call_chunks for c in chunks)
    merged = chunks[0]
    for chunk in chunks[1:]:
        merged = merged + chunk
    assert not merged.invalid_tool_calls
    assert [(c["name"], c["args"]) for c in merged.tool_calls] == [
        (c["name"], c["args"]) for c in invoked.tool_calls
    ]
    assert merged.tool_calls[0]["id"]
    assert merged.response_metadata["finish_reason"] == "tool_calls"
    assert calculator.invoke(merged.tool_calls[0]).content == "397.8"


class Booking(BaseModel):
    """A flight booking request."""

    passenger: str = Field(description="Full name of the passenger")
    seats: int = Field(description="Number of seats")
    destination: str = Field(description="City flown to")


BOOKING_REQUEST = "Book 3 seats to Lisbon for passenger Maria Silva."


def test_chat_openai_default_structured_output_method_is_json_schema():
    method = inspect.signature(ChatOpenAI.with_structured_output).parameters["method"]
    assert method.default == "json_schema"


@pytest.mark.parametrize("method", ["json_schema", "function_calling"])
def test_with_structured_output(llm, method):
    structured = llm.with_structured_output(Booking, method=method, include_raw=True)
    result = structured.invoke(BOOKING_REQUEST)
    assert result["parsing_error"] is None
    booking = result["parsed"]
    assert isinstance(booking, Booking)
    assert booking.seats == 3
    assert "Lisbon" in booking.destination
    assert "Maria" in booking.passenger
    if method == "function_calling":
        assert result["raw"].tool_calls[0]["name"] == "Booking"


@pytest.mark.filterwarnings("ignore:Pydantic serializer warnings")  # the SDK's parsed type
def test_streamed_structured_output(llm):
    chunks = list(llm.with_structured_output(Booking).stream(BOOKING_REQUEST))
    assert chunks and isinstance(chunks[-1], Booking) and chunks[-1].seats == 3


# --- the openai SDK -----------------------------------------------------------------


def test_sdk_lists_the_served_models(client):
    ids = [model.id for model in client.models.list()]
    assert ids == [OFFLINE_MODEL_ID, EMBEDDING_MODEL_ID]
    assert client.models.retrieve(OFFLINE_MODEL_ID).id == OFFLINE_MODEL_ID


def test_sdk_chat_completion(client):
    completion = client.chat.completions.create(
        model=OFFLINE_MODEL_ID,
        messages=[
            {"role": "system", "content": "You answer briefly."},
            {"role": "user", "content": [{"type": "text", "text": QUESTION}]},
        ],
    )
    choice = completion.choices[0]
    assert completion.object == "chat.completion" and completion.model == OFFLINE_MODEL_ID
    assert choice.message.role == "assistant" and choice.message.content
    assert choice.finish_reason == "stop"
    usage = completion.usage
    assert usage.prompt_tokens > 0 and usage.completion_tokens > 0
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens


def test_sdk_max_tokens_and_stop_reach_the_model(client):
    prompt = [{"role": "user", "content": "Summarize: the train leaves at nine. Pets ride free."}]
    full = client.chat.completions.create(model=OFFLINE_MODEL_ID, messages=prompt)
    assert full.usage.completion_tokens > 2
    cut = client.chat.completions.create(model=OFFLINE_MODEL_ID, messages=prompt, max_tokens=2)
    assert cut.choices[0].finish_reason == "length"
    assert cut.usage.completion_tokens == 2
    assert full.choices[0].message.content.startswith(cut.choices[0].message.content)
    word = full.choices[0].message.content.split()[2]
    stopped = client.chat.completions.create(model=OFFLINE_MODEL_ID, messages=prompt, stop=[word])
    assert word not in stopped.choices[0].message.content
    assert full.choices[0].message.content.startswith(stopped.choices[0].message.content)


def test_sdk_tool_choice_required_and_named(client):
    tools = [
        {
            "type": "function",
            "function": {
                "name": "calculator",
                "description": "Evaluate an arithmetic expression exactly.",
                "parameters": {
                    "type": "object",
                    "properties": {"expression": {"type": "string"}},
                    "required": ["expression"],
                },
            },
        }
    ]
    for choice in ("required", {"type": "function", "function": {"name": "calculator"}}):
        completion = client.chat.completions.create(
            model=OFFLINE_MODEL_ID,
            messages=[{"role": "user", "content": QUESTION}],
            tools=tools,
            tool_choice=choice,
        )
        message = completion.choices[0].message
        assert completion.choices[0].finish_reason == "tool_calls"
        assert message.tool_calls[0].function.name == "calculator"
        args = json.loads(message.tool_calls[0].function.arguments)
        assert calculator.invoke({"expression": args["expression"]}) == "397.8"
    none = client.chat.completions.create(
        model=OFFLINE_MODEL_ID,
        messages=[{"role": "user", "content": QUESTION}],
        tools=tools,
        tool_choice="none",
    )
    assert none.choices[0].message.tool_calls is None
    assert none.choices[0].finish_reason == "stop" and none.choices[0].message.content


def test_sdk_stream_with_usage(client):
    stream = client.chat.completions.create(
        model=OFFLINE_MODEL_ID,
        messages=[{"role": "user", "content": "Say hello to the team."}],
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    assert all(c.object == "chat.completion.chunk" for c in chunks)
    assert chunks[0].choices[0].delta.role == "assistant"
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    assert chunks[-1].choices == [] and chunks[-1].usage.total_tokens > 0


def test_sdk_json_object_response_format(client):
    completion = client.chat.completions.create(
        model=OFFLINE_MODEL_ID,
        messages=[{"role": "user", "content": BOOKING_REQUEST}],
        response_format={"type": "json_object"},
    )
    content = completion.choices[0].message.content
    assert isinstance(json.loads(content), dict)


def test_sdk_embeddings(client):
    texts = ["A cat sleeps on the mat.", "A kitten naps on a rug.", "Quarterly tax filing rules."]
    default = client.embeddings.create(model=EMBEDDING_MODEL_ID, input=texts)  # base64 on the wire
    floats = client.embeddings.create(
        model=EMBEDDING_MODEL_ID, input=texts, encoding_format="float"
    )
    assert [d.index for d in default.data] == [0, 1, 2]
    vectors = [d.embedding for d in default.data]
    for vector, same in zip(vectors, (d.embedding for d in floats.data), strict=True):
        assert len(vector) == EMBEDDING_DIM
        assert math.isclose(math.fsum(x * x for x in vector), 1.0, abs_tol=1e-4)
        assert max(abs(a - b) for a, b in zip(vector, same, strict=True)) < 1e-6

    def cos(a, b):
        return math.fsum(x * y for x, y in zip(a, b, strict=True))

    assert cos(vectors[0], vectors[1]) > cos(vectors[0], vectors[2]) + 0.2
    local = load_embeddings().embed_query(texts[0])
    assert max(abs(a - b) for a, b in zip(vectors[0], local, strict=True)) < 1e-5
    assert default.usage.prompt_tokens == default.usage.total_tokens > len(texts)
    one = client.embeddings.create(model=EMBEDDING_MODEL_ID, input="hello")
    assert len(one.data) == 1 and len(one.data[0].embedding) == EMBEDDING_DIM


# --- any chat model -----------------------------------------------------------------


def test_a_scripted_model_is_served_with_its_messages_converted_exactly():
    """A model without fill_schema: tools, history and both response formats go through it."""
    model = ScriptedChatModel(
        [
            AIMessage(
                "", tool_calls=[{"name": "calculator", "args": {"expression": "2+2"}, "id": "c1"}]
            ),
            "2 + 2 is 4.",
            {"city": "Lisbon"},
            '{"ok": true}',
        ]
    )
    tools = [
        {
            "type": "function",
            "function": {
                "name": "calculator",
                "parameters": {"type": "object", "properties": {"expression": {"type": "string"}}},
            },
        }
    ]
    history = [
        {"role": "system", "content": "Be exact."},
        {"role": "user", "content": "What is 2+2?", "name": "ana"},
    ]
    with serving(create_app(model)) as url:
        client = openai.OpenAI(base_url=url, api_key="x", max_retries=0)
        assert [m.id for m in client.models.list()][0] == "podium-scripted"
        first = client.chat.completions.create(
            model="podium-scripted", messages=history, tools=tools
        )
        call = first.choices[0].message.tool_calls[0]
        assert (call.id, call.function.name) == ("c1", "calculator")
        assert json.loads(call.function.arguments) == {"expression": "2+2"}
        assert first.usage is None  # the scripted model reports none, and none is made up
        second = client.chat.completions.create(
            model="podium-scripted",
            messages=[
                *history,
                first.choices[0].message.model_dump(exclude_none=True),
                {"role": "tool", "tool_call_id": "c1", "content": "4"},
            ],
            tools=tools,
        )
        assert second.choices[0].message.content == "2 + 2 is 4."
        place = client.chat.completions.create(
            model="podium-scripted",
            messages=history,
            response_format={
                "type": "json_schema",
                "json_schema": {
                    "name": "Place",
                    "schema": {"type": "object", "properties": {"city": {"type": "string"}}},
                },
            },
        )
        assert json.loads(place.choices[0].message.content) == {"city": "Lisbon"}
        ok = client.chat.completions.create(
            model="podium-scripted", messages=history, response_format={"type": "json_object"}
        )
        assert json.loads(ok.choices[0].message.content) == {"ok": True}
    model.assert_complete()
    received = model.calls[1]
    assert [type(m) for m in received] == [SystemMessage, HumanMessage, AIMessage, ToolMessage]
    assert received[1].name == "ana"
    assert received[2].tool_calls[0]["args"] == {"expression": "2+2"}
    assert (received[3].tool_call_id, received[3].content) == ("c1", "4")
    assert model.bound_tools[:2] == [["calculator"], ["calculator"]]


# --- errors -------------------------------------------------------------------------


_USER = [{"role": "user", "content": "hi"}]
_TOOLS = [{"type": "function", "function": {"name": "calculator", "parameters": {}}}]


@pytest.mark.parametrize(
    ("body", "param", "fragment"),
    [
        ({"model": OFFLINE_MODEL_ID}, "messages", "Missing required parameter"),
        ({"model": OFFLINE_MODEL_ID, "messages": []}, "messages", "at least 1"),
        (
            {"model": OFFLINE_MODEL_ID, "messages": [{"role": "bot", "content": "hi"}]},
            "messages[0].role",
            "'user'",
        ),
        (
            {"model": OFFLINE_MODEL_ID, "messages": [{"role": "user", "content": 5}]},
            "messages[0].content",
            "string",
        ),
        (
            {"model": OFFLINE_MODEL_ID, "messages": [{"role": "tool", "content": "1"}]},
            "messages[0].tool_call_id",
            "Missing",
        ),
        (
            {"model": OFFLINE_MODEL_ID, "messages": _USER, "tools": _TOOLS, "tool_choice": "any"},
            "tool_choice",
            "'required'",
        ),
        (
            {
                "model": OFFLINE_MODEL_ID,
                "messages": _USER,
                "tools": _TOOLS,
                "tool_choice": {"type": "function", "function": {"name": "weather"}},
            },
            "tool_choice.function.name",
            "'calculator'",
        ),
        (
            {"model": OFFLINE_MODEL_ID, "messages": _USER, "tool_choice": "auto"},
            "tool_choice",
            "tools",
        ),
        (
            {"model": OFFLINE_MODEL_ID, "messages": _USER, "response_format": {"type": "xml"}},
            "response_format.type",
            "'json_schema'",
        ),
        (
            {
                "model": OFFLINE_MODEL_ID,
                "messages": [
                    {
                        "role": "assistant",
                        "tool_calls": [
                            {
                                "id": "c1",
                                "type": "function",
                                "function": {"name": "calculator", "arguments": "{oops"},
                            }
                        ],
                    }
                ],
            },
            "messages[0].tool_calls[0].function.arguments",
            "JSON",
        ),
    ],
)
def test_malformed_chat_request_is_a_400_naming_the_field(base_url, body, param, fragment):
    response = httpx.post(f"{base_url}/chat/completions", json=body)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert error["param"] == param
    assert param in error["message"] and fragment in error["message"]


def test_sdk_raises_bad_request_for_a_bad_tool_choice(client):
    with pytest.raises(openai.BadRequestError) as info:
        client.chat.completions.create(
            model=OFFLINE_MODEL_ID, messages=_USER, tools=_TOOLS, tool_choice="sometimes"
        )
    assert info.value.param == "tool_choice"


def test_unparsable_json_is_a_400(base_url):
    response = httpx.post(
        f"{base_url}/chat/completions",
        content=b"{not json",
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 400
    assert "JSON body" in response.json()["error"]["message"]


def test_unknown_model_is_a_404_naming_the_served_one(client):
    with pytest.raises(openai.NotFoundError) as info:
        client.chat.completions.create(model="gpt-4o", messages=_USER)
    assert info.value.code == "model_not_found"
    assert OFFLINE_MODEL_ID in info.value.message


def test_unknown_path_is_a_json_404(base_url):
    response = httpx.post(f"{base_url}/completions", json={})
    assert response.status_code == 404
    assert "/v1/chat/completions" in response.json()["error"]["message"]


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"model": EMBEDDING_MODEL_ID}, "input"),
        ({"model": EMBEDDING_MODEL_ID, "input": []}, "input"),
        ({"model": EMBEDDING_MODEL_ID, "input": [[1, 2, 3]]}, "input"),
        ({"model": EMBEDDING_MODEL_ID, "input": "x", "dimensions": 256}, "dimensions"),
        ({"model": EMBEDDING_MODEL_ID, "input": "x", "encoding_format": "hex"}, "encoding_format"),
    ],
)
def test_malformed_embedding_request_is_a_400(base_url, body, param):
    response = httpx.post(f"{base_url}/embeddings", json=body)
    assert response.status_code == 400
    assert response.json()["error"]["param"] == param


# --- the CLI ------------------------------------------------------------------------


def test_serve_model_help():
    result = CliRunner().invoke(cli_app, ["serve-model", "--help"])
    assert result.exit_code == 0
    for flag in ("--host", "--port", "-p", "--model", "-m"):
        assert flag in result.output


def test_serve_model_bad_spec_is_one_line_and_exit_2():
    result = CliRunner().invoke(cli_app, ["serve-model", "-m", "no-such-model"])
    assert result.exit_code == 2
    assert "malformed" in result.output and "Traceback" not in result.output


def test_serve_model_command_serves_and_prints_the_base_url(tmp_path):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {**os.environ, "PODIUM_HOME": str(tmp_path), "HF_HUB_OFFLINE": "1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "podium", "serve-model", "-p", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    try:
        line = process.stdout.readline()
        assert f"http://127.0.0.1:{port}/v1" in line
        deadline = time.monotonic() + 30
        while True:
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/v1/models", timeout=2)
                break
            except httpx.TransportError:
                assert process.poll() is None and time.monotonic() < deadline
                time.sleep(0.1)
        assert response.json()["data"][0]["id"] == OFFLINE_MODEL_ID
    finally:
        process.terminate()
        process.wait(timeout=10)
