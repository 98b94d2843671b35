"""Benchmark: the webhook sender alone (`WebhookSender.send` and signing), no database.

Run from the repository root:

    .venv/bin/python bench/webhook_sender_bench.py [--sends 4000] [--threads 1,8] [--runs 3]
                                                   [--profile] [--receiver-delay-ms 0]

Each run sends `--sends` signed POSTs, as `DeliveryWorker.send` makes them (`webhook-*`
headers, the signature computed per attempt), through one `WebhookSender` built as the worker
builds it, to one endpoint at `bench/webhook_bench.py`'s receiver (an asyncio HTTP/1.1
keep-alive server in a process of its own, answering 204); the sends are split over N
threads. It prints, per thread count, each run's requests/s and this process's CPU per send
(the receiver's CPU is not counted), then the best run: on a shared machine other processes
only ever slow a run down, so the best of a few is the closest to what the code costs.
`--profile` adds a cProfile of `--sends` attempts made in the main thread (cumulative time,
top entries).

Takes 10 to 30 seconds with the defaults. The body is a 3,110-byte JSON document, the size of
a real `checklist.item.status_changed` delivery (`webhook_bench.py` posts a real one).
"""

from __future__ import annotations

import argparse
import cProfile
import dataclasses
import json
import pstats
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
for path in (ROOT, ROOT / "bench"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from webhook_bench import Receiver, machine, webhook_sender  # noqa: E402  (bench/ is not a package)

BODY_BYTES = 3110


def sample_body(size: int = BODY_BYTES) -> bytes:
    """A JSON body shaped like a status-change delivery, padded to `size` bytes."""
    document = {
        "type": "checklist.item.status_changed",
        "timestamp": "2025-01-01T00:00:00Z",
        "data": {
            "project": {"id": "prj_0123456789abcdef", "key": "bench"},
            "item": {
                "id": "itm_0123456789abcdef",
                "key": "data-scientist.collect-and-preprocess-data",
                "status": "in_progress",
                "previous_status": "todo",
                "notes": "",
            },
        },
    }
    padding = size - len(json.dumps(document, separators=(",", ":")).encode())
    document["data"]["item"]["notes"] = "x" * max(padding, 0)
    return json.dumps(document, separators=(",", ":")).encode()


def make_send(receiver: Receiver, body: bytes) -> Callable[[], str | None]:
    """One signed attempt through a sender built like the worker's; an error, or None."""
    from app.config import Settings

    return webhook_sender(receiver, body, Settings.from_env())()


@dataclasses.dataclass
class Run:
    rate: float  # sends per second
    cpu_us: float  # this process's CPU time per send, in microseconds
    failures: int
    error: str | None


def run(send: Callable[[], str | None], sends: int, threads: int) -> Run:
    """`sends` attempts over `threads` threads, all started at once."""
    shares = [sends // threads + (i < sends % threads) for i in range(threads)]
    errors: list[str] = []
    start = threading.Barrier(threads + 1)

    def loop(count: int) -> None:
        start.wait()
        for _ in range(count):
            error = send()
            if error:
                errors.append(error)

    running = [threading.Thread(target=loop, args=(n,)) for n in shares]
    for thread in running:
        thread.start()
    cpu = time.process_time()
    start.wait()
    began = time.perf_counter()
    for thread in running:
        thread.join()
    elapsed = time.perf_counter() - began
    cpu = time.process_time() - cpu
    return Run(
        rate=(sends - len(errors)) / elapsed,
        cpu_us=cpu / sends * 1e6,
        failures=len(errors),
        error=errors[0] if errors else None,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sends", type=int, default=4000, help="attempts per run (4000)")
    parser.add_argument("--threads", default="1,8", help="thread counts to run (1,8)")
    parser.add_argument("--runs", type=int, default=3, help="runs per thread count (3)")
    parser.add_argument("--profile", action="store_true", help="cProfile --sends attempts")
    parser.add_argument("--top", type=int, default=30, help="profile entries shown (30)")
    parser.add_argument(
        "--receiver-delay-ms",
        type=float,
        default=0.0,
        help="the receiver answers each POST this long after it arrives (0)",
    )
    args = parser.parse_args()

    receiver = Receiver(args.receiver_delay_ms)
    try:
        body = sample_body()
        send = make_send(receiver, body)
        for _ in range(200):  # warm up: connections, caches
            send()
        print(f"machine: {machine()}")
        print(
            f"{len(body):,}-byte body to {receiver.url} (answering after "
            f"{args.receiver_delay_ms:g} ms), {args.sends:,} sends a run\n"
        )
        for threads in [int(n) for n in args.threads.split(",") if n.strip()]:
            runs = [run(send, args.sends, threads) for _ in range(args.runs)]
            for index, result in enumerate(runs, 1):
                failed = f", {result.failures} failed: {result.error}" if result.failures else ""
                print(
                    f"  {threads} thread(s), run {index}: {result.rate:8,.0f} req/s  "
                    f"{result.cpu_us:5.0f} µs CPU per send{failed}"
                )
            best = max(runs, key=lambda r: r.rate)
            print(
                f"{threads} thread(s), best of {len(runs)}: {best.rate:,.0f} req/s, "
                f"{min(r.cpu_us for r in runs):.0f} µs CPU per send (least)\n"
            )
        print(f"connections opened: {int(receiver.stats()['connections'])}")
        if args.profile:
            profile = cProfile.Profile()  # of this thread only: the sends are made in it
            profile.enable()
            for _ in range(args.sends):
                send()
            profile.disable()
            pstats.Stats(profile).sort_stats("cumulative").print_stats(args.top)
    finally:
        receiver.close()


if __name__ == "__main__":
    main()
