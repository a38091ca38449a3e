"""Each bad campaign file in tests/data/campaigns/bad/ fails with exactly the problems its ``# expect:`` lines list."""

from __future__ import annotations

from pathlib import Path

import pytest

from master.campaign import SpecError, load_campaign, load_campaign_text

BAD_DIR = Path(__file__).parents[2] / "data" / "campaigns" / "bad"
BAD_FILES = sorted(path.name for path in BAD_DIR.glob("*.yml"))


def expected_lines(path: Path) -> list[str]:
    """The ``# expect: ...`` lines of a bad file, ``{dir}`` standing for the directory it is in."""
    prefix = "# expect: "
    return [
        line[len(prefix) :].replace("{dir}", str(path.parent))
        for line in path.read_text().splitlines()
        if line.startswith(prefix)
    ]


def problems_of(name: str) -> list[str]:
    """The problem lines loading ``name`` (relative to the working directory) raises."""
    with pytest.raises(SpecError) as raised:
        load_campaign(name)
    return [str(problem) for problem in raised.value.problems]


def test_corpus_covers_the_cases():
    """The corpus holds a file for each case the spec must report."""
    assert {
        "empty.yml",
        "yaml_syntax.yml",
        "not_mapping.yml",
        "unknown_keys.yml",
        "wrong_types.yml",
        "bad_numbers.yml",
        "bad_strings.yml",
        "unknown_encoder.yml",
        "rate_control.yml",
        "matrix_empty.yml",
        "matrix_keys.yml",
        "duplicate_names.yml",
        "unknown_kind.yml",
        "input_file.yml",
    } <= set(BAD_FILES)


@pytest.mark.parametrize("name", BAD_FILES)
def test_bad_file_reports_exactly_its_problems(name, monkeypatch):
    """Loading the file raises SpecError whose lines are the file's ``# expect:`` lines, in order."""
    monkeypatch.chdir(BAD_DIR)
    expected = expected_lines(BAD_DIR / name)
    assert expected, f"{name} has no '# expect:' lines"
    assert problems_of(name) == expected


def test_error_text_is_one_problem_per_line(monkeypatch):
    """str(SpecError) joins every problem, one per line, in file order."""
    monkeypatch.chdir(BAD_DIR)
    with pytest.raises(SpecError) as raised:
        load_campaign("wrong_types.yml")
    lines = str(raised.value).splitlines()
    assert lines == expected_lines(BAD_DIR / "wrong_types.yml")
    assert [int(line.split(":")[1]) for line in lines] == sorted(int(line.split(":")[1]) for line in lines)


def test_missing_file(tmp_path):
    """A file that does not exist is one problem naming it."""
    missing = tmp_path / "nope.yml"
    assert problems_of(str(missing)) == [f"{missing}:1:1: (file): no such file"]


def test_directory_instead_of_file(tmp_path):
    """A directory is one problem saying so."""
    assert problems_of(str(tmp_path)) == [f"{tmp_path}:1:1: (file): is a directory, not a campaign file"]


def test_text_that_is_not_utf8(tmp_path):
    """Bytes that are not UTF-8 are a readable problem, not a traceback."""
    path = tmp_path / "latin1.yml"
    path.write_bytes("name: caf\xe9\n".encode("latin-1"))
    (line,) = problems_of(str(path))
    assert line.startswith(f"{path}:1:1: (file): cannot read:")


def test_submitted_text_names_its_label():
    """Text without a file is reported under the label it was given."""
    with pytest.raises(SpecError) as raised:
        load_campaign_text("name: x\nscenarios: 3\n", "<submitted>")
    assert [str(p) for p in raised.value.problems] == [
        "<submitted>:2:12: scenarios: expected a list of scenarios, got 3 (a whole number)"
    ]


def test_problem_fields():
    """Each problem carries file, line, column, dotted key and message separately."""
    with pytest.raises(SpecError) as raised:
        load_campaign_text("name: x\nscenarios:\n  - name: a\n    kind: transcode\n    encoder: libx246\n", "c.yml")
    problem = next(p for p in raised.value.problems if p.key == "scenarios[0].encoder")
    assert (problem.file, problem.line, problem.column) == ("c.yml", 5, 14)
    assert "did you mean" in problem.message and "'libx264'" in problem.message


@pytest.mark.parametrize(
    "text",
    [
        "42\n",
        "null\n",
        "{}\n",
        "name: x\nscenarios: [null, 3, [], {}]\n",
        "name: x\n1: 2\nscenarios:\n  - {name: a, kind: transcode, 7: x, input: [a], encoder: {}, crf: true}\n",
        "name: x\ndefaults: {input: {file: 5}, crf: 1, bitrate: 1k}\n"
        "scenarios:\n  - {name: 5, kind: transcode, matrix: {input: [{file: ''}, 3], preset: [null]}}\n",
        "name: x\nscenarios: &s [*s]\n",
        "name: x\ndefaults: &d {input: *d}\nscenarios: []\n",
        "name: x\nscenarios:\n  - name: a\n    kind: transcode\n    ? [complex, key]\n    : v\n",
    ],
)
def test_odd_documents_are_problems_not_tracebacks(text):
    """Values of every wrong shape, cycles and odd keys end in SpecError with at least one located problem."""
    with pytest.raises(SpecError) as raised:
        load_campaign_text(text, "odd.yml")
    assert raised.value.problems
    assert all(problem.line >= 1 and problem.column >= 1 for problem in raised.value.problems)
