"""The scenarios documented in docs/checklists.md, as preview request bodies: the three
read-throughs, and the four projects a governance lead read (issue 19): the clinic, music on a
hosted model, marketing with a small team, and a code assistant that reads repositories."""

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
    # Melodies for a public app, on a hosted model, without an ethicist: user-facing, and what
    # users make is published.
    "music-hosted": {
        "project": {
            "name": "Melody sketchpad",
            "application": "music-composition",
            "traits": {
                "user_facing": True,
                "generates_public_content": True,
                "model_source": "hosted-third-party",
            },
            "intended_use": "Let musicians sketch melodies from a prompt and publish them.",
            "jurisdictions": ["US"],
            "risk_classification": "minimal",
        },
        "assignments": [
            _person("data-scientist", "Dana Scott", "dana@example.com", lead=True),
            _person("machine-learning-engineer", "Milo Chen", "milo@example.com"),
            _person("ux-designer", "Una Norman", "una@example.com"),
            _person("content-curator", "Cal Reyes", "cal@example.com"),
            _person("product-manager", "Pam Lee", "pam@example.com"),
            _person("security-lead", "Sam Ortiz", "sam@example.com"),
        ],
    },
    # Campaign copy with a small team: one person holds three roles (110 %), another is both
    # the ethicist and the product manager.
    "marketing-small-team": {
        "project": {
            "name": "Campaign copy writer",
            "application": "content-creation",
            "traits": {
                "generates_public_content": True,
                "states_facts": True,
                "advertises": True,
                "model_source": "hosted-third-party",
            },
            "intended_use": "Draft ad and email copy about our products for the marketing team "
            "to edit and publish.",
            "prohibited_uses": ["Claims about competitors", "Health claims"],
            "jurisdictions": ["US"],
            "risk_classification": "minimal",
        },
        "assignments": [
            _person("data-scientist", "Ana Ruiz", "ana@example.com", allocation=40, lead=True),
            _person("machine-learning-engineer", "Ana Ruiz", "ana@example.com", allocation=40),
            _person("content-curator", "Ana Ruiz", "ana@example.com", allocation=30),
            _person("ai-ethicist", "Ben Okoro", "ben@example.com", allocation=50),
            _person("product-manager", "Ben Okoro", "ben@example.com", allocation=50),
        ],
    },
    # An internal assistant that suggests code from the team's repositories, on a hosted model.
    "code-assistant": {
        "project": {
            "name": "Internal code assistant",
            "application": "other",
            "traits": {
                "user_facing": False,
                "handles_personal_data": False,
                "generates_code": True,
                "reads_untrusted_content": True,
                "model_source": "hosted-third-party",
            },
            "intended_use": "Suggest code and reviews to the company's developers from its "
            "own repositories.",
            "affected_people": ["Developers"],
            "risk_classification": "minimal",
        },
        "assignments": [
            _person("machine-learning-engineer", "Dev Patel", "dev@example.com", lead=True),
            _person("data-scientist", "Rosa Diaz", "rosa@example.com"),
            _person("security-lead", "Sam Ortiz", "sam@example.com"),
            _person("product-manager", "Pam Lee", "pam@example.com"),
        ],
    },
}

# The four projects of the governance lead's reading (issue 19), in its order.
FOUR_PROJECTS = ("clinical-assistant", "music-hosted", "marketing-small-team", "code-assistant")
