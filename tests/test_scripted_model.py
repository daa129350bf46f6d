from __future__ import annotations

from typing import Literal

import pytest
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from pydantic import BaseModel
from typing_extensions import TypedDict

from podium.errors import ConfigError, UnexpectedModelCall
from podium.testing import ScriptedChatModel
from podium.tools.calculator import calculator


class Verdict(BaseModel):
    """A grade for an answer."""

    label: Literal["good", "bad"]
    reason: str


def _calc_call(expression: str, call_id: str | None = "c1") -> AIMessage:
    call = {"name": "calculator", "args": {"expression": expression}, "id": call_id}
    return AIMessage("", tool_calls=[call])


def test_replies_are_popped_in_order_and_calls_recorded():
    model = ScriptedChatModel(["first", AIMessage("second")])
    assert model.invoke("hello").content == "first"
    assert model.invoke([HumanMessage("again")]).content == "second"
    assert [m[-1].content for m in model.calls] == ["hello", "again"]
    assert model.remaining == 0
    model.assert_complete()


def test_unscripted_call_names_the_script_length_and_last_message():
    model = ScriptedChatModel(["only"])
    model.invoke("one")
    with pytest.raises(UnexpectedModelCall) as info:
        model.invoke([HumanMessage("the second question")])
    message = str(info.value)
    assert "1 replies were scripted" in message
    assert "the second question" in message
    assert isinstance(info.value, AssertionError)


def test_assert_complete_fails_when_replies_remain():
    model = ScriptedChatModel(["a", "b"])
    model.invoke("x")
    with pytest.raises(AssertionError, match="1 of 2 scripted replies were never used"):
        model.assert_complete()


def test_bad_reply_type_is_refused_at_construction():
    with pytest.raises(ConfigError, match="accepted: an AIMessage"):
        ScriptedChatModel([42])


def test_bind_tools_shares_the_script_and_records_tool_names():
    model = ScriptedChatModel([_calc_call("2 + 2"), "2 + 2 is 4."])
    bound = model.bind_tools([calculator])
    first = bound.invoke("What is 2 + 2?")
    assert first.tool_calls[0]["name"] == "calculator"
    tool_message = calculator.invoke(first.tool_calls[0])
    assert isinstance(tool_message, ToolMessage) and tool_message.content == "4"
    final = model.invoke(["What is 2 + 2?", first, tool_message])
    assert final.content == "2 + 2 is 4."
    assert model.bound_tools == [["calculator"]]
    assert len(model.calls) == 2
    model.assert_complete()


def test_missing_tool_call_ids_are_filled():
    model = ScriptedChatModel([_calc_call("1 + 1", call_id=None)])
    message = model.invoke("hi")
    assert message.tool_calls[0]["id"]


def test_structured_output_from_a_pydantic_instance_and_a_dict():
    model = ScriptedChatModel(
        [Verdict(label="good", reason="cites sources"), {"label": "bad", "reason": "no sources"}]
    )
    grader = model.with_structured_output(Verdict)
    assert grader.invoke("grade this") == Verdict(label="good", reason="cites sources")
    assert grader.invoke("grade that") == Verdict(label="bad", reason="no sources")
    model.assert_complete()


def test_structured_output_typeddict_and_include_raw():
    class Plan(TypedDict):
        """A plan."""

        steps: list[str]

    model = ScriptedChatModel([{"steps": ["look up", "compute"]}])
    result = model.with_structured_output(Plan, include_raw=True).invoke("plan it")
    assert result["parsed"] == {"steps": ["look up", "compute"]}
    assert result["parsing_error"] is None
    assert result["raw"].tool_calls[0]["name"] == "Plan"


def test_dict_reply_without_a_single_schema_is_a_config_error():
    model = ScriptedChatModel([{"a": 1}])
    bound = model.bind_tools([calculator, Verdict])
    with pytest.raises(ConfigError, match="2 tools are bound"):
        bound.invoke("x")


def test_streaming_yields_the_scripted_reply():
    model = ScriptedChatModel(["streamed text", _calc_call("3 * 3")])
    chunks = list(model.stream("go"))
    assert "".join(c.content for c in chunks) == "streamed text"
    full = None
    for chunk in model.bind_tools([calculator]).stream("again"):
        full = chunk if full is None else full + chunk
    assert full.tool_calls[0]["args"] == {"expression": "3 * 3"}
    model.assert_complete()


async def test_async_calls_share_the_script():
    model = ScriptedChatModel(["a", "b"])
    assert (await model.ainvoke("1")).content == "a"
    chunks = [c async for c in model.astream("2")]
    assert "".join(c.content for c in chunks) == "b"
    model.assert_complete()
