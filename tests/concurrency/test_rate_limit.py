"""Race 7: a storm of requests of one API key, from 8 threads, over several routes and every
spelling of the Bearer header, against gunicorn with 4 workers counting in Redis.

The contract: one budget per API key across all /v1 routes, however the header is spelt; past
it, 429 with Retry-After; another key has a budget of its own.
"""

from __future__ import annotations

from collections import Counter

from .harness import Answer, Client, Server, run_together

LIMIT = 5  # RATE_LIMIT of the rate_limited_server fixture: 5 per minute
STORM = 60
THREADS = 8
ROUTES = ("/v1/people", "/v1/projects", "/v1/catalog", "/v1/events")
SPELLINGS = ("Bearer {}", "bearer {}", "BEARER {}", "Bearer  {}", "Bearer {} ")


def _check_429(answer: Answer) -> str | None:
    if answer.status != 429:
        return None
    retry_after = answer.header("Retry-After") or ""
    if not retry_after.isdigit() or int(retry_after) <= 0:
        return f"429 without a positive Retry-After: {answer.headers}"
    if not (answer.header("Content-Type") or "").startswith("application/problem+json"):
        return f"429 is not problem+json: {answer.headers}"
    return None


def test_7_one_budget_per_key_across_routes_and_header_spellings(
    rate_limited_server: Server, race
) -> None:
    figures = race("race 7 rate limit", f"{STORM} requests of one key, limit {LIMIT}/minute")
    token = rate_limited_server.tokens["first"]
    plan = [
        (ROUTES[n % len(ROUTES)], SPELLINGS[n % len(SPELLINGS)].format(token)) for n in range(STORM)
    ]

    def send(share: list[tuple[str, str]]):
        return lambda c: [(route, auth, c.get(route, authorization=auth)) for route, auth in share]

    results = run_together(
        [send(plan[t::THREADS]) for t in range(THREADS)],
        lambda: Client(rate_limited_server.base_url, None, figures),
    )
    sent = [one for per_thread in results for one in per_thread]
    first = Counter(answer.status for _, _, answer in sent)
    figures.set("key 1: 200", first[200])
    figures.set("key 1: 429", first[429])
    by_spelling = Counter(
        repr(auth.replace(token, "K")) for _, auth, answer in sent if answer.status == 200
    )
    by_route = Counter(route for route, _, answer in sent if answer.status == 200)
    figures.note(f"key 1 successes by spelling: {dict(by_spelling)}")
    figures.note(f"key 1 successes by route: {dict(by_route)}")
    bad_429 = [problem for _, _, answer in sent if (problem := _check_429(answer))]

    # Another key, its own budget: still LIMIT requests, whatever the first one did.
    with Client(rate_limited_server.base_url, rate_limited_server.tokens["second"], figures) as c:
        second_answers = [c.get(ROUTES[n % len(ROUTES)]) for n in range(LIMIT + 3)]
    second = Counter(answer.status for answer in second_answers)
    figures.set("key 2: 200", second[200])
    figures.set("key 2: 429", second[429])
    bad_429 += [problem for answer in second_answers if (problem := _check_429(answer))]

    figures.assert_no_server_errors()
    assert first == {200: LIMIT, 429: STORM - LIMIT}, (
        f"one key, {STORM} requests, limit {LIMIT}: {dict(first)}; successes by spelling "
        f"{dict(by_spelling)}, by route {dict(by_route)}"
    )
    assert second == {200: LIMIT, 429: 3}, f"the second key: {dict(second)}"
    assert not bad_429, bad_429[:3]
