"""The three scenarios documented in docs/checklists.md, as preview request bodies."""

from __future__ import annotations

from typing import Any


def _person(role: str, name: str, email: str, **extra: Any) -> dict[str, Any]:
    return {"role": role, "person": {"name": name, "email": email}, **extra}


SCENARIOS: dict[str, dict[str, Any]] = {
    # A clinical assistant that drafts visit notes for doctors from patients' records, on a
    # third-party foundation model: healthcare implies personal data and a regulated domain.
    "clinical-assistant": {
        "project": {
            "name": "Clinical notes assistant",
            "application": "healthcare-solutions",
            "traits": {
                "handles_personal_data": True,
                "user_facing": True,
                "uses_third_party_models": True,
            },
            "intended_use": "Draft visit notes from the patient's record for the treating "
            "doctor to review and sign.",
            "prohibited_uses": ["Diagnosis or treatment decisions", "Notes sent unreviewed"],
            "affected_people": ["Patients", "Doctors"],
            "jurisdictions": ["EU"],
            "risk_tolerance": "Low: no note enters the record without the doctor's review.",
        },
        "assignments": [
            _person("data-scientist", "Ada Lovelace", "ada@example.com", lead=True),
            _person("machine-learning-engineer", "Alan Turing", "alan@example.com"),
            _person("ai-ethicist", "Grace Hopper", "grace@example.com"),
            _person("ux-designer", "Una Norman", "una@example.com"),
            _person("product-manager", "Pam Lee", "pam@example.com"),
            # The governance roles the clinic's context requires (ours, beyond the article).
            _person("privacy-officer", "Priya Shah", "priya@example.com"),
            _person("security-lead", "Sam Ortiz", "sam@example.com"),
            _person("domain-expert", "Cleo Park", "cleo@example.com"),
            _person("accountable-executive", "Erin Walsh", "erin@example.com"),
        ],
    },
    # Melodies for a game studio, with only a data scientist and an ML engineer.
    "music-composition": {
        "project": {"name": "Game soundtrack generator", "application": "music-composition"},
        "assignments": [
            _person("data-scientist", "Dana Scott", "dana@example.com", lead=True),
            _person("machine-learning-engineer", "Milo Chen", "milo@example.com"),
        ],
    },
    # A public blog writer, fully staffed, where Eve is both the ethicist and the curator.
    "content-creation": {
        "project": {
            "name": "Newsroom blog writer",
            "application": "content-creation",
            "traits": {"generates_public_content": True, "user_facing": True},
        },
        "assignments": [
            _person("data-scientist", "Ada Lovelace", "ada@example.com"),
            _person("machine-learning-engineer", "Alan Turing", "alan@example.com"),
            _person("ai-ethicist", "Eve Adams", "eve@example.com"),
            _person("content-curator", "Eve Adams", "eve@example.com"),
            _person("ux-designer", "Una Norman", "una@example.com"),
            _person("product-manager", "Pam Lee", "pam@example.com", lead=True),
        ],
    },
}
