"""Hypothesis helpers shared by the reader fuzz tests: a valid JSON file mutated once, the exit
every reader must give, and the settings every fuzz test runs under (profiles: conftest).

A mutation replaces a value by an odd one (``ODD_VALUES``: any type, huge, non-finite, markup,
deep nesting) or by a type confusion of the value it replaces (``type_confused``: zero, -0.0,
negative, the number as a string, the string in a list or an object, a list's first element),
deletes a key, cuts the text or flips a bit."""

from __future__ import annotations

import json
import math

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

# Values that stand in for a field of another type (the crashes they caught: a string where a
# number stands, zero steps, an unhashable backend tag, a benchmark without its model).
ZEROS = (0, 0.0, -0.0)
TYPE_CONFUSED = st.sampled_from([
    *ZEROS, -1, -0.5, -1e-300, 5e-324, 1e308, -1e308, 2**63, -(2**63), 10**400, True, False, None,
    "", "0", "1", "-1", "0.04", "8", "1e999", "nan", "NaN", "inf", "-inf", "jax", "step", " ",
    [], [0], ["jax"], [[]], {}, {"jax": 1}, {"kind": "step"}, {"": None},
])


@st.composite
def type_confused(draw, value):
    """A value of another type or sign standing where ``value`` stood: a number as zero, -0.0,
    its negation, its text or inside a list; a string in a list or an object (unhashable), as
    a number or empty; a list or object emptied, unwrapped or turned into the other; else any of
    ``TYPE_CONFUSED``."""
    derived = [0, "", [], {}, None]
    if isinstance(value, bool):
        derived += [int(value), str(value).lower(), [value]]
    elif isinstance(value, (int, float)):
        derived += [*ZEROS, -value, str(value), [value], {"value": value}, value > 0]
        if isinstance(value, float) and math.isfinite(value):
            derived.append(int(value))  # 0.04 -> 0
        elif isinstance(value, int) and abs(value) < 2**1000:
            derived.append(float(value))
    elif isinstance(value, str):
        derived += [[value], {value: value}, {value: 1}, len(value), value.upper(), value + "\x00"]
    elif isinstance(value, list):
        derived += [*value[:1], {str(i): v for i, v in enumerate(value)}, value * 2, [value]]
    elif isinstance(value, dict):
        derived += [list(value), list(value.values()), [value], {k: None for k in value}]
    return draw(st.one_of(st.sampled_from(derived), TYPE_CONFUSED))


def _paths(node, prefix=()):
    """Every (path, value) of a JSON tree, containers included."""
    yield prefix, node
    children = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, child in children:
        yield from _paths(child, (*prefix, key))


@st.composite
def mutated_json(draw, valid: dict) -> bytes:
    """``valid`` with one mutation: a value replaced by an odd one or by a type confusion of
    itself, a key (or a list's element) deleted, the text cut, or a byte flipped."""
    data = json.loads(json.dumps(valid))
    places = [path for path, _ in _paths(data) if path]
    kind = draw(st.sampled_from(["replace", "confuse", "delete", "truncate", "flip"]))
    if kind in ("replace", "confuse", "delete"):
        path = draw(st.sampled_from(places))
        parent = data
        for key in path[:-1]:
            parent = parent[key]
        if kind == "delete":  # a key missing, or a list one element short
            del parent[path[-1]]
        elif kind == "confuse":
            parent[path[-1]] = draw(type_confused(parent[path[-1]]))
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
