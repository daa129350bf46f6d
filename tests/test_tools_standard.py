"""LangChain's standard unit tests for every built-in tool: one small class per tool."""

from __future__ import annotations

from langchain_tests.unit_tests import ToolsUnitTests

from podium.tools.calculator import calculator
from podium.tools.code import run_python
from podium.tools.files import append_file, list_files, read_file, search_files, write_file
from podium.tools.http import http_get, http_post
from podium.tools.search import search_knowledge_base
from podium.tools.sql import sql_describe_table, sql_list_tables, sql_query
from podium.tools.travel import book_flight, cancel_booking, check_calendar, search_flights


class TestCalculator(ToolsUnitTests):
    @property
    def tool_constructor(self):
        return calculator

    @property
    def tool_invoke_params_example(self):
        return {"expression": "17% of 2,340"}


class TestSqlListTables(ToolsUnitTests):
    @property
    def tool_constructor(self):
        return sql_list_tables

    @property
    def tool_invoke_params_example(self):
        return {}


class TestSqlDescribeTable(ToolsUnitTests):
    @property
    def tool_constructor(self):
        return sql_describe_table

    @property
    def tool_invoke_params_example(self):
        return {"table": "orders"}


class TestSqlQuery(ToolsUnitTests):
    @property
    def tool_constructor(self):
        return sql_query

    @property
    def tool_invoke_params_example(self):
        return {"query": "SELECT category, COUNT(*) FROM products GROUP BY category"}


class TestCheckCalendar(ToolsUnitTests):
    @property
    def tool_constructor(self):
        return check_calendar

    @property
    def tool_invoke_params_example(self):
        return {"start": "2030-06-03", "end": "2030-06-09"}


class TestSearchFlights(ToolsUnitTests):
    @property
    def tool_constructor(self):
        return search_flights

    @property
    def tool_invoke_params_example(self):
        return {
            "origin": "London",
            "destination": "Paris",
            "date_from": "2030-06-03",
            "date_to": "2030-06-09",
            "max_price": 250.0,
        }


class TestBookFlight(ToolsUnitTests):
    @property
    def tool_constructor(self):
        return book_flight

    @property
    def tool_invoke_params_example(self):
        return {
            "flight_id": "AU104-20300603-STA",
            "passenger": "Ada Lovelace",
            "idempotency_key": "thread-1:step-4",
        }


class TestCancelBooking(ToolsUnitTests):
    @property
    def tool_constructor(self):
        return cancel_booking

    @property
    def tool_invoke_params_example(self):
        return {"booking_reference": "K7M2QD"}


class TestReadFile(ToolsUnitTests):
    @property
    def tool_constructor(self):
        return read_file

    @property
    def tool_invoke_params_example(self):
        return {"path": "notes/todo.md"}


class TestWriteFile(ToolsUnitTests):
    @property
    def tool_constructor(self):
        return write_file

    @property
    def tool_invoke_params_example(self):
        return {"path": "notes/todo.md", "content": "buy milk\n"}


class TestAppendFile(ToolsUnitTests):
    @property
    def tool_constructor(self):
        return append_file

    @property
    def tool_invoke_params_example(self):
        return {"path": "notes/todo.md", "content": "call the bank\n"}


class TestListFiles(ToolsUnitTests):
    @property
    def tool_constructor(self):
        return list_files

    @property
    def tool_invoke_params_example(self):
        return {"path": "notes"}


class TestSearchFiles(ToolsUnitTests):
    @property
    def tool_constructor(self):
        return search_files

    @property
    def tool_invoke_params_example(self):
        return {"pattern": "milk", "path": "."}


class TestSearchKnowledgeBase(ToolsUnitTests):
    @property
    def tool_constructor(self):
        return search_knowledge_base

    @property
    def tool_invoke_params_example(self):
        return {"query": "cabin bag size limit", "top_k": 3}


class TestRunPython(ToolsUnitTests):
    @property
    def tool_constructor(self):
        return run_python

    @property
    def tool_invoke_params_example(self):
        return {"code": "import math\nmath.factorial(20)", "timeout_s": 5}


class TestHttpGet(ToolsUnitTests):
    @property
    def tool_constructor(self):
        return http_get

    @property
    def tool_invoke_params_example(self):
        return {"url": "https://api.example.com/items", "params": {"q": "paris", "limit": 5}}


class TestHttpPost(ToolsUnitTests):
    @property
    def tool_constructor(self):
        return http_post

    @property
    def tool_invoke_params_example(self):
        return {"url": "https://api.example.com/items", "json": {"name": "Ada"}}
