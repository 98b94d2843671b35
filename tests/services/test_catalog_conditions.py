"""`Condition.holds` answers what `Condition.matches` finds, without the reasons (the
generator asks it of every entry, and `matches` says why in an item's `because`): the two
must never disagree."""

from __future__ import annotations

from itertools import chain, combinations

import pytest

from app.services.catalog.model import Condition

TRAITS = ("handles_personal_data", "user_facing", "trains_models")
APPLICATIONS = ("healthcare-solutions", "content-generation")


def _subsets(items: tuple[str, ...]) -> list[frozenset[str]]:
    return [frozenset(c) for c in chain.from_iterable(combinations(items, n) for n in range(3))]


CONDITIONS = [
    Condition(traits_any=traits, applications_any=applications)
    for traits in _subsets(TRAITS)
    for applications in _subsets(APPLICATIONS)
]


@pytest.mark.parametrize("condition", CONDITIONS, ids=repr)
def test_holds_is_whether_matches_finds_a_reason_or_the_condition_is_always(
    condition: Condition,
) -> None:
    for application in (*APPLICATIONS, "other"):
        for traits in _subsets(TRAITS):
            for given in (traits, list(traits), iter(sorted(traits))):
                expected = condition.always or condition.matches(application, traits) != ()
                assert condition.holds(application, given) == expected, (application, traits)
