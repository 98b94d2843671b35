"""The walk-throughs of README.md and docs/*.md run as written, so that a doc that drifts fails.

A shell block is runnable when the line before its fence is `<!-- runnable -->` (invisible on
GitHub). The test copies the repository as a fresh clone would have it, runs the README's run
command there (`.venv/bin/flask dev`, the venv being this one), and runs each file's runnable
blocks in order, in one `bash` with `set -euo pipefail`, from the clone's root, with `API` and
`KEY` exported from the line `flask dev` prints; what a block starts in the background (`&`)
is stopped when its file ends. The ports the docs name (8000, 9000, …) become free ones, each
the same in every file. `jq`, which the run command does not install, is absent. Each file
runs against the same instance, after the README, and relies on nothing another file of docs/
did. A failure names the doc line of the command that failed.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext, suppress
from dataclasses import dataclass
from pathlib import Path

import pytest
from databases import fresh_postgres_database
from examples.support import answers, free_port, wait_until

ROOT = Path(__file__).resolve().parents[2]
FILES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
MARKER = "<!-- runnable -->"
FENCE = re.compile(r"^```(?P<lang>\S*)")
PORT = re.compile(r"(?<=127\.0\.0\.1:)\d{4,5}\b|(?<=--port )\d{4,5}\b")
PLACEHOLDER = re.compile(r"…|_\.\.\.|=\.\.\.")
SCRIPT_TIMEOUT = 120

# What the test runs: (file, heading of the section) of every runnable block. A block marked
# or unmarked by mistake changes this list, and the test says so.
WALKTHROUGHS = [
    ("README.md", "A tour with curl"),
    ("README.md", "A checklist in one command, nothing registered"),
    ("README.md", "Register, staff, generate, work it, and watch it follow"),
    ("README.md", "The directory, projects and staffing"),
    ("README.md", "Webhooks: the checklist in your ticketing system"),
    ("README.md", "Tickets close the loop: GitHub, Jira and Linear move the items"),
    ("docs/checklists.md", "Preview"),
    ("docs/governance.md", "The clinic, from registration to a shipped release"),
    ("docs/operations.md", "Erasure"),
    ("docs/operations.md", "Retention"),
    ("docs/operations.md", "Export and import"),
    ("docs/operations.md", "Backup and restore"),
    ("docs/releases.md", "A release, step by step"),
    ("docs/ticketing.md", "Integrations"),
    ("docs/ticketing.md", "What a delivery does"),
    ("docs/ticketing.md", "GitHub"),
    ("docs/ticketing.md", "Jira"),
    ("docs/ticketing.md", "Linear"),
    ("docs/ticketing.md", "Generic (Standard Webhooks)"),
    ("docs/ticketing.md", "The ticket bridge"),
    ("docs/views.md", "The checklist page"),
    ("docs/views.md", "The dashboard"),
    ("docs/webhooks.md", "Try it in five minutes"),
]


@dataclass(frozen=True)
class Block:
    path: Path
    line: int  # of the first line inside the fence
    heading: str
    text: str

    @property
    def where(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"


def runnable_blocks(path: Path) -> list[Block]:
    """The marked blocks of one file, in order; a marker must sit right above a sh fence."""
    lines = path.read_text().splitlines()
    blocks: list[Block] = []
    heading = ""
    in_fence = False
    for number, line in enumerate(lines):
        fence = FENCE.match(line)
        if fence:
            in_fence = not in_fence
        elif not in_fence and line.startswith("#"):
            heading = line.lstrip("#").strip()
        if line.strip() != MARKER or in_fence:
            continue
        opening = FENCE.match(lines[number + 1]) if number + 1 < len(lines) else None
        where = f"{path.relative_to(ROOT)}:{number + 1}"
        assert opening is not None, f"{where}: a runnable marker must sit right above a fence"
        assert opening["lang"] in ("sh", "bash"), f"{where}: only sh blocks are runnable"
        end = next(i for i in range(number + 2, len(lines)) if lines[i].startswith("```"))
        blocks.append(
            Block(
                path=path,
                line=number + 3,
                heading=heading,
                text="\n".join(lines[number + 2 : end]),
            )
        )
    return blocks


def test_the_marked_walkthroughs_are_the_listed_ones_and_need_nothing_the_run_command_lacks():
    found = []
    for path in FILES:
        for block in runnable_blocks(path):
            found.append((str(path.relative_to(ROOT)), block.heading))
            # A placeholder a copy-paster would have to fill in is not runnable (comments may
            # say `…`); jq, which the run command does not install, fails when run.
            code = [line.split(" # ")[0] for line in block.text.splitlines()]
            placeholders = [
                c for c in code if not c.lstrip().startswith("#") and PLACEHOLDER.search(c)
            ]
            assert not placeholders, f"{block.where}: placeholders in {placeholders}"
    assert sorted(set(found)) == sorted(WALKTHROUGHS)


# ------------------------------------------------------------------ the served instance


@dataclass
class Instance:
    clone: Path
    api: str
    key: str
    logs: Path
    # What the reader started `flask dev` with, and so has in their shell: DATABASE_URL on
    # PostgreSQL (for the commands a walk-through runs beside it, `flask backup`).
    database_url: str | None = None


@contextmanager
def fresh_clone_served(tmp: Path, database_url: str | None) -> Iterator[Instance]:
    """The repository's files as a clone has them, this venv as its `.venv`, and `.venv/bin/
    flask dev` serving it on a free port (its default SQLite file, or `database_url`)."""
    clone = tmp / "clone"
    shutil.copytree(
        ROOT,
        clone,
        ignore=shutil.ignore_patterns(
            ".git", ".venv", "instance", "__pycache__", "*.egg-info", ".*_cache", ".schemathesis"
        ),
    )
    (clone / ".venv").symlink_to(Path(sys.prefix), target_is_directory=True)
    logs = tmp / "logs"
    logs.mkdir()
    port = free_port()
    env = walkthrough_env(tmp)
    if database_url:
        env["DATABASE_URL"] = database_url
    output = logs / "flask-dev.log"
    with output.open("wb") as out:
        server = subprocess.Popen(  # noqa: S603 - the README's run command
            [str(clone / ".venv" / "bin" / "flask"), "dev", "--port", str(port)],
            cwd=clone,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its gunicorn and worker are stopped with it
        )
    api = f"http://127.0.0.1:{port}"

    def ready() -> bool:
        assert server.poll() is None, f"flask dev ended:\n{output.read_text()[-6000:]}"
        return answers(f"{api}/readyz")

    try:
        try:
            wait_until("flask dev", ready, 90)
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n{output.read_text()[-6000:]}") from None
        printed = re.search(r"export API=(\S+) KEY=(\S+)", output.read_text())
        assert printed is not None, output.read_text()
        assert printed[1] == api
        yield Instance(clone=clone, api=api, key=printed[2], logs=logs, database_url=database_url)
    finally:
        stop_group(server)


def stop_group(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
    # Whatever it started and left behind goes too (the group is its own).
    with suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)


def walkthrough_env(tmp: Path) -> dict[str, str]:
    """A reader's shell: nothing of the test run's settings, no venv on PATH, and a `jq` that
    says it is not installed."""
    no_jq = tmp / "no-jq"
    no_jq.mkdir(exist_ok=True)
    stub = no_jq / "jq"
    stub.write_text("#!/bin/sh\necho 'jq: not installed by the run command' >&2\nexit 127\n")
    stub.chmod(0o755)
    venv_bin = str(Path(sys.prefix) / "bin")
    path = [p for p in os.environ.get("PATH", "").split(os.pathsep) if p and p != venv_bin]
    keep = ("HOME", "LANG", "LC_ALL", "TMPDIR", "USER", "TERM")
    env = {name: os.environ[name] for name in keep if name in os.environ}
    env["PATH"] = os.pathsep.join([str(no_jq), *path])
    return env


# ------------------------------------------------------------------ the walk-throughs


def script_of(blocks: list[Block], instance: Instance, ports: dict[str, str]) -> tuple[str, list]:
    """One bash script for one file's blocks; and, per script line, the doc line it came from."""
    lines: list[str] = []
    origin: list[str] = []

    def emit(text: str, where: str) -> None:
        for line in text.splitlines():
            lines.append(line)
            origin.append(where)

    emit(
        f"""set -euo pipefail
trap 'echo "!!! exit $? at script line $LINENO" >&2' ERR
export API={instance.api} KEY={instance.key}""",
        "(setup)",
    )
    for block in blocks:
        text = PORT.sub(lambda m: ports.setdefault(m[0], str(free_port())), block.text)
        emit(f"echo '### {block.where}'", block.where)
        for offset, line in enumerate(text.splitlines()):
            emit(line, f"{block.path.relative_to(ROOT)}:{block.line + offset}")
    return "\n".join(lines) + "\n", origin


def run_file(path: Path, instance: Instance, tmp: Path, ports: dict[str, str]) -> None:
    """Run one file's blocks; `ports` maps the docs' ports to the ones used, file after file."""
    blocks = runnable_blocks(path)
    if not blocks:
        return
    script, origin = script_of(blocks, instance, ports)
    name = path.relative_to(ROOT)
    output = instance.logs / f"{path.stem}.out"
    with output.open("wb") as out:
        process = subprocess.Popen(  # noqa: S603 - bash and our script
            ["bash", "-c", script],  # noqa: S607 - the reader's bash, found on PATH
            cwd=instance.clone,
            env={
                **walkthrough_env(tmp),
                **({"DATABASE_URL": instance.database_url} if instance.database_url else {}),
            },
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # the servers it starts in the background end with it
        )
    try:
        code = process.wait(timeout=SCRIPT_TIMEOUT)
    except subprocess.TimeoutExpired:
        code = None
    finally:
        stop_group(process)
    if code == 0:
        return
    text = output.read_text()
    failed = re.findall(r"!!! exit \d+ at script line (\d+)", text)
    if failed and int(failed[-1]) <= len(origin):
        where = origin[int(failed[-1]) - 1]
    else:  # killed: the block it was in
        started = re.findall(r"^### (\S+)$", text, re.MULTILINE)
        where = f"the block at {started[-1]}" if started else "its start"
    pytest.fail(
        f"{name}: the walk-through failed at {where}"
        f"{f' (timed out after {SCRIPT_TIMEOUT} s)' if code is None else ''}"
        f"\n--- its output, last lines\n{text[-5000:]}",
        pytrace=False,
    )


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest) -> Iterator[str | None]:
    """None: flask dev's own SQLite file in the clone's instance/; or a fresh PostgreSQL."""
    with nullcontext(None) if request.param == "sqlite" else fresh_postgres_database() as url:
        yield url


def test_every_walkthrough_runs_as_written_after_the_run_command(database_url, tmp_path):
    with fresh_clone_served(tmp_path, database_url) as instance:
        # The docs' own port is the instance's; each other one a free port.
        ports = {"8000": instance.api.rsplit(":", 1)[1]}
        try:
            for path in FILES:
                run_file(path, instance, tmp_path, ports)
        except BaseException:
            print((instance.logs / "flask-dev.log").read_text()[-6000:])
            raise
