"""Reading YAML with its node marks: locating paths, duplicate keys, syntax errors."""

from __future__ import annotations

import pytest

from master.campaign.errors import SpecError, key_of
from master.campaign.yamldoc import parse

TEXT = """\
name: n
base: &base {encoder: libx264}
scenarios:
  - name: a
    <<: *base
  - {name: b, kind: transcode}
"""


def test_locate_walks_mappings_and_sequences():
    """A path finds its value's node, or its key's node when asked."""
    document = parse(TEXT, "t.yml")
    assert document.problem(("scenarios", 1, "kind"), "m").line == 6
    assert document.problem(("scenarios", 1, "kind"), "m").column == 21
    assert document.problem(("scenarios", 0, "name"), "m", at_key=True).column == 5


def test_locate_falls_back_to_the_deepest_node():
    """A path that goes past the document points at the last node that exists: a missing key at its mapping."""
    document = parse(TEXT, "t.yml")
    problem = document.problem(("scenarios", 0, "duration"), "m")
    assert (problem.line, problem.column, problem.key) == (4, 5, "scenarios[0].duration")


def test_merged_keys_point_where_they_are_written():
    """A key merged in with ``<<: *anchor`` is located at the anchor's text."""
    document = parse(TEXT, "t.yml")
    problem = document.problem(("scenarios", 0, "encoder"), "m")
    assert (problem.line, problem.column) == (2, 23)
    assert document.data["scenarios"][0]["encoder"] == "libx264"


def test_duplicate_keys_point_at_the_second():
    """A key written twice is reported at its second occurrence, naming the first's line."""
    document = parse("a: 1\nb:\n  c: 2\n  c: 3\na: 4\n", "d.yml")
    assert [str(p) for p in document.duplicate_keys] == [
        "d.yml:5:1: a: duplicate key (first at line 1); YAML keeps the last",
        "d.yml:4:3: b.c: duplicate key (first at line 3); YAML keeps the last",
    ]


def test_overriding_a_merged_key_is_not_a_duplicate():
    """``<<: *base`` then the same key written out is YAML's override, not a duplicate; the written value wins."""
    document = parse(TEXT.replace("    <<: *base\n", "    <<: *base\n    encoder: libx265\n"), "t.yml")
    assert document.duplicate_keys == []
    assert document.data["scenarios"][0]["encoder"] == "libx265"
    assert document.problem(("scenarios", 0, "encoder"), "m").line == 6


@pytest.mark.parametrize(
    "text, expected",
    [
        (
            "a: [1, 2\n",
            "s.yml:2:1: (yaml): expected ',' or ']', but got '<stream end>' (while parsing a flow sequence at line 1)",
        ),
        ("a: b: c\n", "s.yml:1:5: (yaml): mapping values are not allowed here"),
        (
            "a: !!python/object:os.system x\n",
            "s.yml:1:4: (yaml): could not determine a constructor for the tag"
            " 'tag:yaml.org,2002:python/object:os.system'",
        ),
    ],
)
def test_yaml_errors_carry_their_mark(text, expected):
    """PyYAML's problem mark becomes the problem's 1-based line and column."""
    with pytest.raises(SpecError) as raised:
        parse(text, "s.yml")
    assert str(raised.value) == expected


def test_key_of():
    """Paths become dotted keys with [index] for list items; the empty path is the top level."""
    assert key_of(("scenarios", 0, "matrix", "preset", 1)) == "scenarios[0].matrix.preset[1]"
    assert key_of(()) == "(top level)"
