"""Router graph: exact trajectories with the scripted model, end to end offline, eval."""

import pytest
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langgraph.runtime import Runtime

from podium.errors import InputError, UnexpectedModelCall
from podium.graphs import router
from podium.graphs.router import RouteDecision, RouterContext, classify
from podium.testing import ScriptedChatModel


def calc_call(expression: str, call_id: str = "c1") -> AIMessage:
    return AIMessage(
        "", tool_calls=[{"name": "calculator", "args": {"expression": expression}, "id": call_id}]
    )


def run(model, text, **context):
    return router.graph.invoke(
        {"messages": [HumanMessage(text)]}, context=RouterContext(model=model, **context)
    )


def test_math_trajectory_uses_the_calculator():
    model = ScriptedChatModel(
        [
            RouteDecision(route="math", confidence=0.9),
            calc_call("17% of 2,340"),
            "17% of 2,340 is 397.8.",
        ]
    )
    state = run(model, "What is 17% of 2,340?")
    model.assert_complete()
    assert state["route"] == "math" and state["confidence"] == 0.9
    kinds = [type(m).__name__ for m in state["messages"]]
    assert kinds == ["HumanMessage", "AIMessage", "ToolMessage", "AIMessage"]
    tool_message = state["messages"][2]
    assert isinstance(tool_message, ToolMessage) and tool_message.content == "397.8"
    assert state["messages"][-1].content == "17% of 2,340 is 397.8."
    # The math specialist saw the calculator; the classifier saw only the request.
    assert model.bound_tools[-1] == ["calculator"]
    assert model.calls[0][-1].content == "What is 17% of 2,340?"


def test_a_calculator_error_reaches_the_model_as_a_message():
    model = ScriptedChatModel(
        [RouteDecision(route="math", confidence=0.9), calc_call("2 +* 3"), "That is malformed."]
    )
    state = run(model, "What is 2 +* 3?")
    tool_message = state["messages"][2]
    assert tool_message.status == "error" and "could not parse" in tool_message.content
    assert model.calls[-1][-1] == tool_message


@pytest.mark.parametrize(("route", "node_reply"), [("code", "def f(): ..."), ("general", "Paris.")])
def test_other_routes_answer_without_tools(route, node_reply):
    model = ScriptedChatModel([RouteDecision(route=route, confidence=0.8), node_reply])
    state = run(model, "anything")
    model.assert_complete()
    assert state["route"] == route
    assert state["messages"][-1].content == node_reply
    assert model.bound_tools == [["RouteDecision"]]  # the classifier's schema only


def test_low_confidence_goes_to_general():
    model = ScriptedChatModel([RouteDecision(route="code", confidence=0.2), "A general answer."])
    state = run(model, "hmm", threshold=0.5)
    assert state["route"] == "general" and state["confidence"] == 0.2


def test_unusable_classification_degrades_to_general():
    model = ScriptedChatModel(["not a classification", "A general answer."])
    state = run(model, "hmm")
    assert state["route"] == "general" and state["confidence"] == 0.0
    assert state["messages"][-1].content == "A general answer."


def test_tool_rounds_are_capped_and_the_model_must_answer():
    model = ScriptedChatModel(
        [
            RouteDecision(route="math", confidence=0.9),
            calc_call("1 + 1", "a"),
            calc_call("2 + 2", "b"),
            "Done: 4.",
        ]
    )
    state = run(model, "Add things", max_tool_rounds=2)
    model.assert_complete()
    # Tools were bound for the first two turns and withheld for the third.
    assert model.bound_tools == [["RouteDecision"], ["calculator"], ["calculator"]]
    assert state["messages"][-1].content == "Done: 4."


def test_an_unscripted_call_fails_loudly():
    model = ScriptedChatModel([RouteDecision(route="general", confidence=0.9)])
    with pytest.raises(UnexpectedModelCall):
        run(model, "hello")


def test_classify_node_directly():
    model = ScriptedChatModel([RouteDecision(route="math", confidence=0.75)])
    update = classify(
        {"messages": [HumanMessage("What is 2 + 2?")]}, Runtime(context=RouterContext(model=model))
    )
    assert update == {"route": "math", "confidence": 0.75}


def test_empty_request_is_an_input_error():
    model = ScriptedChatModel([])
    with pytest.raises(InputError, match="empty"):
        classify({"messages": [HumanMessage("  ")]}, Runtime(context=RouterContext(model=model)))


@pytest.mark.parametrize(
    ("text", "route", "fragment"),
    [
        ("What is 17% of 2,340?", "math", "397.8"),
        ("Compute 1234 + 5678", "math", "6912"),
        ("Write a Python function that reverses a string", "code", None),
        ("What is the capital of France?", "general", None),
    ],
)
def test_offline_end_to_end(text, route, fragment):
    state = run("offline", text)
    assert state["route"] == route
    answer = state["messages"][-1]
    assert isinstance(answer, AIMessage) and answer.text and not answer.tool_calls
    if fragment:
        assert fragment in answer.text


def test_streaming_reports_each_node():
    nodes = [
        node
        for update in router.graph.stream(
            {"messages": [HumanMessage("What is 2 ** 10?")]},
            context=RouterContext(model="offline"),
            stream_mode="updates",
        )
        for node in update
    ]
    assert nodes == ["classify", "solve_math", "tools", "solve_math"]


async def test_astream_matches_invoke():
    inputs = {"messages": [HumanMessage("What is 12 * 45?")]}
    context = RouterContext(model="offline")
    final = None
    async for state in router.graph.astream(inputs, context=context, stream_mode="values"):
        final = state
    assert "540" in final["messages"][-1].text


def test_router_eval_meets_its_threshold():
    from podium.evals.router import evaluate_router

    report = evaluate_router("offline")
    print(report.summary())
    assert report.total >= 25
    assert report.route_accuracy >= 0.8, report.summary()
    assert report.answer_accuracy >= 0.9, report.summary()
