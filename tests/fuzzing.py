"""Hypothesis helpers shared by the reader fuzz tests: a valid JSON file mutated once, the exit
every reader must give, and the settings every fuzz test runs under (profiles: conftest)."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

DEEP = "__nested 5000 deep__"  # replaced in the file's text: Python cannot build it as an object
ODD_VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(10**400), max_value=10**400),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=40),
    st.sampled_from(["<script>alert(1)</script>", "$\\frac{a}{b}$", "../../etc", "\x00", "1e999"]),
    st.lists(st.integers(), max_size=3), st.dictionaries(st.text(max_size=5), st.integers(), max_size=3),
    st.just(DEEP),
)


def _paths(node, prefix=()):
    """Every (path, value) of a JSON tree, containers included."""
    yield prefix, node
    children = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, child in children:
        yield from _paths(child, (*prefix, key))


@st.composite
def mutated_json(draw, valid: dict) -> bytes:
    """``valid`` with one mutation: a value replaced, a key deleted, the text cut, or a byte flipped."""
    data = json.loads(json.dumps(valid))
    places = [path for path, _ in _paths(data) if path]
    kind = draw(st.sampled_from(["replace", "delete", "truncate", "flip"]))
    if kind in ("replace", "delete"):
        path = draw(st.sampled_from(places))
        parent = data
        for key in path[:-1]:
            parent = parent[key]
        if kind == "delete" and isinstance(parent, dict):
            del parent[path[-1]]
        else:
            parent[path[-1]] = draw(ODD_VALUES)
        return json.dumps(data).replace(json.dumps(DEEP), "[" * 5000 + "]" * 5000).encode()
    text = json.dumps(data).encode()
    at = draw(st.integers(0, len(text) - 1))
    if kind == "truncate":
        return text[:at]
    return text[:at] + bytes([text[at] ^ (1 << draw(st.integers(0, 7)))]) + text[at + 1:]


def assert_clean_exit(code: int, err: str) -> None:
    assert code in (0, 1, 2), err
    assert len(err.strip().splitlines()) <= 1, err


# capsys is read (and so emptied) by every call: safe across generated inputs
FUZZ = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                                    HealthCheck.function_scoped_fixture])


@st.composite
def mutated_bytes(draw, valid: bytes) -> bytes:
    """``valid`` with one mutation: cut short, one bit flipped, or a run of bytes overwritten."""
    kind = draw(st.sampled_from(["truncate", "flip", "overwrite"]))
    at = draw(st.integers(0, len(valid) - 1))
    if kind == "truncate":
        return valid[:at]
    if kind == "flip":
        return valid[:at] + bytes([valid[at] ^ (1 << draw(st.integers(0, 7)))]) + valid[at + 1:]
    junk = draw(st.binary(min_size=1, max_size=16))
    return valid[:at] + junk + valid[at + len(junk):]
