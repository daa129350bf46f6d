"""Behaviour of the offline model: tool choice, arguments, answers, structured output."""

from __future__ import annotations

import json
from datetime import date
from typing import Annotated, Literal

import pytest
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage
from langchain_core.tools import tool
from pydantic import BaseModel, Field
from typing_extensions import TypedDict

from podium.errors import ConfigError
from podium.models import load_chat_model
from podium.offline import OfflineChatModel, fill_schema
from podium.tools.calculator import calculator

TODAY = date(2025, 3, 5)  # a Wednesday


@tool
def get_weather(location: str, unit: Literal["celsius", "fahrenheit"] = "celsius") -> str:
    """Get the current weather forecast for a city.

    Args:
        location: City name, e.g. "Paris".
        unit: Temperature unit.
    """
    return f"{location}: sunny, 21 degrees {unit}"


@tool
def search_flights(
    origin: str,
    destination: str,
    date_from: str,
    date_to: str,
    passengers: int = 1,
    cabin: Literal["economy", "business", "first"] = "economy",
) -> str:
    """Search for flights between two cities.

    Args:
        origin: Departure city.
        destination: Arrival city.
        date_from: Earliest departure date (YYYY-MM-DD).
        date_to: Latest departure date (YYYY-MM-DD).
        passengers: Number of passengers.
        cabin: Cabin class.
    """
    return json.dumps([{"flight": "SK101", "from": origin, "to": destination, "price": 120}])


@tool
def create_event(title: str, date: str, attendees: list[str]) -> str:
    """Create an event on the calendar: meetings, appointments, reminders.

    Args:
        title: Short title of the event.
        date: Day of the event (YYYY-MM-DD).
        attendees: Names of the people invited.
    """
    return f"Created '{title}' on {date}"


@tool
def web_search(query: str, max_results: int = 5) -> str:
    """Search the web for pages about a topic.

    Args:
        query: What to search for.
        max_results: How many results to return.
    """
    return "no results"


TOOLS = [calculator, get_weather, search_flights, create_event, web_search]


@pytest.fixture(scope="module")
def model() -> OfflineChatModel:
    return OfflineChatModel(today=TODAY)


@pytest.fixture(scope="module")
def agent_model(model):
    return model.bind_tools(TOOLS)


def _calls(message: AIMessage) -> list[tuple[str, dict]]:
    return [(c["name"], c["args"]) for c in message.tool_calls]


def test_load_chat_model_offline_returns_the_offline_model():
    loaded = load_chat_model("offline", today=TODAY)
    assert isinstance(loaded, OfflineChatModel)
    assert loaded.today == TODAY


@pytest.mark.parametrize(
    ("request_text", "expected"),
    [
        ("What is 17% of 2,340?", "calculator"),
        ("what's 12 times 7", "calculator"),
        ("Will it rain in London tomorrow?", "get_weather"),
        ("How hot is it in Cairo right now?", "get_weather"),
        ("Any cheap flights to Lisbon?", "search_flights"),
        ("Put lunch with Sam on my calendar for Thursday", "create_event"),
        ("Search the web for the best pizza in Naples", "web_search"),
    ],
)
def test_chooses_the_fitting_tool(agent_model, request_text, expected):
    message = agent_model.invoke(request_text)
    assert [c["name"] for c in message.tool_calls] == [expected]
    assert message.response_metadata["finish_reason"] == "tool_calls"


@pytest.mark.parametrize(
    "request_text",
    ["Hello!", "Thanks, that's all!", "Tell me a joke", "Who won the world cup in 2018?"],
)
def test_no_tool_call_for_chitchat_or_unrelated_questions(agent_model, request_text):
    message = agent_model.invoke(request_text)
    assert message.tool_calls == []
    assert message.content
    assert message.response_metadata["finish_reason"] == "stop"


@tool("web_search")
def thin_web_search(query: str) -> str:
    """Search the web for current information."""
    return "no results"


@tool
def book_table(restaurant: str, party_size: int, date: str) -> str:
    """Book a table."""
    return "booked"


@tool
def check_calendar(date: str) -> str:
    """Show the events of a day."""
    return "nothing planned"


THIN_TOOLS = [calculator, thin_web_search, book_table, check_calendar]


@pytest.mark.parametrize(
    ("request_text", "expected"),
    [
        ("Google the population of Brazil", "web_search"),
        ("google population of brazil", "web_search"),
        ("Look up the population of Brazil", "web_search"),
        ("Reserve a table for two at Nopa tomorrow", "book_table"),
        ("Am I free on Friday?", "check_calendar"),
    ],
)
def test_words_for_a_tool_name_choose_a_thinly_described_tool(model, request_text, expected):
    message = model.bind_tools(THIN_TOOLS).invoke(request_text)
    assert [c["name"] for c in message.tool_calls] == [expected]


def test_a_search_verb_is_not_part_of_the_query(model):
    message = model.bind_tools([thin_web_search]).invoke("Google the population of Brazil")
    assert _calls(message) == [("web_search", {"query": "population of Brazil"})]


@pytest.mark.parametrize(
    "request_text",
    [
        "Hello!",
        "Thanks, that's all!",
        "Tell me a joke",
        "Who won the world cup in 2018?",
        "What is the capital of France?",
    ],
)
def test_thin_tools_stay_unused_for_chitchat_and_questions(model, request_text):
    assert model.bind_tools(THIN_TOOLS).invoke(request_text).tool_calls == []


@pytest.mark.parametrize(
    ("request_text", "expression"),
    [
        ("What is 17% of 2,340?", "17% of 2,340"),
        ("Compute (3 + 4) ** 2 please", "(3 + 4) ** 2"),
        ("What is the square root of 144?", "sqrt(144)"),
        ("What is 15 percent of 80?", "15% of 80"),
    ],
)
def test_arithmetic_span_is_extracted_and_computes(agent_model, request_text, expression):
    message = agent_model.invoke(request_text)
    assert _calls(message) == [("calculator", {"expression": expression})]
    # The extracted span is something the real calculator evaluates.
    assert not calculator.invoke(message.tool_calls[0]).content.startswith("Error")


@pytest.mark.parametrize(
    ("request_text", "expression", "value"),
    [
        ("Add 0.1 and 0.2", "0.1 + 0.2", "0.3"),
        ("If I have 250 and spend 35%, how much is that?", "35% of 250", "87.5"),
        ("What is the average of 3, 4 and 8?", "(3 + 4 + 8) / 3", "5"),
        ("Subtract 15 from 40", "40 - 15", "25"),
        ("What is 20% off 80?", "80 - 20% of 80", "64"),
        ("If I have 250 and spend 35%, how much do I have left?", "250 - 35% of 250", "162.5"),
        ("I spend 35% of my 250, how much is left?", "250 - 35% of 250", "162.5"),
        ("The jacket costs 80 and is discounted 25%. What do I pay?", "80 - 25% of 80", "60"),
        ("My bill is 60 and I tip 15%, what do I pay in total?", "60 + 15% of 60", "69"),
    ],
)
def test_arithmetic_in_words_becomes_an_expression(request_text, expression, value):
    args = fill_schema(request_text, calculator.tool_call_schema)
    assert args == {"expression": expression}
    assert calculator.invoke(args) == value


def test_a_called_calculator_gets_the_percentage_of_the_other_amount(model):
    # Not a question, so not arithmetic for tool choice; but once the calculator is
    # called, "15%" alone (0.15) would be a wrong expression.
    request = "Sales were 1,200 units and 15% were returned"
    forced = model.bind_tools(TOOLS, tool_choice="calculator").invoke(request)
    assert _calls(forced) == [("calculator", {"expression": "15% of 1,200"})]
    assert calculator.invoke(forced.tool_calls[0]["args"]) == "180"
    # A year is not an amount.
    assert fill_schema("Revenue grew by 12% in 2024", calculator.tool_call_schema) == {
        "expression": "12%"
    }


def test_flight_arguments_places_dates_numbers_and_enum(agent_model):
    message = agent_model.invoke("Book 2 business class seats from Berlin to New York on March 20")
    assert _calls(message) == [
        (
            "search_flights",
            {
                "origin": "Berlin",
                "destination": "New York",
                "date_from": "2025-03-20",
                "date_to": "2025-03-20",
                "passengers": 2,
                "cabin": "business",
            },
        )
    ]


def test_next_week_becomes_a_monday_to_sunday_range(agent_model):
    ((name, args),) = _calls(agent_model.invoke("Book me a flight to Paris next week"))
    assert name == "search_flights"
    assert args["destination"] == "Paris"
    assert (args["date_from"], args["date_to"]) == ("2025-03-10", "2025-03-16")
    # Optional fields the request does not mention keep their defaults.
    assert "cabin" not in args and "passengers" not in args


@pytest.mark.parametrize(
    ("phrase", "day"),
    [
        ("tomorrow", "2025-03-06"),
        ("in 3 days", "2025-03-08"),
        ("next Friday", "2025-03-07"),
        ("on March 20", "2025-03-20"),
        ("on March 3", "2026-03-03"),  # already past this year: the next one
        ("on 2025-04-01", "2025-04-01"),
    ],
)
def test_relative_and_explicit_dates(model, phrase, day):
    schema = {
        "type": "object",
        "properties": {"date": {"type": "string", "description": "YYYY-MM-DD"}},
        "required": ["date"],
    }
    assert fill_schema(f"Schedule the review {phrase}", schema, today=TODAY) == {"date": day}


def test_date_ranges_fill_start_and_end_fields():
    schema = {
        "type": "object",
        "properties": {
            "start_date": {"type": "string", "format": "date"},
            "end_date": {"type": "string", "format": "date"},
        },
        "required": ["start_date", "end_date"],
    }
    fill = lambda text: fill_schema(text, schema, today=TODAY)  # noqa: E731
    assert fill("Block March 10 to March 14") == {
        "start_date": "2025-03-10",
        "end_date": "2025-03-14",
    }
    # March 3 has passed: both ends move to next year, the range never runs backwards.
    assert fill("Block from March 3 to March 7") == {
        "start_date": "2026-03-03",
        "end_date": "2026-03-07",
    }
    assert fill("Block this weekend") == {"start_date": "2025-03-08", "end_date": "2025-03-09"}


def test_weather_place_with_state_code(agent_model):
    message = agent_model.invoke("What is the weather in San Francisco, CA?")
    assert _calls(message) == [("get_weather", {"location": "San Francisco, CA"})]


def test_calendar_event_names_title_and_date(agent_model):
    message = agent_model.invoke("Schedule a meeting with Alice and Bob next Friday")
    assert _calls(message) == [
        (
            "create_event",
            {
                "title": "meeting with Alice and Bob",
                "date": "2025-03-07",
                "attendees": ["Alice", "Bob"],
            },
        )
    ]


def test_two_part_request_gives_parallel_calls_with_distinct_ids(agent_model):
    message = agent_model.invoke("What is 17% of 2,340 and what's the weather in Paris?")
    assert _calls(message) == [
        ("calculator", {"expression": "17% of 2,340"}),
        ("get_weather", {"location": "Paris"}),
    ]
    assert len({c["id"] for c in message.tool_calls}) == 2


def test_same_tool_for_two_places_gives_two_calls(agent_model):
    message = agent_model.invoke("What's the weather in Paris and what's the weather in Oslo?")
    assert _calls(message) == [
        ("get_weather", {"location": "Paris"}),
        ("get_weather", {"location": "Oslo"}),
    ]


@pytest.mark.parametrize(
    ("request_text", "expressions"),
    [
        (
            "Compute (2 ** 64) - 1 and the square root of 1,522,756",
            ["(2 ** 64) - 1", "sqrt(1,522,756)"],
        ),
        ("What is the sum of 2 and 3 and the product of 4 and 5?", ["2 + 3", "4 * 5"]),
    ],
)
def test_a_second_computation_after_and_is_its_own_call(agent_model, request_text, expressions):
    message = agent_model.invoke(request_text)
    assert _calls(message) == [("calculator", {"expression": e}) for e in expressions]


def test_two_sentences_about_one_call_are_merged(agent_model):
    message = agent_model.invoke("Will it rain in London tomorrow? Use fahrenheit.")
    assert _calls(message) == [("get_weather", {"location": "London", "unit": "fahrenheit"})]


def _run_tools(message: AIMessage) -> list[ToolMessage]:
    by_name = {t.name: t for t in TOOLS}
    return [by_name[call["name"]].invoke(call) for call in message.tool_calls]


def test_final_answer_after_tool_results(agent_model):
    request = HumanMessage("What is 17% of 2,340 and what's the weather in Paris?")
    first = agent_model.invoke([request])
    results = _run_tools(first)
    final = agent_model.invoke([request, first, *results])
    assert final.tool_calls == []
    assert "17% of 2,340 is 397.8." in final.content
    assert "Paris: sunny, 21 degrees celsius" in final.content


def test_tool_errors_are_reported_not_hidden(agent_model):
    request = HumanMessage("What is 10 divided by 0?")
    first = agent_model.invoke([request])
    assert _calls(first) == [("calculator", {"expression": "10 divided by 0"})]
    (result,) = _run_tools(first)
    assert result.status == "error"
    final = agent_model.invoke([request, first, result])
    assert "error" in final.content.lower() and "division by zero" in final.content


def test_unanswered_part_is_called_after_the_first_results(agent_model):
    request = HumanMessage("What is 17% of 2,340 and what's the weather in Paris?")
    calc_only = AIMessage(
        "",
        tool_calls=[{"name": "calculator", "args": {"expression": "17% of 2,340"}, "id": "c1"}],
    )
    result = calculator.invoke(calc_only.tool_calls[0])
    follow_up = agent_model.invoke([request, calc_only, result])
    assert _calls(follow_up) == [("get_weather", {"location": "Paris"})]


def test_agent_loop_with_create_agent(model):
    from langchain.agents import create_agent

    agent = create_agent(model, tools=[calculator, get_weather])
    state = agent.invoke({"messages": [HumanMessage("What is 17% of 2,340?")]})
    kinds = [type(m).__name__ for m in state["messages"]]
    assert kinds == ["HumanMessage", "AIMessage", "ToolMessage", "AIMessage"]
    assert state["messages"][-1].content == "17% of 2,340 is 397.8."


def test_create_agent_with_response_format_finishes(model):
    from langchain.agents import create_agent

    class Result(BaseModel):
        """The final answer to the user's math question."""

        answer: str = Field(description="The computed answer")

    agent = create_agent(model, tools=[calculator], response_format=Result)
    state = agent.invoke(
        {"messages": [HumanMessage("What is 17% of 2,340?")]}, {"recursion_limit": 10}
    )
    assert state["structured_response"] == Result(answer="17% of 2,340 is 397.8")


class Answer(BaseModel):
    """The answer to the user's question."""

    value: float
    explanation: str


def _calculator_turn() -> list:
    request = HumanMessage("What is 17% of 2,340?")
    call = AIMessage(
        "",
        tool_calls=[{"name": "calculator", "args": {"expression": "17% of 2,340"}, "id": "c1"}],
    )
    return [request, call, calculator.invoke(call.tool_calls[0])]


def test_fill_schema_after_tool_results_takes_the_result(model):
    messages = _calculator_turn()
    assert model.fill_schema(messages, Answer) == {
        "value": 397.8,
        "explanation": "17% of 2,340 is 397.8",
    }
    # Fields that are not result-like keep the request's numbers.
    schema = {
        "type": "object",
        "properties": {n: {"type": "number"} for n in ("percent", "base", "result")},
        "required": ["percent", "base", "result"],
    }
    assert model.fill_schema(messages, schema) == {"percent": 17, "base": 2340, "result": 397.8}


def test_json_mode_answers_with_the_text_reply(model):
    json_mode = {"type": "object"}
    assert model.fill_schema(_calculator_turn(), json_mode) == {"answer": "17% of 2,340 is 397.8."}
    context = SystemMessage(
        "Context:\n[1] Checked bags may weigh up to 23 kg. Heavier bags pay a fee of 60 EUR."
    )
    question = HumanMessage("How heavy may a checked bag be?")
    reply = model.invoke([context, question]).content
    assert "23 kg" in reply
    assert model.fill_schema([context, question], json_mode) == {"answer": reply}
    # A bound OpenAI-style response_format gets the same object as JSON content.
    bound = model.bind(response_format={"type": "json_object"})
    assert json.loads(bound.invoke([context, question]).content) == {"answer": reply}
    # An object that may hold nothing (a tool without arguments) stays empty.
    assert model.fill_schema("Hello!", {"type": "object", "properties": {}}) == {}


@pytest.mark.parametrize("strategy", ["ToolStrategy", "ProviderStrategy"])
def test_create_agent_structured_response_holds_the_tool_result(model, strategy):
    from langchain.agents import create_agent, structured_output

    response_format = getattr(structured_output, strategy)(Answer)
    agent = create_agent(model, tools=[calculator], response_format=response_format)
    state = agent.invoke(
        {"messages": [HumanMessage("What is 17% of 2,340?")]}, {"recursion_limit": 10}
    )
    assert [m.type for m in state["messages"][:3]] == ["human", "ai", "tool"]
    assert state["structured_response"].value == 397.8
    assert "397.8" in state["structured_response"].explanation


def test_tool_choice_is_honoured(model):
    forced = model.bind_tools(TOOLS, tool_choice="any").invoke("Hello!")
    assert len(forced.tool_calls) == 1
    named = model.bind_tools(TOOLS, tool_choice="get_weather").invoke("What is 2 + 2?")
    assert [c["name"] for c in named.tool_calls] == ["get_weather"]
    none = model.bind_tools(TOOLS, tool_choice="none").invoke("What is 17% of 2,340?")
    assert none.tool_calls == []
    with pytest.raises(ConfigError, match="accepted: 'auto', 'any'"):
        model.bind_tools(TOOLS, tool_choice="no_such_tool")


def test_bind_tools_accepts_functions_pydantic_typeddict_and_dicts(model):
    def convert_currency(amount: float, currency: str) -> str:
        """Convert an amount of money into another currency.

        Args:
            amount: How much money.
            currency: Three-letter code of the target currency, e.g. "EUR".
        """
        return ""

    class LookUpOrder(BaseModel):
        """Look up the status of a customer order by its number."""

        order_number: int = Field(description="The order number")

    class SendEmail(TypedDict):
        """Send an email to someone."""

        to: Annotated[str, ..., "Recipient email address"]

    dict_tool = {
        "type": "function",
        "function": {
            "name": "get_stock_price",
            "description": "Get the current share price of a listed company.",
            "parameters": {
                "type": "object",
                "properties": {"ticker": {"type": "string", "description": "Stock ticker"}},
                "required": ["ticker"],
            },
        },
    }
    bound = model.bind_tools([convert_currency, LookUpOrder, SendEmail, dict_tool])
    assert _calls(bound.invoke("Where is my order 48213?")) == [
        ("LookUpOrder", {"order_number": 48213})
    ]
    assert _calls(bound.invoke("Send an email to ana@example.com")) == [
        ("SendEmail", {"to": "ana@example.com"})
    ]
    assert _calls(bound.invoke('Convert 250 dollars to "EUR"')) == [
        ("convert_currency", {"amount": 250, "currency": "EUR"})
    ]


class Ticket(BaseModel):
    """Support ticket triage."""

    category: Literal["billing", "technical", "account"] = Field(
        description="billing: charges, invoices, refunds\ntechnical: bugs, errors, crashes\n"
        "account: login, password, profile"
    )
    confidence: float = Field(ge=0, le=1)
    tags: list[str] = Field(default_factory=list)


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("Why was I charged twice this month?", "billing"),
        ("The app crashes when I upload photos, videos and PDFs", "technical"),
        ("I can't log in, my password reset link is broken", "account"),
    ],
)
def test_structured_output_pydantic_literal_and_confidence(model, text, category):
    ticket = model.with_structured_output(Ticket).invoke(text)
    assert isinstance(ticket, Ticket)
    assert ticket.category == category
    assert 0.5 < ticket.confidence <= 1


def test_structured_output_list_from_comma_list(model):
    ticket = model.with_structured_output(Ticket).invoke(
        "The app crashes when I upload photos, videos and PDFs"
    )
    assert ticket.tags == ["photos", "videos", "PDFs"]


def test_structured_output_typeddict_with_include_raw(model):
    class Person(TypedDict):
        """A person mentioned in the text."""

        name: Annotated[str, ..., "full name"]
        age: Annotated[int, ..., "age in years"]
        city: Annotated[str | None, None, "where they live"]

    result = model.with_structured_output(Person, include_raw=True).invoke(
        "Maria Lopez is 34 and lives in Madrid"
    )
    assert result["parsing_error"] is None
    assert result["parsed"] == {"name": "Maria Lopez", "age": 34, "city": "Madrid"}
    assert result["raw"].tool_calls[0]["name"] == "Person"


def test_structured_output_json_schema_nested_and_steps(model):
    schema = {
        "title": "Trip",
        "type": "object",
        "properties": {
            "destination": {"type": "string"},
            "budget": {"type": "number"},
            "travellers": {"type": "integer"},
            "preferences": {
                "type": "object",
                "properties": {
                    "window_seat": {"type": "boolean"},
                    "meal": {"enum": ["vegetarian", "vegan", "standard"]},
                },
                "required": ["window_seat", "meal"],
            },
            "steps": {"type": "array", "items": {"type": "string"}},
        },
        "required": ["destination", "budget", "travellers", "preferences", "steps"],
    }
    trip = model.with_structured_output(schema).invoke(
        "Plan a trip to Kyoto for 2 people with a budget of 3,500 dollars, vegetarian meals, "
        "no window seat; then book the hotel"
    )
    assert trip["destination"] == "Kyoto"
    assert trip["budget"] == 3500
    assert trip["travellers"] == 2
    assert trip["preferences"] == {"window_seat": False, "meal": "vegetarian"}
    assert len(trip["steps"]) == 2 and trip["steps"][1] == "book the hotel"


def test_structured_output_untitled_json_schema_and_fill_schema_method(model):
    schema = {
        "type": "object",
        "properties": {"sentiment": {"type": "string", "enum": ["positive", "negative"]}},
        "required": ["sentiment"],
    }
    assert model.with_structured_output(schema).invoke("I hate waiting, this is awful") == {
        "sentiment": "negative"
    }
    messages = [SystemMessage("Classify."), HumanMessage("I love this product, it is great")]
    assert model.fill_schema(messages, schema) == {"sentiment": "positive"}


class Grade(BaseModel):
    """Whether a document helps answer the question."""

    binary_score: Literal["yes", "no"]


class Grounded(BaseModel):
    """Whether the answer is supported by the facts."""

    grounded: bool


@pytest.mark.parametrize(
    ("document", "verdict"),
    [
        ("Cats and dogs may travel in the cabin in a soft carrier.", "yes"),
        ("Refunds are paid to the original form of payment within 14 days.", "no"),
    ],
)
def test_grader_compares_the_labelled_parts(model, document, verdict):
    prompt = f"Question: Can I bring my cat on the plane?\n\nDocument: {document}"
    assert model.with_structured_output(Grade).invoke(prompt).binary_score == verdict
    facts = f"Facts: {document}\n\nAnswer: Your cat can fly in the cabin in a soft carrier."
    assert model.with_structured_output(Grounded).invoke(facts).grounded is (verdict == "yes")


def test_plan_steps_and_query_rewrite(model):
    class Plan(BaseModel):
        """Steps to take, in order."""

        steps: list[str]

    class Rewrite(BaseModel):
        """A better search query."""

        query: str

    plan = model.with_structured_output(Plan).invoke(
        "Find the cheapest flight to Rome next week, book a hotel near the Colosseum and "
        "then email the itinerary to Ana"
    )
    assert plan.steps == [
        "cheapest flight to Rome next week",
        "book a hotel near the Colosseum",
        "email the itinerary to Ana",
    ]
    rewrite = model.with_structured_output(Rewrite).invoke("um so can you tell me the pet fees?")
    assert rewrite.query == "pet fees"


def test_answers_extractively_from_context_with_markers(model):
    system = SystemMessage(
        "Answer from the context.\n\nContext:\n"
        "[1] Cats travel in the cabin in a soft carrier under the seat. The carrier counts as "
        "your personal item.\n"
        "[2] Checked bags may weigh up to 23 kg. Heavier bags pay an overweight fee.\n"
    )
    answer = model.invoke([system, HumanMessage("How much can a checked bag weigh?")])
    assert "Checked bags may weigh up to 23 kg [2]." in answer.content
    assert "soft carrier" not in answer.content


def test_headings_give_sentences_their_context(model):
    system = SystemMessage(
        "Use only the numbered passages below and cite them as [n].\n\nPassages:\n"
        "[1] # Travelling with pets\n\n## Pets in the cabin\n\n- Only cats and dogs.\n"
        "- The fee is 50 EUR per flight.\n\n## Pets in the hold\n\n"
        "- Larger dogs travel in a rigid crate.\n- The fee is 120 EUR per flight.\n"
    )
    answer = model.invoke([system, HumanMessage("What does a cat in the cabin cost?")])
    assert "The fee is 50 EUR per flight [1]." in answer.content
    assert "120" not in answer.content and "#" not in answer.content


def test_summary_is_extractive(model):
    text = (
        "Skylark Air flies to 40 cities in Europe. Its hub is in Oslo. Fares include a cabin "
        "bag. Checked bags cost extra on basic fares. Miles never expire while you fly once a "
        "year. Pets may travel in the cabin on most routes."
    )
    summary = model.invoke(f"Summarize this: {text}").content
    sentences = [s.strip() for s in summary.split(". ") if s.strip()]
    assert 1 <= len(sentences) <= 3
    assert all(s.rstrip(".") in text for s in sentences)


def test_pasted_notes_without_a_question_are_summarised_not_computed(agent_model):
    notes = (
        "Here are my notes from the review.\n\nThe quarterly revenue grew by 12 percent. "
        "Costs fell slightly. The team hired four engineers. Customer churn dropped to 3 "
        "percent. The office moved to a new building."
    )
    reply = agent_model.invoke(notes)
    assert reply.tool_calls == []  # a figure in the text is not arithmetic to do
    sentences = [s for s in reply.content.split(". ") if s]
    assert 1 <= len(sentences) <= 3
    assert all(s.rstrip(".") in notes for s in sentences)


def test_streaming_equals_invoke_for_text_and_tool_calls(model, agent_model):
    for runnable, text in ((model, "Hello there"), (agent_model, "What is 17% of 2,340?")):
        invoked = runnable.invoke(text)
        chunks = list(runnable.stream(text))
        full = chunks[0]
        for chunk in chunks[1:]:
            full += chunk
        assert full.content == invoked.content
        assert _calls(full) == _calls(invoked)
        assert [c["id"] for c in full.tool_calls] == [c["id"] for c in invoked.tool_calls]
        assert full.usage_metadata == invoked.usage_metadata
        assert chunks[-1].chunk_position == "last"
    text_chunks = list(model.stream("Hello there"))
    assert len(text_chunks) > 3  # word by word


async def test_async_stream_and_invoke(agent_model):
    invoked = await agent_model.ainvoke("What is 17% of 2,340?")
    full = None
    async for chunk in agent_model.astream("What is 17% of 2,340?"):
        full = chunk if full is None else full + chunk
    assert _calls(full) == _calls(invoked) == [("calculator", {"expression": "17% of 2,340"})]


def test_usage_metadata_counts_tokens(model):
    message = model.invoke("Hello there, how are you?")
    usage = message.usage_metadata
    assert usage["input_tokens"] >= 7  # 7 regex tokens plus per-message overhead
    assert usage["output_tokens"] > 0
    assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"]
    assert message.response_metadata["model_name"] == "podium-offline"


def test_deterministic(agent_model):
    request = "Book me a flight to Paris next week and what's 12 times 7"
    first, second = agent_model.invoke(request), agent_model.invoke(request)
    assert first.content == second.content
    assert first.tool_calls == second.tool_calls


def test_stop_and_max_tokens_cut_text(model):
    full = model.invoke("Hello!").content
    cut = model.invoke("Hello!", stop=["offline"])
    assert cut.content == full[: full.index("offline")]
    assert cut.response_metadata["finish_reason"] == "stop"
    short = OfflineChatModel(max_tokens=3).invoke("Hello!")
    assert short.content == "Hello! I"
    assert short.response_metadata["finish_reason"] == "length"


def test_bad_schema_is_a_config_error():
    with pytest.raises(ConfigError, match="needs an object schema"):
        fill_schema("hi", {"type": "string"})
