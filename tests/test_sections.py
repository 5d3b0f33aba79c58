"""Every numbered section of seeds/003 is cited by number where the book teaches it.

A section counts as cited when a notebook (its markdown and code, not its outputs) or a page of ``book/``
names its number ("5.19", "section 5.19.2", "sections 5.10 to 5.13"), or, for a subsection, names its
parent section (the chapter that cites "section 5.22" teaches 5.22.1 and 5.22.2 with it).
"""

import json
import re
from pathlib import Path

import pytest

from cnnbook.book.errata import numbered_sections, seed_text, seeds_dir

ROOT = Path(__file__).resolve().parents[1]

#: Sections the book does not teach yet (none since chapter 10 took 5.26). The test fails when one of them
#: becomes cited: then remove it from this set.
NOT_YET_TAUGHT: set[str] = set()

NUMBER = r"5\.\d+(?:\.\d+)?"
CITATION = re.compile(rf"(?<![\d.])({NUMBER})(?![\d]|\.\d)")
RANGE = re.compile(rf"(?<![\d.])({NUMBER})\s*(?:to|-|–|—)\s*({NUMBER})(?![\d]|\.\d)")


def book_texts() -> dict[str, str]:
    """The text of every notebook (cell sources, no outputs) and every page of ``book/``."""
    texts = {}
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        texts[path.name] = "\n".join("".join(cell["source"]) for cell in cells)
    for path in sorted((ROOT / "book").glob("*.md")):
        texts[f"book/{path.name}"] = path.read_text(encoding="utf-8")
    return texts


def cited_numbers(text: str, sections: list[str]) -> set[str]:
    """The section numbers ``text`` names, ranges ("5.10 to 5.13") expanded over ``sections`` (in order)."""
    cited = set(CITATION.findall(text))
    for first, last in RANGE.findall(text):
        if first in sections and last in sections:
            i, j = sections.index(first), sections.index(last)
            cited.update(s for s in sections[i:] if sections.index(s) <= j or s.startswith(last + "."))
    return cited & set(sections)


def covered(sections: list[str], cited: set[str]) -> set[str]:
    """The sections cited by number, or through their parent section."""
    return {s for s in sections if s in cited or s.rsplit(".", 1)[0] in cited}


@pytest.fixture(scope="module")
def sections():
    if seeds_dir() is None:
        pytest.skip("the source documents (shared/seeds) are not beside this checkout; set $CNNBOOK_SEEDS")
    return numbered_sections(seed_text("003"))


@pytest.fixture(scope="module")
def cited(sections):
    return set().union(*(cited_numbers(text, sections) for text in book_texts().values()))


def test_the_sections_are_parsed(sections):
    top = [s for s in sections if s.count(".") == 1]
    assert top == [f"5.{i}" for i in range(1, len(top) + 1)]  # 5.1, 5.2, ... without a gap
    assert {"5.3.1", "5.19.2", "5.27.3", "5.28", "5.29"} <= set(sections)


def test_every_section_is_cited_where_it_is_taught(sections, cited):
    untaught = {s for s in sections if s in NOT_YET_TAUGHT or s.rsplit(".", 1)[0] in NOT_YET_TAUGHT}
    missing = [s for s in sections if s not in covered(sections, cited) and s not in untaught]
    assert not missing, f"sections of seeds/003 that no notebook or book page cites: {missing}"


def test_the_untaught_sections_are_not_cited_yet(sections, cited):
    assert NOT_YET_TAUGHT <= set(sections)
    taught = sorted(NOT_YET_TAUGHT & covered(sections, cited))
    assert not taught, f"now cited, so remove them from NOT_YET_TAUGHT: {taught}"


def test_citations_are_recognised():
    sections = ["5.9", "5.10", "5.11", "5.12", "5.13", "5.13.1", "5.14", "5.22", "5.22.1"]
    expected = {"5.10", "5.11", "5.12", "5.13", "5.13.1", "5.22"}
    assert cited_numbers("sections 5.10 to 5.13 (see 5.22)", sections) == expected
    assert cited_numbers("5.2 and 5.22.10 and 15.9 and 5.9.", sections) == {"5.9"}
    assert covered(sections, {"5.22"}) == {"5.22", "5.22.1"}
