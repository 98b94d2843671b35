"""The service's closed vocabularies, one `StrEnum` per concept.

Models (their CHECK constraints), schemas (their `enum`s in `/openapi.json` and their
validation), the checklist generator and the renderers all take their values from here, so a
value cannot exist in one place and be missing in another. A member is a `str`: it is stored,
compared and serialised as its value.
"""

from __future__ import annotations

from enum import StrEnum


class ItemKind(StrEnum):
    """What a checklist item is: a role's responsibility, a collaboration between two roles,
    the mitigation of a challenge, a finding about the staffing, or what the project's
    context asks (its risk classification, a prohibited use)."""

    RESPONSIBILITY = "responsibility"
    COLLABORATION = "collaboration"
    MITIGATION = "mitigation"
    STAFFING = "staffing"
    CONTEXT = "context"


class ItemStatus(StrEnum):
    """Where an item stands; `obsolete` is set by the generator only, when a regeneration no
    longer produces the item."""

    OPEN = "open"
    IN_PROGRESS = "in_progress"
    DONE = "done"
    WAIVED = "waived"
    OBSOLETE = "obsolete"


# The statuses a client may set: everything but `obsolete`.
SETTABLE_STATUSES: tuple[ItemStatus, ...] = tuple(s for s in ItemStatus if s != ItemStatus.OBSOLETE)


class Priority(StrEnum):
    """How urgent an item is, least urgent first (the order is the rank)."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


class Phase(StrEnum):
    """The NIST AI RMF lifecycle stages, in lifecycle order: every checklist item has one."""

    PLAN_AND_DESIGN = "plan-and-design"
    COLLECT_AND_PROCESS_DATA = "collect-and-process-data"
    BUILD_AND_USE_MODEL = "build-and-use-model"
    VERIFY_AND_VALIDATE = "verify-and-validate"
    DEPLOY_AND_USE = "deploy-and-use"
    OPERATE_AND_MONITOR = "operate-and-monitor"


class SourceKind(StrEnum):
    """Whose words an entry's text is: the article's (verbatim) or ours."""

    ARTICLE = "article"
    AUTHORED = "authored"


class FindingKind(StrEnum):
    """The staffing findings a checklist can carry."""

    UNFILLED_ROLE = "unfilled_role"
    SEPARATION_OF_DUTIES = "separation_of_duties"
    TOO_MANY_ROLES = "too_many_roles"
    OVER_ALLOCATED = "over_allocated"
    NO_LEAD = "no_lead"
    NO_REVIEWER = "no_reviewer"
    UNOWNED_ITEMS = "unowned_items"
    CONCENTRATION = "concentration"
    BUILDER_REVIEWS_OWN_WORK = "builder_reviews_own_work"


class WaiverApprover(StrEnum):
    """Who must approve a waiver, by the waiver policy of the item's priority."""

    # An independent approver when the item needs an independent sign-off, none otherwise.
    AS_THE_ITEM_NEEDS = "as-the-item-needs"
    # Always an independent approver: not an owner, holding a reviewer role of the item (an
    # accountable role when it has none).
    INDEPENDENT = "independent"
    # Always an independent approver holding an accountable role (the policy names them).
    ACCOUNTABLE_ROLE = "accountable-role"


class Repeats(StrEnum):
    """When a done gate is asked again: for every release (`per-release`: its `done_when`
    asks it of each release candidate), or when the release's model changes
    (`per-model-version`: it depends on the model's name, version or provider)."""

    PER_RELEASE = "per-release"
    PER_MODEL_VERSION = "per-model-version"


class ReleaseStatus(StrEnum):
    """Where a release of a project stands: `open` (its gates are being worked; one at a
    time), `shipped` (the go/no-go passed; final), or `superseded` (a newer release was
    opened before it shipped; final)."""

    OPEN = "open"
    SHIPPED = "shipped"
    SUPERSEDED = "superseded"


class ProjectStatus(StrEnum):
    ACTIVE = "active"
    ARCHIVED = "archived"


class CoverageState(StrEnum):
    """A cell of the dashboard's coverage grid: a role on an active project."""

    FILLED = "filled"
    UNFILLED_REQUIRED = "unfilled_required"
    OVER_ALLOCATED = "over_allocated"  # held, by someone allocated over 100% team-wide
    NOT_NEEDED = "not_needed"  # neither held nor required


class RiskClassification(StrEnum):
    """How the project classifies its own risk (the EU AI Act's tiers, as the team states
    them; `unclassified` until it does)."""

    UNCLASSIFIED = "unclassified"
    MINIMAL = "minimal"
    LIMITED = "limited"
    HIGH = "high"
    PROHIBITED = "prohibited"


class TicketSystem(StrEnum):
    """Where an item's ticket lives."""

    GITHUB = "github"
    JIRA = "jira"
    LINEAR = "linear"
    OTHER = "other"


class Provider(StrEnum):
    """The ticketing system an inbound integration hears from (`generic`: Standard Webhooks)."""

    GITHUB = "github"
    JIRA = "jira"
    LINEAR = "linear"
    GENERIC = "generic"


class Verification(StrEnum):
    """How an inbound delivery proves its sender: an HMAC of the body (every provider), or,
    for Jira setups that cannot sign, the secret itself as `?token=` in the URL."""

    SIGNATURE = "signature"
    TOKEN = "token"  # noqa: S105 - the name of a method, not a secret


class InboundOutcome(StrEnum):
    """What an inbound delivery did: applied (an item changed); unchanged (none did: already
    so, obsolete, or held for a sign-off or evidence, as each item says); ignored (an event or
    a state not acted on); no_item (a ticket linked to no item); ping (a provider's test)."""

    APPLIED = "applied"
    UNCHANGED = "unchanged"
    IGNORED = "ignored"
    NO_ITEM = "no_item"
    PING = "ping"


class DeliveryStatus(StrEnum):
    """A webhook delivery's state: due (`pending`, `retrying`) or final."""

    PENDING = "pending"
    RETRYING = "retrying"
    SUCCEEDED = "succeeded"
    DEAD = "dead"


class TicketSyncState(StrEnum):
    """Where an item's native ticket stands in its tracker: `pending` (to be created),
    `creating` (a create was sent; a crash may have lost its answer, so the next attempt
    searches for the ticket first), `synced` (the tracker holds what was last sent) or
    `retrying` (an update failed and waits for its next attempt)."""

    PENDING = "pending"
    CREATING = "creating"
    SYNCED = "synced"
    RETRYING = "retrying"


class Format(StrEnum):
    """The formats a checklist is served in (`?format=`)."""

    JSON = "json"
    MARKDOWN = "markdown"
    CSV = "csv"
    TEXT = "text"
    HTML = "html"


class Grouping(StrEnum):
    """How Markdown, text and HTML group a checklist's items (`?group_by=`)."""

    PHASE = "phase"
    KIND = "kind"
    ROLE = "role"
    PERSON = "person"


def values(enum: type[StrEnum]) -> tuple[str, ...]:
    """The plain string values of `enum`, in definition order."""
    return tuple(member.value for member in enum)


class ModelSource(StrEnum):
    """Where a project's model comes from (its `model_source` trait): a model a third party
    hosts and the project calls as it is, a model the project fine-tunes, or one it trains
    itself. Work that assumes training is asked only of the last two."""

    HOSTED_THIRD_PARTY = "hosted-third-party"
    FINE_TUNED = "fine-tuned"
    TRAINED_IN_HOUSE = "trained-in-house"


# The boolean traits a project states (true, false or unstated): catalog conditions name them.
TRAITS: tuple[str, ...] = (
    "handles_personal_data",
    "user_facing",
    "generates_public_content",
    "regulated_domain",
    "uses_third_party_models",
    "generates_code",
    "reads_untrusted_content",
    "states_facts",
    "affects_decisions_about_people",
    "synthetic_media",
    "minors_may_use",
    "general_purpose_assistant",
    "advertises",
)
# Every trait a project states: the boolean ones and `model_source` (a `ModelSource` or unstated).
TRAIT_FIELDS: tuple[str, ...] = (*TRAITS, "model_source")
# The model sources that train or fine-tune: items that assume training apply to them.
TRAINING_SOURCES: frozenset[str] = frozenset({ModelSource.FINE_TUNED, ModelSource.TRAINED_IN_HOUSE})
# The model sources that build on a third party's model: `uses_third_party_models` follows.
THIRD_PARTY_SOURCES: frozenset[str] = frozenset(
    {ModelSource.HOSTED_THIRD_PARTY, ModelSource.FINE_TUNED}
)
PRIORITIES: tuple[str, ...] = values(Priority)
# The NIST AI RMF lifecycle stages, in lifecycle order: every checklist item has one.
PHASES: tuple[str, ...] = values(Phase)

# The twelve risks of NIST AI 600-1 (the Generative AI Profile, July 2024, section 2), named
# as the profile names them; a mitigation's `genai_risks` are taken from this list.
GENAI_RISKS: tuple[str, ...] = (
    "CBRN Information or Capabilities",
    "Confabulation",
    "Dangerous, Violent, or Hateful Content",
    "Data Privacy",
    "Environmental Impacts",
    "Harmful Bias and Homogenization",
    "Human-AI Configuration",
    "Information Integrity",
    "Information Security",
    "Intellectual Property",
    "Obscene, Degrading, and/or Abusive Content",
    "Value Chain and Component Integration",
)


class RegisterStatus(StrEnum):
    """Where a checklist stands on one NIST AI 600-1 risk (its risk register): items address it
    (`addressed`); the catalog's rule says it does not apply to the project (`not-applicable`);
    every item that addresses it is waived, its residual risk accepted (`accepted`); or it
    applies and no item addresses it (`gap`: a finding, never silently addressed)."""

    ADDRESSED = "addressed"
    NOT_APPLICABLE = "not-applicable"
    ACCEPTED = "accepted"
    GAP = "gap"


def genai_risk_section(risk: str) -> str:
    """The subsection of NIST AI 600-1 that names `risk` (`2.1` to `2.12`, in `GENAI_RISKS`'s
    order, which is the profile's)."""
    return f"2.{GENAI_RISKS.index(risk) + 1}"
