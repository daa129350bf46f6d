"""Ingestion: incremental runs, bad files, formats, metadata, SIGKILL and Ctrl-C mid-run.

Real parts only: Chroma on disk in tmp_path, the shipped MiniLM model, a real
subprocess killed with SIGKILL.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from podium.errors import InputError
from podium.models import load_llama_embeddings
from podium.retrievers import HANDBOOK_DIR, ingest
from podium.retrievers._store import docstore_path, load_docstore, open_collection

PAGES = ["baggage-cabin.md", "pets.md", "no-shows.md"]
TINY = {
    "alpha.md": "# Alpha\n\nAlpha intro line.\n\n## Usage\n\nAlpha is used daily.\n",
    "beta.md": "# Beta\n\n## Setup\n\nBeta needs a key.\n\n## Limits\n\nBeta caps at ten.\n",
    "gamma.txt": "Gamma notes: the gamma service restarts nightly.\n",
    "delta.md": "# Delta\n\nDelta replaces gamma in 2031.\n",
}


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    """A few handbook pages, copied so tests may change them."""
    folder = tmp_path / "corpus"
    (folder / "travel").mkdir(parents=True)
    for page in PAGES:
        shutil.copy(HANDBOOK_DIR / "travel" / page, folder / "travel" / page)
    return folder


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    """Four short documents: cheap to embed."""
    folder = tmp_path / "tiny"
    folder.mkdir()
    for name, text in TINY.items():
        (folder / name).write_text(text)
    return folder


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


@pytest.fixture
def embedded_texts(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every text the shared MiniLM model embeds for documents, recorded."""
    model = load_llama_embeddings()
    texts: list[str] = []
    real = type(model)._get_text_embeddings

    def recording(self, batch):
        texts.extend(batch)
        return real(self, batch)

    monkeypatch.setattr(type(model), "_get_text_embeddings", recording)
    return texts


def snapshot(collection: str, home: Path) -> dict[str, tuple[str, dict]]:
    """Chunk id -> (text, citation metadata) of a collection."""
    got = open_collection(collection, home).get(include=["documents", "metadatas"])
    keys = ("source", "title", "heading", "position", "document_id")
    return {
        chunk_id: (text, {k: meta.get(k) for k in keys})
        for chunk_id, text, meta in zip(got["ids"], got["documents"], got["metadatas"], strict=True)
    }


def test_first_run_embeds_every_chunk_and_rerun_embeds_nothing(corpus, home, embedded_texts):
    first = ingest([corpus], collection="kb-a", home=home)
    assert (first.files, first.added, first.unchanged) == (3, 3, 0)
    assert first.chunks == first.total_chunks == len(embedded_texts) > 3
    before = snapshot("kb-a", home)
    assert len(before) == first.total_chunks
    # Citation metadata on every chunk; ids are <source>#<position>.
    positions: dict[str, list[int]] = {}
    for chunk_id, (_, meta) in before.items():
        assert chunk_id == f"{meta['source']}#{meta['position']}"
        assert meta["document_id"] == meta["source"]
        assert meta["title"] and meta["heading"]
        positions.setdefault(meta["source"], []).append(meta["position"])
    assert all(sorted(p) == list(range(len(p))) for p in positions.values())
    headings = {
        m["heading"] for _, m in before.values() if m["source"] == "travel/baggage-cabin.md"
    }
    assert {"Personal item", "Overhead cabin bag", "Liquids and restricted items"} <= headings
    assert {m["title"] for _, m in before.values()} == {
        "Cabin Baggage",
        "Travelling with Pets",
        "No-Shows and Missed Flights",
    }

    embedded_texts.clear()
    for page in PAGES:  # a new modification time is not a new content
        os.utime(corpus / "travel" / page, (1_000_000_000, 1_000_000_000))
    second = ingest([corpus], collection="kb-a", home=home)
    assert (second.added, second.updated, second.unchanged, second.chunks) == (0, 0, 3, 0)
    assert embedded_texts == []
    assert snapshot("kb-a", home) == before
    assert "0 chunks embedded" in second.summary()


def test_changed_file_replaces_its_old_chunks(corpus, home, embedded_texts):
    ingest([corpus], collection="kb-b", home=home)
    before = snapshot("kb-b", home)
    page = corpus / "travel" / "pets.md"
    page.write_text(
        "# Travelling with Pets\n\n## Pets in the cabin\n\nOnly hamsters named Zebulon may fly.\n"
    )
    embedded_texts.clear()
    report = ingest([corpus], collection="kb-b", home=home)
    assert (report.added, report.updated, report.unchanged) == (0, 1, 2)
    after = snapshot("kb-b", home)
    pets_after = {k: v for k, v in after.items() if v[1]["source"] == "travel/pets.md"}
    assert len(pets_after) == report.chunks == 2
    assert any("Zebulon" in text for text, _ in pets_after.values())
    assert not any("assistance dog" in text.lower() for text, _ in pets_after.values())
    # Every other document is untouched, and only the changed one was embedded.
    others = {k: v for k, v in before.items() if v[1]["source"] != "travel/pets.md"}
    assert {k: after[k] for k in others} == others
    assert len(after) == len(others) + 2
    assert all("Zebulon" in text or "Pets" in text for text in embedded_texts)


def test_deleted_file_goes_only_with_prune(corpus, home):
    ingest([corpus], collection="kb-c", home=home)
    (corpus / "travel" / "no-shows.md").unlink()

    kept = ingest([corpus], collection="kb-c", home=home)
    assert kept.pruned == 0
    assert any(m["source"] == "travel/no-shows.md" for _, m in snapshot("kb-c", home).values())

    pruned = ingest([corpus], collection="kb-c", home=home, prune=True)
    assert pruned.pruned == 1 and pruned.chunks == 0
    sources = {m["source"] for _, m in snapshot("kb-c", home).values()}
    assert sources == {"travel/baggage-cabin.md", "travel/pets.md"}
    assert "travel/no-shows.md" not in load_docstore(docstore_path("kb-c", home)).docs


def _pdf(lines: list[str]) -> bytes:
    """A real one-page PDF with text, written by hand (offsets computed)."""
    text = "".join(f"({line}) Tj T* " for line in lines)
    stream = f"BT /F1 12 Tf 14 TL 72 720 Td {text}ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def test_pdf_html_and_text_are_read_with_metadata(tmp_path, home):
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "lounge-rules.pdf").write_bytes(
        _pdf(["Lounge access is free for Gold members.", "Guests pay 30 euros each."])
    )
    (folder / "visa.html").write_text(
        "<html><head><title>Visa Guide</title><style>p{color:red}</style></head><body>"
        "<h1>Visa Guide</h1><p>Read this first.</p>"
        "<h2>Schengen visas</h2><p>A Schengen visa covers <b>27 countries</b>.</p>"
        "<script>var hidden = 1;</script></body></html>"
    )
    (folder / "notes.txt").write_text("Check-in closes 45 minutes before departure.\n")
    report = ingest([folder], collection="kb-formats", home=home)
    assert (report.files, report.skipped) == (3, [])

    chunks = snapshot("kb-formats", home).values()
    by_source: dict[str, list] = {}
    for text, meta in chunks:
        by_source.setdefault(meta["source"], []).append((text, meta))
    pdf_text, pdf_meta = by_source["lounge-rules.pdf"][0]
    assert "Lounge access is free for Gold members." in pdf_text and "30 euros" in pdf_text
    assert pdf_meta["title"] == "lounge rules" and pdf_meta["position"] == 0
    visa = {meta["heading"]: text for text, meta in by_source["visa.html"]}
    assert "27 countries" in visa["Schengen visas"]
    assert all(meta["title"] == "Visa Guide" for _, meta in by_source["visa.html"])
    assert not any("hidden" in text or "color" in text for text in visa.values())
    assert by_source["notes.txt"][0][1]["title"] == "notes"


def test_bad_files_are_skipped_with_a_reason_and_counted(tiny, home):
    bad = tiny / "bad"
    bad.mkdir()
    (bad / "binary.md").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    (bad / "latin1.txt").write_bytes("caf\xe9 au lait, tr\xe8s bon".encode("latin-1"))
    (bad / "corrupt.pdf").write_bytes(b"%PDF-1.4\n1 0 obj <<< this is not a pdf")
    (bad / "empty.md").write_text("")
    (bad / "blank.txt").write_text("  \n\n\t\n")
    (bad / "report.docx").write_bytes(b"PK\x03\x04 not supported")
    (bad / "gone.md").symlink_to(bad / "missing-target.md")
    expected = {
        "binary.md": "binary",
        "latin1.txt": "not UTF-8",
        "corrupt.pdf": "corrupt PDF",
        "empty.md": "empty",
        "blank.txt": "empty",
        "report.docx": "unsupported file type '.docx'",
        "gone.md": "unreadable",
    }
    if os.geteuid() != 0:  # root reads any file whatever its mode
        locked = bad / "locked.md"
        locked.write_text("# Locked\n\nsecret")
        locked.chmod(0)
        expected["locked.md"] = "unreadable"

    seen = []
    report = ingest([tiny], collection="kb-bad", home=home, on_progress=seen.append)
    reasons = {Path(s.path).name: s.reason for s in report.skipped}
    assert set(reasons) == set(expected)
    for name, fragment in expected.items():
        assert fragment in reasons[name], (name, reasons[name])
    assert report.files == 4 and report.added == 4
    assert len(report.skipped) == len(expected)
    assert {m["source"] for _, m in snapshot("kb-bad", home).values()} == set(TINY)
    assert seen[-1].files_done == seen[-1].files_total == 4 + len(expected)
    assert seen[-1].skipped == len(expected)


def test_bad_input_fails_before_any_write(tmp_path, home):
    with pytest.raises(InputError, match="does not exist"):
        ingest([tmp_path / "nope"], collection="kb-x", home=home)
    with pytest.raises(InputError, match="collection name 'a'"):
        ingest([tmp_path], collection="a", home=home)
    with pytest.raises(InputError, match="overlap"):
        ingest([tmp_path], collection="kb-x", home=home, chunk_size=64, chunk_overlap=64)
    one, two = tmp_path / "one", tmp_path / "two"
    for folder in (one, two):
        folder.mkdir()
        (folder / "README.md").write_text("# Readme\n\nhello there")
    with pytest.raises(InputError, match="both be document 'README.md'"):
        ingest([one, two], collection="kb-x", home=home)
    assert not (home / "chroma").exists() or "kb-x" not in str(list((home / "chroma").iterdir()))


def test_chunk_size_is_part_of_the_hash(tmp_path, home):
    folder = tmp_path / "long"
    folder.mkdir()
    (folder / "long.txt").write_text(" ".join(f"Sentence number {i} is here." for i in range(120)))
    small = ingest([folder], collection="kb-size", home=home, chunk_size=64, chunk_overlap=8)
    large = ingest([folder], collection="kb-size", home=home, chunk_size=512, chunk_overlap=32)
    assert large.updated == 1 and large.chunks < small.chunks
    assert large.total_chunks == large.chunks


_KILLER = textwrap.dedent(
    """
    import os, signal, sys
    import podium.retrievers.ingestion as ingest_module
    from llama_index.vector_stores.chroma import ChromaVectorStore

    mode, corpus, home = sys.argv[1:4]
    calls = {"n": 0}

    def die():
        print("killing", flush=True)
        os.kill(os.getpid(), signal.SIGKILL)

    if mode == "after-vector-write":
        # Batch 2 reached Chroma; the docstore recording it is never saved.
        real_save = ingest_module.save_docstore

        def save(docstore, path):
            calls["n"] += 1
            if calls["n"] == 2:
                die()
            real_save(docstore, path)

        ingest_module.save_docstore = save
    else:
        # Half of batch 2's chunks reach Chroma, then the process dies.
        real_add = ChromaVectorStore.add

        def add(self, nodes, **kwargs):
            calls["n"] += 1
            if calls["n"] == 2:
                real_add(self, nodes[: len(nodes) // 2])
                die()
            return real_add(self, nodes, **kwargs)

        ChromaVectorStore.add = add

    ingest_module.ingest([corpus], collection="kb-kill", home=home, batch_size=1)
    print("finished", flush=True)
    """
)


@pytest.mark.integration
def test_sigkill_mid_ingest_then_rerun_equals_one_clean_run(tiny, tmp_path):
    """Kill real ingest processes at the two worst moments, re-run, compare to a clean run.

    The document caught half-way is also edited before the re-run, as a user may
    do: its stale chunks must not survive.
    """
    script = tmp_path / "killer.py"
    script.write_text(_KILLER)
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "ANONYMIZED_TELEMETRY": "False"}
    modes = ("after-vector-write", "mid-vector-write")
    # Both killers run at once (each starts Python and loads the model).
    procs = {
        mode: subprocess.Popen(
            [sys.executable, str(script), mode, str(tiny), str(tmp_path / mode)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for mode in modes
    }
    caught: set[str] = set()
    for mode, proc in procs.items():
        out, err = proc.communicate(timeout=180)
        assert proc.returncode == -signal.SIGKILL, (mode, err[-2000:])
        assert "killing" in out and "finished" not in out
        # Killed part-way, with chunks in Chroma that the docstore does not record.
        home = tmp_path / mode
        recorded = load_docstore(docstore_path("kb-kill", home)).get_all_document_hashes()
        assert 0 < len(recorded) < len(TINY)
        unrecorded = {m["source"] for _, m in snapshot("kb-kill", home).values()}
        unrecorded -= set(recorded.values())
        assert unrecorded, mode
        caught |= unrecorded
    for source in caught:
        (tiny / source).write_text("# Changed\n\nOnly this line remains after the crash.\n")

    clean_home = tmp_path / "clean"
    clean = ingest([tiny], collection="kb-clean", home=clean_home, batch_size=1)
    fresh = snapshot("kb-clean", clean_home)
    fresh_hashes = load_docstore(docstore_path("kb-clean", clean_home)).get_all_document_hashes()
    for mode in modes:
        home = tmp_path / mode
        rerun = ingest([tiny], collection="kb-kill", home=home, batch_size=1)
        assert rerun.total_chunks == clean.total_chunks, mode
        resumed = snapshot("kb-kill", home)
        assert sorted(resumed) == sorted(fresh), mode  # same chunk ids, none duplicated
        assert resumed == fresh, mode  # same texts and metadata
        hashes = load_docstore(docstore_path("kb-kill", home)).get_all_document_hashes()
        assert hashes == fresh_hashes, mode
        # A third run finds nothing to do.
        assert ingest([tiny], collection="kb-kill", home=home).chunks == 0


def test_docstore_is_saved_atomically(tiny, home):
    ingest([tiny], collection="kb-atomic", home=home)
    path = docstore_path("kb-atomic", home)
    data = json.loads(path.read_text())
    assert data and not list(path.parent.glob("*.tmp"))


def test_ensure_handbook_ingests_only_an_empty_collection(tiny, home, monkeypatch):
    import podium.retrievers.ingestion as ingestion

    monkeypatch.setattr(ingestion, "HANDBOOK_DIR", tiny)  # a small stand-in corpus
    first = ingestion.ensure_handbook(collection="kb-hand", home=home)
    assert first is not None and first.added == len(TINY)
    (tiny / "epsilon.md").write_text("# Epsilon\n\nNew page.\n")
    assert ingestion.ensure_handbook(collection="kb-hand", home=home) is None
    assert open_collection("kb-hand", home).count() == first.total_chunks


def test_ctrl_c_mid_write_then_rerun_equals_one_clean_run(tiny, tmp_path, monkeypatch):
    """Ctrl-C while chunks are half in Chroma: exit 130 with a hint; a re-run finishes cleanly."""
    from llama_index.vector_stores.chroma import ChromaVectorStore
    from typer.testing import CliRunner

    from podium.cli import app
    from podium.settings import get_settings

    real_add = ChromaVectorStore.add

    def interrupted_add(self, nodes, **kwargs):
        real_add(self, nodes[: len(nodes) // 2], **kwargs)
        raise KeyboardInterrupt

    clean_home = tmp_path / "clean"
    ingest([tiny], collection="kb-clean", home=clean_home)
    clean = snapshot("kb-clean", clean_home)

    runner = CliRunner()
    monkeypatch.setattr(ChromaVectorStore, "add", interrupted_add)
    first = runner.invoke(app, ["ingest", str(tiny), "--collection", "kb-int"])
    assert first.exit_code == 130, first.output
    assert "interrupted" in first.output and "run the same command" in first.output
    home = get_settings().home
    assert 0 < len(snapshot("kb-int", home)) < len(clean)  # chunks half written
    monkeypatch.setattr(ChromaVectorStore, "add", real_add)

    again = runner.invoke(app, ["ingest", str(tiny), "--collection", "kb-int"])
    assert again.exit_code == 0, again.output
    assert snapshot("kb-int", home) == clean
