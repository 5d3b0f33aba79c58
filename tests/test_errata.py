"""Every claim of the sources is recomputed; the ones that fail are exactly the known errata."""

from cnnbook.errata import all_claims

#: (source, section) and a phrase of each claim the sources get wrong.
KNOWN_WRONG = {
    ("003", "5.3.4", "I*O*K parameters"),
}


def test_every_claim_computes_and_only_the_known_errata_fail():
    claims = all_claims()
    assert len(claims) >= 10
    failing = {(c.source, c.section, next((p for _, _, p in KNOWN_WRONG if p in c.claim), c.claim))
               for c in claims if not c.holds}
    assert failing == KNOWN_WRONG


def test_wrong_claims_explain_themselves():
    assert all(c.note for c in all_claims() if not c.holds)
