"""LlamaIndex's view of a LangChain chat model, and the sub-question generator built on it.

``llama-index-llms-langchain`` would be the natural adapter, but with LangChain 1.x
it imports ``langchain_community`` and ``langchain_classic`` (via
``llama_index.core.bridge.langchain``), which Podium does not install. This thin
``CustomLLM`` covers what the query engines call: ``chat``/``complete`` and
``structured_predict``, the latter through LangChain's ``with_structured_output``
so any model that fills schemas (Podium's offline model included) can plan
sub-questions.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage
from llama_index.core.base.llms.types import (
    ChatMessage,
    ChatResponse,
    CompletionResponse,
    CompletionResponseGen,
    LLMMetadata,
    MessageRole,
)
from llama_index.core.bridge.pydantic import PrivateAttr
from llama_index.core.llms.callbacks import llm_chat_callback, llm_completion_callback
from llama_index.core.llms.custom import CustomLLM
from llama_index.core.prompts import ChatPromptTemplate
from llama_index.core.question_gen.types import BaseQuestionGenerator, SubQuestion
from llama_index.core.schema import QueryBundle
from llama_index.core.tools.types import ToolMetadata
from pydantic import BaseModel, Field

__all__ = ["LangChainLLM", "StructuredQuestionGenerator"]


def _to_langchain(messages: Sequence[ChatMessage]) -> list[BaseMessage]:
    converted: list[BaseMessage] = []
    for message in messages:
        text = message.content or ""
        if message.role == MessageRole.SYSTEM:
            converted.append(SystemMessage(text))
        elif message.role == MessageRole.ASSISTANT:
            converted.append(AIMessage(text))
        else:
            converted.append(HumanMessage(text))
    return converted


def _text(message: BaseMessage) -> str:
    content = message.content
    if isinstance(content, str):
        return content
    return "".join(
        part.get("text", "") if isinstance(part, dict) else str(part) for part in content
    )


class LangChainLLM(CustomLLM):
    """A LangChain chat model as a LlamaIndex LLM (chat, completion, structured output)."""

    context_window: int = Field(default=8192, description="Tokens the model reads at most.")
    num_output: int = Field(default=512, description="Tokens reserved for the answer.")
    _model: BaseChatModel = PrivateAttr()

    def __init__(self, model: BaseChatModel, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._model = model

    @classmethod
    def class_name(cls) -> str:
        """Return the class name LlamaIndex records."""
        return "PodiumLangChainLLM"

    @property
    def model(self) -> BaseChatModel:
        """The wrapped LangChain chat model."""
        return self._model

    @property
    def metadata(self) -> LLMMetadata:
        """Model facts the prompt helpers use to pack context."""
        return LLMMetadata(
            context_window=self.context_window,
            num_output=self.num_output,
            is_chat_model=True,
            model_name=getattr(self._model, "model_name", None) or type(self._model).__name__,
        )

    @llm_chat_callback()
    def chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        """Send the messages to the LangChain model."""
        reply = self._model.invoke(_to_langchain(messages))
        return ChatResponse(
            message=ChatMessage(role=MessageRole.ASSISTANT, content=_text(reply)), raw=reply
        )

    @llm_completion_callback()
    def complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponse:
        """Send the prompt as one user message."""
        reply = self._model.invoke([HumanMessage(prompt)])
        return CompletionResponse(text=_text(reply), raw=reply)

    @llm_completion_callback()
    def stream_complete(
        self, prompt: str, formatted: bool = False, **kwargs: Any
    ) -> CompletionResponseGen:
        """Stream the completion (one response; the engines here do not stream)."""
        response = self.complete(prompt, formatted=formatted, **kwargs)

        def gen() -> CompletionResponseGen:
            yield CompletionResponse(text=response.text, delta=response.text, raw=response.raw)

        return gen()

    def structured_predict(
        self,
        output_cls: type[BaseModel],
        prompt: Any,
        llm_kwargs: dict[str, Any] | None = None,
        **prompt_args: Any,
    ) -> BaseModel:
        """Fill ``output_cls`` through the LangChain model's ``with_structured_output``."""
        messages = prompt.format_messages(llm=self, **prompt_args)
        result = self._model.with_structured_output(output_cls).invoke(_to_langchain(messages))
        return result if isinstance(result, output_cls) else output_cls.model_validate(result)

    async def astructured_predict(
        self,
        output_cls: type[BaseModel],
        prompt: Any,
        llm_kwargs: dict[str, Any] | None = None,
        **prompt_args: Any,
    ) -> BaseModel:
        """Async form of :meth:`structured_predict` (runs it synchronously)."""
        return self.structured_predict(output_cls, prompt, llm_kwargs, **prompt_args)


_PLAN_PROMPT = ChatPromptTemplate.from_messages(
    [
        (
            "system",
            "Break the user's question into the smallest set of self-contained "
            "sub-questions, one per part of the question; a one-part question gives "
            "one sub-question. Each sub-question goes to one knowledge base:\n{tools_str}",
        ),
        ("user", "{query_str}"),
    ]
)


class _SubQuestion(BaseModel):
    """One part of the user's question."""

    sub_question: str = Field(description="A self-contained question about one part.")
    knowledge_base: str = Field(description="Name of the knowledge base to ask.")


class _SubQuestionPlan(BaseModel):
    """Sub-questions that together answer the user's question."""

    items: list[_SubQuestion] = Field(description="One sub-question per part of the question.")


class StructuredQuestionGenerator(BaseQuestionGenerator):
    """Plan sub-questions with the model's structured output.

    LlamaIndex's ``LLMQuestionGenerator`` parses JSON out of free text, which only
    strong models write reliably; structured output works for any model that
    supports tools. Sub-questions naming an unknown knowledge base go to the first
    one; when the model proposes none, the whole question is asked of every
    knowledge base.
    """

    def __init__(self, llm: LangChainLLM) -> None:
        self._llm = llm

    def _get_prompts(self) -> dict[str, Any]:
        return {"question_gen_prompt": _PLAN_PROMPT}

    def _update_prompts(self, prompts: dict[str, Any]) -> None:
        pass

    def generate(self, tools: Sequence[ToolMetadata], query: QueryBundle) -> list[SubQuestion]:
        """Return the sub-questions for ``query`` over ``tools``."""
        names = [tool.name for tool in tools]
        tools_str = "\n".join(f"- {tool.name}: {tool.description}" for tool in tools)
        plan = self._llm.structured_predict(
            _SubQuestionPlan, _PLAN_PROMPT, tools_str=tools_str, query_str=query.query_str
        )
        questions = []
        for item in plan.items:
            text = item.sub_question.strip()
            if text:
                tool = item.knowledge_base if item.knowledge_base in names else names[0]
                questions.append(SubQuestion(sub_question=text, tool_name=tool))
        if not questions:
            questions = [SubQuestion(sub_question=query.query_str, tool_name=n) for n in names]
        return questions

    async def agenerate(
        self, tools: Sequence[ToolMetadata], query: QueryBundle
    ) -> list[SubQuestion]:
        """Async form of :meth:`generate` (runs it synchronously)."""
        return self.generate(tools, query)
