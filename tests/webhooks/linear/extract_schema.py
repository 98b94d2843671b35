"""Take the part of Linear's GraphQL schema native tickets use, into `schema.graphql` beside this
file, from the schema Linear publishes with its SDK.

Linear's npm package `@linear/sdk` carries its whole public GraphQL schema as the TypeScript
types graphql-codegen generated from it (`dist/index-*.d.mts`: one `type` per object and input
type, `Maybe<>` for a nullable field, `<Type><Field>Args` for a field's arguments, a
`declare enum` per enum); the package has no `.graphql` file. This script reads those types
back into SDL: the root fields below with their arguments, every input type and enum they
reach (whole), and of the object types the fields listed in `OBJECTS`. To extract it again,
or from a newer release:

    npm pack @linear/sdk@98.0.0 && tar xzf linear-sdk-98.0.0.tgz
    .venv/bin/python tests/webhooks/linear/extract_schema.py package/dist/index-*.d.mts

The stand-in (`standin.py`) builds the schema with graphql-core, validates every query against
it and answers by executing it.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUTPUT = HERE / "schema.graphql"

ROOTS = {
    "Query": ["issues", "issueLabels", "workflowStates"],
    "Mutation": ["issueCreate", "issueUpdate"],
}
# Object types and the fields of each kept (their types must be kept too).
OBJECTS = {
    "Issue": [
        "id",
        "identifier",
        "title",
        "description",
        "url",
        "createdAt",
        "updatedAt",
        "state",
        "assignee",
    ],
    "IssueConnection": ["nodes", "pageInfo"],
    "IssuePayload": ["success", "lastSyncId", "issue"],
    "IssueLabel": ["id", "name"],
    "IssueLabelConnection": ["nodes", "pageInfo"],
    "WorkflowState": ["id", "name", "type", "position"],
    "WorkflowStateConnection": ["nodes", "pageInfo"],
    "PageInfo": ["hasNextPage", "endCursor", "hasPreviousPage", "startCursor"],
    "User": ["id", "name"],
}
BUILT_IN = {"ID", "String", "Boolean", "Int", "Float"}

_COMMENT = re.compile(r"/\*\*.*?\*/", re.S)
_TYPE = re.compile(r"^type (\w+) = (?:[\w ]+ & )*\{\n(.*?)^\};", re.S | re.M)
_ENUM = re.compile(r"^declare enum (\w+) \{\n(.*?)^\}", re.S | re.M)
_FIELD = re.compile(r"^\s*(\w+)(\??): (.+);$")
_ENUM_VALUE = re.compile(r'^\s*\w+ = "(\w+)",?$')


class TsSchema:
    def __init__(self, source: str) -> None:
        source = _COMMENT.sub("", source)
        self.types: dict[str, dict[str, tuple[bool, str]]] = {}
        for name, body in _TYPE.findall(source):
            fields = {}
            for line in body.splitlines():
                found = _FIELD.match(line)
                if found and found[1] != "__typename":
                    fields[found[1]] = (found[2] == "?", found[3].strip())
            self.types[name] = fields
        self.enums = {
            name: [m[1] for line in body.splitlines() if (m := _ENUM_VALUE.match(line))]
            for name, body in _ENUM.findall(source)
        }

    def graphql_type(self, ts: str) -> tuple[str, set[str]]:
        """The GraphQL type a field's TypeScript type is, and the named types it uses."""
        nullable = False
        for wrapper in ("InputMaybe<", "Maybe<"):
            if ts.startswith(wrapper) and ts.endswith(">"):
                ts, nullable = ts[len(wrapper) : -1], True
                break
        if ts.startswith("Array<") and ts.endswith(">"):
            inner, named = self.graphql_type(ts[len("Array<") : -1])
            written = f"[{inner}]"
        else:
            scalar = re.fullmatch(r'Scalars\["(\w+)"\](?:\["(?:input|output)"\])?', ts)
            name = scalar[1] if scalar else ts
            if not re.fullmatch(r"\w+", name):
                raise ValueError(f"not a type the extractor reads: {ts}")
            written, named = name, {name}
        return (written if nullable else f"{written}!"), named


def _arguments(ts: TsSchema, owner: str, field: str, todo: set[str]) -> str:
    args = ts.types.get(f"{owner}{field[0].upper()}{field[1:]}Args")
    if not args:
        return ""
    written = []
    for name, (_optional, kind) in sorted(args.items()):
        graphql, named = ts.graphql_type(kind)
        todo |= named
        written.append(f"{name}: {graphql}")
    return f"({', '.join(written)})"


def extract(ts: TsSchema) -> str:
    blocks: list[str] = []
    inputs: set[str] = set()
    seen_objects: set[str] = set()
    for root, fields in ROOTS.items():
        lines = []
        for field in fields:
            args = _arguments(ts, root, field, inputs)
            graphql, named = ts.graphql_type(ts.types[root][field][1])
            missing = named - set(OBJECTS) - BUILT_IN
            if missing:
                raise ValueError(f"{root}.{field} returns {missing}: add it to OBJECTS")
            lines.append(f"  {field}{args}: {graphql}")
        blocks.append(f"type {root} {{\n" + "\n".join(lines) + "\n}")
    scalars: set[str] = set()
    for name, fields in OBJECTS.items():
        seen_objects.add(name)
        lines = []
        for field in fields:
            graphql, named = ts.graphql_type(ts.types[name][field][1])
            for used in named - BUILT_IN:
                if used in ts.enums:
                    inputs.add(used)
                elif used not in ts.types:
                    scalars.add(used)
                elif used not in OBJECTS:
                    raise ValueError(f"{name}.{field} is a {used}: add it to OBJECTS")
            lines.append(f"  {field}: {graphql}")
        blocks.append(f"type {name} {{\n" + "\n".join(lines) + "\n}")
    done: set[str] = set()
    while inputs - done:
        name = sorted(inputs - done)[0]
        done.add(name)
        if name in BUILT_IN:
            continue
        if name in ts.enums:
            values = "\n".join(f"  {v}" for v in ts.enums[name])
            blocks.append(f"enum {name} {{\n{values}\n}}")
            continue
        if name not in ts.types:
            scalars.add(name)
            continue
        lines = []
        for field, (_optional, kind) in sorted(ts.types[name].items()):
            graphql, named = ts.graphql_type(kind)
            inputs |= named
            lines.append(f"  {field}: {graphql}")
        blocks.append(f"input {name} {{\n" + "\n".join(lines) + "\n}")
    blocks += [f"scalar {name}" for name in sorted(scalars)]
    header = (
        "# Linear's public GraphQL schema, the part native tickets use: read back from the\n"
        "# TypeScript types of the npm package @linear/sdk (see extract_schema.py). Generated:\n"
        "# do not edit.\n"
    )
    return header + "\n\n".join(blocks) + "\n"


def main(argv: list[str]) -> None:
    ts = TsSchema(Path(argv[1]).read_text())
    OUTPUT.write_text(extract(ts))
    print(f"{OUTPUT}: {OUTPUT.read_text().count(chr(10))} lines")


if __name__ == "__main__":
    main(sys.argv)
