"""The sources' wrong or misleading statements: every demonstration is recomputed and must still support
its row, every quote must be the source's own words, every row must carry evidence."""

import re

import pytest

from cnnbook.book import statements as demos
from cnnbook.book.errata import VERDICTS, Statement, all_claims, all_statements, section_text, seeds_dir

STATEMENTS = all_statements()

#: (source, section, a phrase of what it says): the statements flagged so far. A row that disappears, or a
#: new one, must be listed here on purpose.
KNOWN = {
    ("000", "sharing", "translation invariance"),
    ("001", "opening", "invariant to affine transformations"),
    ("001", "introduction", "reflect any affine transformation"),
    ("001", "summary", "reduces training time"),
    ("002", "2.12", "equivariant to translation"),
    ("003", "5.4.2", "dilation rate"),
    ("003", "5.4.3", "is a deconvolution"),
    ("003", "5.4.4", "not used in deep learning"),
    ("003", "5.9", "does not change"),
    ("003", "5.10", "VGG was the first"),
    ("003", "5.13", "'DepthWise convolution'"),
    ("003", "5.13", "Xception"),
    ("003", "5.18", "average pooling"),
    ("003", "5.22.1", "output is twice its input"),
    ("003", "5.22.2", "divisible by the stride"),
    ("003", "5.23", "sigmoid"),
    ("003", "5.24", "divided by 0.2 or 0.5"),
    ("003", "5.24", "weight decay"),
    ("003", "5.26.2", "loses the position"),
    ("003", "5.26.2", "order of words"),
    ("003", "5.28", "full convolution"),
    ("003", "5.29", "align the face"),
    ("004", "sharing", "input image is 55x55x96"),
    ("004", "sharing", "fully connected algorithm"),
}


def ids(statement):
    return f"{statement.source}-{statement.section}-{statement.says[:30]}"


def test_the_known_statements_are_flagged():
    found = {(s.source, s.section, next((p for *_, p in KNOWN if p in s.says), s.says)) for s in STATEMENTS}
    assert found == KNOWN


@pytest.mark.parametrize("statement", STATEMENTS, ids=ids)
def test_each_row_is_complete(statement):
    assert statement.verdict in VERDICTS
    assert statement.says and statement.quote and statement.correction
    if statement.citation:  # author, title, year, and where in it
        assert re.search(r"\b(19|20)\d\d\b", statement.citation)
        assert re.search(r"section|abstract|table|chapter|figure", statement.citation, re.IGNORECASE)


@pytest.mark.parametrize("statement", [s for s in STATEMENTS if s.demonstrate], ids=ids)
def test_every_demonstration_still_supports_its_row(statement):
    value = statement.demonstrate()
    assert statement.supports(value), f"the demonstration no longer shows that {statement.shows}: {value!r}"


@pytest.mark.parametrize("statement", STATEMENTS, ids=ids)
def test_every_quote_is_the_sources_own_text(statement):
    if seeds_dir() is None:
        pytest.skip("the source documents (shared/seeds) are not beside this checkout; set $CNNBOOK_SEEDS")
    assert statement.quote in section_text(statement.source, statement.section)


def test_a_statement_needs_evidence_and_a_verdict():
    with pytest.raises(ValueError, match="demonstration or a citation"):
        Statement("003", "5.24", "says", "quote", "wrong", "correction")
    with pytest.raises(ValueError, match="verdict"):
        Statement("003", "5.24", "says", "quote", "right", "correction", citation="A. B., T, 2016, section 1")
    with pytest.raises(ValueError, match="shows"):
        Statement("003", "5.24", "says", "quote", "wrong", "correction", demos.learning_rate_schedule)


def test_a_mistranslation_noted_in_a_claim_is_flagged_as_a_statement():
    """A claim whose note admits that the source's words say something else must have its statement."""
    flagged = {(s.source, s.section) for s in STATEMENTS}
    noted = {(c.source, c.section) for c in all_claims() if "translation" in c.note.lower()}
    assert noted <= flagged


# --- the demonstrations themselves, against what a contrary world would give --------------------------


def test_convolution_is_equivariant_not_invariant():
    v = demos.translation_experiment()
    assert v["equivariance error"] == 0 and v["change of the global max"] == 0
    assert v["feature values that change"] > 0.5


def test_the_learning_rate_advice_raises_the_rate():
    schedules = demos.learning_rate_schedule()
    assert schedules["divided by 0.2"][1] == pytest.approx(0.5)
    assert schedules["divided by 0.5"][1] == pytest.approx(0.2)


def test_sharing_barely_changes_a_training_step():
    v = list(demos.sharing_training_cost(batch=1).values())
    assert 1 < v[1] < 1.5  # with one image the update is a third of the step; with a batch it vanishes
    assert list(demos.sharing_training_cost(batch=128).values())[1] < v[1]


def test_the_scatter_is_the_transposed_convolution():
    v = demos.scatter_is_transposed()
    assert v["rank of the 5x5 -> 2x2 convolution"] == 4
