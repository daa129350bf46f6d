"""`make demo` runs the main job: routed, correct answers and cited policy answers."""

import pytest

from podium import demo


@pytest.mark.slow
def test_demo_prints_routed_correct_answers_and_citations(capsys, monkeypatch):
    monkeypatch.setattr(demo.console, "width", 200)
    demo.main()
    first = capsys.readouterr().out
    assert "17% of 2,340 is 397.8." in first
    assert "18446744073709551615" in first and "1234" in first
    assert "route=code" in first
    assert "ingested the handbook" in first and "0 skipped" in first
    assert "€35" in first and "travel/baggage-checked.md" in first
    assert "travel/travel-documents.md" in first
    # A second run finds the handbook in place and embeds nothing.
    demo.main()
    assert "handbook already ingested" in capsys.readouterr().out
