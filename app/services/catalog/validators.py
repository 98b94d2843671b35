"""Field types and validators of the catalog's schemas (`schema.py`).

What a value is checked against that is part of the catalog itself (the keys it defines, the
article its quotes are taken from) is read from the load's `Context`, set by `load_sections`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import marshmallow as ma
from marshmallow import fields, validate
from marshmallow.experimental.context import Context

from app.vocabulary import PHASES, PRIORITIES, Repeats, values

SLUG = r"[a-z0-9]+(?:-[a-z0-9]+)*"
SECTIONS = ("roles", "collaborations", "challenges", "applications")
# Context items are keyed `context.<slug>`.
CONTEXT_PREFIX = "context"


def context() -> dict[str, Any]:
    """What the load checks against: `article`, and the keys of each section and of the
    responsibilities."""
    return Context[dict[str, Any]].get()


def not_blank(value: str) -> None:
    if not value.strip():
        raise ma.ValidationError(f"expected a non-empty string, got {value!r}")


def verbatim(value: str) -> None:
    if value not in context()["article"]:
        raise ma.ValidationError(f"not a verbatim excerpt of the article: {value!r}")


def one_of(choices: Iterable[str], what: str) -> validate.OneOf:
    return validate.OneOf(tuple(choices), error=f"unknown {what} {{input!r}} (known: {{choices}})")


def Text(*checks: Any, **kwargs: Any) -> fields.String:
    """A non-empty string, with `checks` besides."""
    return fields.String(validate=[not_blank, *checks], **kwargs)


class Flag(fields.Boolean):
    """`true` or `false`, nothing else (marshmallow's Boolean also takes "yes", 1, ...)."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> bool:
        if not isinstance(value, bool):
            raise ma.ValidationError(f"expected true or false, got {value!r}")
        return value


class Names:
    """A list of distinct names, each one of `allowed` or, when `allowed` is a str, of the
    keys of that kind the catalog defines."""

    def __init__(
        self,
        allowed: tuple[str, ...] | str,
        what: str,
        *,
        non_empty: bool = False,
        hint: bool = True,
    ) -> None:
        self.allowed = allowed
        self.what = what
        self.non_empty = non_empty
        self.hint = hint  # name the known ones in the message

    def __call__(self, names: list[str]) -> None:
        allowed = context()[self.allowed] if isinstance(self.allowed, str) else self.allowed
        if self.non_empty and not names:
            raise ma.ValidationError("must not be empty")
        for name in names:
            if name not in allowed:
                known = f" (known: {', '.join(allowed)})" if self.hint else ""
                raise ma.ValidationError(f"unknown {self.what} {name!r}{known}")
        if len(set(names)) != len(names):
            raise ma.ValidationError(f"duplicate {self.what} in {names}")


def names(
    allowed: tuple[str, ...] | str,
    what: str,
    *,
    non_empty: bool = False,
    hint: bool = True,
    **kwargs: Any,
) -> fields.List[Any]:
    """A list field of `Names`."""
    check = Names(allowed, what, non_empty=non_empty, hint=hint)
    return fields.List(fields.String(), validate=check, **kwargs)


def each_matches(pattern: str, what: str) -> Callable[[list[str]], None]:
    def check(values: list[str]) -> None:
        for value in values:
            if not re.fullmatch(pattern, value):
                raise ma.ValidationError(f"{value!r} is not {what}")

    return check


NON_EMPTY = validate.Length(min=1, error="must not be empty")


def slug_key(key: str) -> None:
    if not re.fullmatch(SLUG, key):
        raise ma.ValidationError(f"{key!r} does not match {SLUG}")


def known(kind: str, what: str) -> Callable[[str], None]:
    """One key of the catalog's `kind`."""
    names = Names(kind, what)
    return lambda name: names([name])


def texts(**kwargs: Any) -> fields.List[Any]:
    return fields.List(Text(), **kwargs)


def phase_field() -> fields.String:
    return fields.String(required=True, validate=one_of(PHASES, "phase"))


PRIORITY = one_of(PRIORITIES, "priority")


def priority_field(**kwargs: Any) -> fields.String:
    return fields.String(validate=PRIORITY, **kwargs)


def repeats_field() -> fields.String:
    """A release gate's `repeats` (`per-release`, `per-model-version`); absent: not a gate."""
    return fields.String(
        load_default=None, validate=one_of(values(Repeats), "repeats"), allow_none=False
    )


def raw_keys(entries: Any) -> Iterator[tuple[int, str]]:
    """(index, key) of the raw entries that have a string key."""
    for index, entry in enumerate(entries if isinstance(entries, list) else ()):
        key = entry.get("key") if isinstance(entry, dict) else None
        if isinstance(key, str):
            yield index, key


def key_errors(entries: Any, parent: str | None = None) -> dict[int, Any]:
    """Errors, by position, of the raw `entries` whose key repeats one before it or, under a
    `parent` entry, is not `<parent>.<slug>`."""
    errors: dict[int, Any] = {}
    seen: set[str] = set()
    for index, key in raw_keys(entries):
        if parent is not None and not re.fullmatch(rf"{re.escape(parent)}\.{SLUG}", key):
            errors[index] = {"key": [f"{key!r} must look like '{parent}.<slug>'"]}
        elif key in seen:
            errors[index] = {"key": [f"duplicate key {key!r}"]}
        seen.add(key)
    return errors


def defined(data: Any, article: str) -> dict[str, Any]:
    """The load's context for the raw catalog `data`: the `article`, the sound keys of each
    section, and the keys of the responsibilities and of every item (they are checked where
    they stand)."""
    raw = data if isinstance(data, dict) else {}
    roles: list[Any] = raw["roles"] if isinstance(raw.get("roles"), list) else []
    challenges: list[Any] = raw["challenges"] if isinstance(raw.get("challenges"), list) else []
    responsibilities = tuple(
        key
        for role in roles
        if isinstance(role, dict)
        for _, key in raw_keys(role.get("responsibilities"))
    )
    mitigations = tuple(
        key
        for challenge in challenges
        if isinstance(challenge, dict)
        for _, key in raw_keys(challenge.get("mitigations"))
    )
    return {
        "article": article,
        **{
            kind: tuple(
                dict.fromkeys(k for _, k in raw_keys(raw.get(kind)) if re.fullmatch(SLUG, k))
            )
            for kind in SECTIONS
        },
        "responsibilities": responsibilities,
        "mitigations": mitigations,
        # The keys of the catalog's items a policy may name: responsibilities, mitigations
        # and context items.
        "items": (
            *responsibilities,
            *mitigations,
            *(key for _, key in raw_keys(raw.get("context_items"))),
        ),
    }


def handover_errors(challenges: list[dict[str, Any]]) -> dict[int, Any]:
    """Errors, by challenge and mitigation position, of `replaces` and `fulfils`: an old key
    hands its item's state to one entry and is no longer a key of the catalog; a mitigation
    names a responsibility it fulfils once. Several mitigations may fulfil one responsibility
    (each in its own context): in a checklist the first of them that applies carries it."""
    current = set(context()["responsibilities"])
    current |= {m.key for c in challenges for m in c["mitigations"]}
    replaced: dict[str, str] = {}
    errors: dict[int, dict[str, Any]] = {}
    for c_index, challenge in enumerate(challenges):
        for m_index, mitigation in enumerate(challenge["mitigations"]):
            problems: dict[str, list[str]] = {}
            if len(set(mitigation.fulfils)) != len(mitigation.fulfils):
                problems.setdefault("fulfils", []).append("names a responsibility twice")
            for old in mitigation.replaces:
                if old in current:
                    problem = f"{old!r} is still a key of the catalog"
                elif old in replaced:
                    problem = f"{old!r} is replaced by {replaced[old]!r} already"
                else:
                    replaced[old] = mitigation.key
                    continue
                problems.setdefault("replaces", []).append(problem)
            if problems:
                errors.setdefault(c_index, {"mitigations": {}})["mitigations"][m_index] = problems
    return errors
