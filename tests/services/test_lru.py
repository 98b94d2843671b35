"""The one in-memory cache: bounded, least recently used out first, expiring, thread-safe."""

from __future__ import annotations

import threading

import pytest

from app.services import lru
from app.services.lru import LRUCache


def test_a_full_cache_drops_the_least_recently_read_or_put():
    cache: LRUCache[str, int] = LRUCache(3)
    for n, key in enumerate("abc"):
        cache.put(key, n)
    assert cache.get("a") == 0  # a is now the most recently used
    cache.put("d", 3)

    assert list(cache) == ["c", "a", "d"]
    assert cache.get("b") is None
    assert len(cache) == 3


def test_discard_forgets_a_key_and_clear_forgets_them_all():
    cache: LRUCache[str, int] = LRUCache(2)
    cache.put("a", 1)
    cache.put("b", 2)

    cache.discard("a")
    cache.discard("a")

    assert list(cache) == ["b"]
    cache.clear()
    assert len(cache) == 0


def test_with_a_ttl_a_value_is_forgotten_that_long_after_it_was_put(monkeypatch):
    now = [100.0]
    monkeypatch.setattr(lru.time, "monotonic", lambda: now[0])
    cache: LRUCache[str, str] = LRUCache(10, ttl=5)
    cache.put("a", "x")
    now[0] = 104.0
    assert cache.get("a") == "x"  # a read keeps the expiry of the put

    now[0] = 105.0
    assert cache.get("a") is None
    assert len(cache) == 0


@pytest.mark.parametrize("size", [1, 8])
def test_threads_sharing_it_never_grow_it_past_its_size(size):
    cache: LRUCache[int, int] = LRUCache(size)
    start = threading.Barrier(4)

    def work(offset: int) -> None:
        start.wait()
        for n in range(2000):
            cache.put(offset + n % 50, n)
            cache.get(offset + (n * 7) % 50)
            cache.discard(offset + n % 3)

    threads = [threading.Thread(target=work, args=(i * 1000,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(cache) == size
    assert len(set(cache)) == size
