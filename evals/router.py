"""Evaluation of the router graph: route accuracy and answer correctness."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from langchain_core.language_models import BaseChatModel

from podium.evals._datasets import load_dataset

__all__ = ["RouterReport", "evaluate_router"]


@dataclass
class RouterReport:
    """Scores of one router evaluation run."""

    total: int
    route_accuracy: float
    answer_accuracy: float
    confusion: Counter[tuple[str, str]] = field(default_factory=Counter)
    failures: list[dict[str, Any]] = field(default_factory=list)

    def summary(self) -> str:
        """One line per metric, then the misrouted examples."""
        lines = [
            f"examples: {self.total}",
            f"route accuracy: {self.route_accuracy:.2f}",
            f"answer accuracy (math): {self.answer_accuracy:.2f}",
        ]
        lines += [f"  miss {f['id']}: {f['reason']}" for f in self.failures]
        return "\n".join(lines)


def evaluate_router(
    model: str | BaseChatModel = "offline", dataset: str = "router"
) -> RouterReport:
    """Run the router on every example of ``dataset`` and score it.

    Args:
        model: Model spec or instance to evaluate.
        dataset: Name of a JSONL dataset with ``input``, ``route`` and an optional
            ``answer_contains``.
    """
    from podium.graphs.router import RouterContext, graph

    examples = load_dataset(dataset)
    context = RouterContext(model=model)
    routed = answered = expected_answers = 0
    confusion: Counter[tuple[str, str]] = Counter()
    failures: list[dict[str, Any]] = []
    for example in examples:
        state = graph.invoke({"messages": [("user", example["input"])]}, context=context)
        confusion[(example["route"], state["route"])] += 1
        if state["route"] == example["route"]:
            routed += 1
        else:
            failures.append(
                {
                    "id": example["id"],
                    "reason": f"routed {state['route']}, wanted {example['route']}",
                }
            )
        if example.get("answer_contains"):
            expected_answers += 1
            answer = state["messages"][-1].text
            if example["answer_contains"] in answer:
                answered += 1
            else:
                failures.append(
                    {
                        "id": example["id"],
                        "reason": f"answer {answer!r} lacks {example['answer_contains']!r}",
                    }
                )
    return RouterReport(
        total=len(examples),
        route_accuracy=routed / len(examples),
        answer_accuracy=answered / expected_answers if expected_answers else 1.0,
        confusion=confusion,
        failures=failures,
    )
