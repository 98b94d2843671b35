"""Secret rotation: after `rotate-secret` a delivery carries two signatures, one per secret,
and the reference library verifies it with the old secret and with the new one, so a receiver
can switch without missing a message; after a second rotation the first secret signs no more."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from standardwebhooks.webhooks import Webhook

from .support import parse_time, signatures, verifies, verify

# A secret nobody was given: it must never verify.
STRANGER = "whsec_" + "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWY="


def test_a_rotated_secret_signs_beside_the_previous_one(database, receivers, workers):
    api = database.api()
    receiver = receivers("rotation")
    endpoint = api.create_endpoint(receiver.route("/hooks/rotation"), ["person.created"])
    first_secret = endpoint["secret"]

    api.create_person()
    assert workers.once(database) == 1
    [before] = receiver.received()
    verify(before, first_secret)
    assert len(signatures(before)) == 1

    rotated = api.post(f"/v1/webhooks/{endpoint['id']}/rotate-secret", expect=200).json
    second_secret = rotated["secret"]
    assert second_secret.startswith("whsec_") and second_secret != first_secret
    grace_ends = parse_time(rotated["previous_secret_expires_at"])
    expected_end = datetime.now(UTC) + timedelta(hours=24)
    assert abs((grace_ends - expected_end).total_seconds()) < 120
    assert "secret" not in api.endpoint(endpoint["id"])

    person = api.create_person()
    assert workers.once(database) == 1
    during = receiver.received()[1]
    assert len(signatures(during)) == 2
    assert all(s.startswith("v1,") for s in signatures(during))
    # Either secret verifies the same message, with the reference library.
    old_view = verify(during, first_secret)
    new_view = verify(during, second_secret)
    assert old_view == new_view
    assert new_view["data"]["person"]["id"] == person["id"]
    assert not verifies(during, STRANGER)
    # Each signature is one secret's: neither verifies alone with the other secret.
    first_signature, second_signature = signatures(during)
    for alone in (first_signature, second_signature):
        headers = {**during.headers, "webhook-signature": alone}
        passed = [
            secret
            for secret in (first_secret, second_secret)
            if _verifies_headers(during.body, headers, secret)
        ]
        assert len(passed) == 1, (alone, passed)

    # A second rotation: the first secret is the previous one's previous, and signs no more.
    third_secret = api.post(f"/v1/webhooks/{endpoint['id']}/rotate-secret", expect=200).json[
        "secret"
    ]
    api.create_person()
    assert workers.once(database) == 1
    after = receiver.received()[2]
    assert len(signatures(after)) == 2
    verify(after, second_secret)
    verify(after, third_secret)
    assert not verifies(after, first_secret)


def _verifies_headers(body: bytes, headers: dict[str, str], secret: str) -> bool:
    try:
        Webhook(secret).verify(body, headers)
    except Exception:
        return False
    return True
