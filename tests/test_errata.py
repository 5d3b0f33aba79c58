"""Every claim of the sources is recomputed; the ones that fail are exactly the known errata."""

from cnnbook.book.errata import all_claims

#: (source, section) and a phrase of each claim the sources get wrong.
KNOWN_WRONG = {
    ("003", "5.3.4", "I*O*K parameters"),
    ("001", "AlexNet", "AlexNet conv1 parameters without sharing"),
    ("001", "AlexNet", "(input width - filter size + (2 * padding)/stride) + 1"),
    ("003", "5.16", "each has 11x11x3 = 364 weights"),
    ("003", "5.7.3", "[pool4x4]: sizeX = 5, stride = 4"),
    ("003", "5.8", "cut 3a's weights to about a third"),
    ("003", "5.8", "one twelfth of AlexNet's parameters"),
    ("003", "5.10", "3x3x2+1 parameters"),
    ("003", "5.12", "the bottleneck cuts the weights to a ninth"),
    ("003", "5.13", "depthwise-separable cuts the weights to a ninth"),
    ("003", "5.18", "3x3 window, stride 2: also 1/4"),
    ("003", "5.25", "cuts the error rate by a third"),
}


def test_every_claim_computes_and_only_the_known_errata_fail():
    claims = all_claims()
    assert len(claims) >= 10
    failing = {
        (c.source, c.section, next((p for _, _, p in KNOWN_WRONG if p in c.claim), c.claim))
        for c in claims
        if not c.holds
    }
    assert failing == KNOWN_WRONG


def test_wrong_claims_explain_themselves():
    assert all(c.note for c in all_claims() if not c.holds)
