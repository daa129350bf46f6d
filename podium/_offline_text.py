"""Text heuristics of the offline model: tokens, clauses, sentences, filler words.

Plain regular expressions, no models: the offline model's embedding work lives in
``podium._offline_embed``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from langchain_core.messages import BaseMessage

__all__ = [
    "content_words",
    "count_tokens",
    "is_chitchat",
    "message_text",
    "split_clauses",
    "split_sentences",
    "strip_filler",
    "words",
]

# A word, a number or one punctuation mark: close enough to BPE counts for budgets.
_TOKEN = re.compile(r"\w+|[^\w\s]", re.UNICODE)
_WORD = re.compile(r"[\w'’-]+", re.UNICODE)

# Clause boundaries inside a sentence: ';', "also", "then", "as well as", and "and"
# when a new request follows it ("... and what's ...", "... and book ..."): a bare
# "and" between nouns ("Alice and Bob") joins a list, not two requests.
_STARTERS = (
    r"what|what's|whats|how|how's|when|where|where's|who|which|why|is|are|will|can|could|"
    r"would|do|does|tell|show|give|find|get|book|search|check|compute|calculate|convert|look|"
    r"schedule|create|send|add|set|make|remind|translate|summari[sz]e|list|compare|plan|open|"
    r"email|call|cancel|reserve|order|buy|fetch|read|write|update|delete|remove|play|i|i'd|"
    r"i'm|let|please|also|then|put|note|save|draft"
)
# After a bare comma only an imperative verb starts a new request ("..., book a hotel").
_VERBS = (
    r"book|search|check|compute|calculate|convert|look|schedule|create|send|add|set|make|"
    r"remind|translate|summari[sz]e|list|compare|plan|email|call|cancel|reserve|order|buy|"
    r"fetch|update|delete|remove|find|get|tell|show|give|put|note|save|draft"
)
_MATH_NOUNS = (
    r"square\s+root|cube\s+root|sum|product|difference|quotient|average|mean|"
    r"remainder|factorial|logarithm|sqrt"
)
_CLAUSE_SEP = re.compile(
    rf"\s*;\s*|,?\s+(?:and\s+(?:also|then|finally|lastly)|also|then|finally|lastly|"
    rf"as\s+well\s+as)\s+(?=\S)|"
    rf",?\s+and\s+(?=(?:{_STARTERS})\b)|,\s+(?=(?:{_VERBS})\b)|"
    # "... and the square root of 9": a second computation, not a second operand.
    rf",?\s+and\s+(?=(?:the\s+)?(?:{_MATH_NOUNS})\b)",
    re.IGNORECASE,
)
_SENTENCE_END = re.compile(
    r"(?<=[.!?])[\"')\]]*\s+(?=[\"'(\[]?[A-Z0-9¿¡\[])|\n\s*\n|\n(?=\s*[-*•]|\s*\[\d+\])"
)
_MIN_CLAUSE_WORDS = 3
_ABBREVIATION = re.compile(
    r"(?<!\w)(?:e\.g\.|i\.e\.|etc\.|vs\.|mr\.|mrs\.|ms\.|dr\.|st\.|no\.|a\.m\.|p\.m\.)",
    re.IGNORECASE,
)

_CHITCHAT = re.compile(
    r"^\s*(?:hi|hello|hey|hiya|yo|howdy|greetings|thanks|thank\s+you|thx|cheers|"
    r"good\s+(?:morning|afternoon|evening|night)|how\s+are\s+you|how's\s+it\s+going|"
    r"what's\s+up|bye|goodbye|see\s+you|ok|okay|cool|great|nice|awesome|who\s+are\s+you|"
    r"what\s+can\s+you\s+do)\b",
    re.IGNORECASE,
)

FILLER = frozenset(
    """
    please kindly can could would will shall may might you u i we me us my our want wanna
    need needs like to id i'd i'm im let lets let's tell show give find get fetch search
    look looking up for about what whats what's which who whom is are was were be the a an
    some any do does did know hey hi hello ok okay so just quickly also web internet online
    info information on using use tool tools run call check see help assist finally first
    next lastly then after that afterwards now uh um umm hmm well like
    """.split()
)
# Search verbs are filler only before filler: "Google the population of Brazil" asks
# about the population, "Google interview prep" is about Google.
_SEARCH_VERBS = frozenset({"google", "googling", "bing", "out"})
_TRAILING_FILLER = re.compile(
    r"(?:[\s,]+(?:please|thanks|thank\s+you|for\s+me|if\s+you\s+can|using\s+the\s+tools?|"
    r"with\s+the\s+tools?))+\s*$",
    re.IGNORECASE,
)
# General English stopwords for lexical overlap; unlike FILLER, verbs such as
# "search" or "book" stay in, since they name what a tool does.
STOPWORDS = frozenset(
    """
    and or but if then than of in at by with from into onto over under as it its this that
    these those there here when where how why not no yes all each every both few more most
    other such only own same too very can't don't isn't it's has have had having been being
    your yours their they them he she his her him am also out off again further once please
    kindly can could would will shall may might you we me us my our want need like to the
    a an some any do does did what whats what's which who whom is are was were be get
    tell show give let lets let's use using tool tools just really about for on up
    """.split()
)


def count_tokens(text: str) -> int:
    """Count tokens with a simple regex tokenizer (words, numbers, punctuation)."""
    return len(_TOKEN.findall(text))


def words(text: str) -> list[str]:
    """Return the words of ``text`` (letters, digits, apostrophes and hyphens)."""
    return _WORD.findall(text)


def _stem(word: str) -> str:
    word = word.lower()
    for suffix in ("ing", "ed", "es", "s"):
        if len(word) > len(suffix) + 3 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word


def content_words(text: str) -> set[str]:
    """Return the stems of the content words of ``text`` (no stopwords, 3+ letters)."""
    return {
        _stem(w)
        for w in re.findall(r"[A-Za-z]{3,}", text.replace("_", " "))
        if w.lower() not in STOPWORDS
    }


def message_text(message: BaseMessage) -> str:
    """Return the plain text of a message, whatever its content format."""
    content = message.content
    if isinstance(content, str):
        return content
    parts: list[str] = []
    for block in content:
        if isinstance(block, str):
            parts.append(block)
        elif isinstance(block, dict) and block.get("type") in ("text", "input_text"):
            parts.append(str(block.get("text", "")))
    return "\n".join(parts)


def split_sentences(text: str) -> list[str]:
    """Split text into sentences (and bullet or paragraph units), keeping the wording."""
    # The periods of abbreviations ("e.g.", "p.m.") end no sentence: hide them.
    protected = _ABBREVIATION.sub(lambda m: m.group(0).replace(".", "\x01"), text)
    out = []
    for piece in _SENTENCE_END.split(protected):
        restored = (piece or "").replace("\x01", ".").strip()
        if restored:
            out.append(restored)
    return out


def split_clauses(text: str) -> list[str]:
    """Split a request into its parts: sentences, then ';' and joining conjunctions.

    A piece of fewer than three words ("and Rome", "3 and 4") is not a request of
    its own and stays joined to the piece before it.
    """
    clauses: list[str] = []
    for sentence in split_sentences(text):
        pieces: list[str] = []
        cursor = 0
        for match in _CLAUSE_SEP.finditer(sentence):
            pieces.append(sentence[cursor : match.start()])
            pieces.append(match.group(0))
            cursor = match.end()
        pieces.append(sentence[cursor:])
        merged: list[str] = []
        for i in range(0, len(pieces), 2):
            piece = pieces[i]
            sep = pieces[i - 1] if i else ""
            if merged and (
                len(words(piece)) < _MIN_CLAUSE_WORDS or len(words(merged[-1])) < _MIN_CLAUSE_WORDS
            ):
                merged[-1] = merged[-1] + sep + piece
            else:
                merged.append(piece)
        clauses.extend(p.strip(" ,") for p in merged if p.strip(" ,"))
    return clauses or ([text.strip()] if text.strip() else [])


def strip_filler(text: str, extra: Iterable[str] = ()) -> str:
    """Return the request without its leading filler ("can you tell me the ...").

    Used for free-text fields (query, question, topic): "Search the web for the
    best pizza in Rome, please" becomes "best pizza in Rome".
    """
    filler = FILLER | {w.lower() for w in extra}
    text = text.strip().strip("\"'“”").strip()
    text = re.sub(r"[?!.]+$", "", text).strip()
    text = _TRAILING_FILLER.sub("", text).strip()
    tokens = re.split(r"(\s+)", text)
    i = 0
    previous = ""
    while i < len(tokens):
        token = tokens[i]
        bare = token.strip(",:;").lower()
        if token.isspace() or not token:
            i += 1
            continue
        if bare in filler or (
            bare in _SEARCH_VERBS and _search_verb(bare, previous, tokens[i + 1 :])
        ):
            previous = bare
            i += 1
            continue
        break
    rest = "".join(tokens[i:]).strip(" ,:;")
    return rest or text


def _search_verb(word: str, previous: str, rest: list[str]) -> bool:
    """Whether a leading "google" (or the "out" of "find out") is a verb to drop."""
    if word == "out":
        return previous == "find"
    following = next((t.strip(",:;").lower() for t in rest if t.strip()), "")
    return following in FILLER or following in ("how", "where", "when", "why", "whether", "if")


def is_chitchat(text: str) -> bool:
    """Return True for greetings, thanks and small talk (short, no request in it)."""
    return bool(_CHITCHAT.match(text)) and len(words(text)) <= 8
