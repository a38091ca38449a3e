"""Every command line of the ```sh blocks in README.md and docs/DISTRIBUTED.md works as written.

For each line (backslash continuations joined, comments dropped, split at ``&&``, ``;``, ``|``, ``&``, redirections
dropped, leading ``VAR=value`` assignments skipped), with this venv's ``bin/`` first on PATH, as after
``. .venv/bin/activate``:

- the program exists (on PATH, or ``python -m MODULE`` imports), and so does its subcommand (``campaign run``,
  ``python -m agent measure``, ``ansible-vault encrypt_string``): its ``--help`` exits 0;
- every ``--flag`` of the line (before a ``--`` that ends the options) is named in that command's ``--help``, so a
  renamed flag breaks this test;
- the cheap ones run for real: ``campaign validate|plan`` of a repository file, ``python -m agent measure ... --
sleep``;
  campaign files named by ``campaign run|validate|plan`` exist;
- ``make TARGET`` names a target of the Makefile, ``. FILE`` an existing file once the venv exists.

Lines with placeholders (MASTER, ``$VAR``, ``ID``, ``...``, ``[optional]`` parts) get the checks that do not run them.
Commands not ours are in ALLOWLIST, each with why it is not checked.
"""

from __future__ import annotations

import functools
import os
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", ROOT / "docs" / "DISTRIBUTED.md"]
VENV_BIN = Path(sys.executable).parent

ALLOWLIST = {
    "export": "shell builtin: sets the variables later lines use",
    "kill": "shell builtin: stops the background jobs started by the lines above",
    "cp": "coreutils: copies the reader's own files",
    "mkdir": "coreutils: makes the reader's own folder",
    "groupadd": "system administration (root): the reader's system, not ffwatt",
    "chgrp": "system administration (root) on /sys: the reader's system, not ffwatt",
    "chmod": "system administration (root) on /sys: the reader's system, not ffwatt",
}
"""Programs whose lines are not checked, and why."""

SUBCOMMANDS = {"campaign": "any", "python -m agent": "optional", "ansible-vault": "any"}
"""Programs whose first word (``optional``: when it is not a flag) is a subcommand with its own --help."""

PLACEHOLDER = re.compile(r"\bMASTER\b|\$|\bID\b|\.\.\.|\[|\bNAME\b|\bFILE\b|\bURL\b|\bDIR\b|\bTOKEN\b")
SEPARATORS = {"&&", "||", ";", "|", "&"}
REDIRECTS = {">", ">>", "<", "2>", "&>"}
HELP_TIMEOUT_S = 60
RUN_TIMEOUT_S = 120


@dataclass(frozen=True)
class Line:
    doc: str
    lineno: int
    text: str

    def __str__(self) -> str:
        return f"{self.doc}:{self.lineno}"


def sh_lines(path: Path) -> list[Line]:
    """The command lines of ``path``'s ```sh blocks, continuations joined, numbered by their first line."""
    lines, in_block, pending, start = [], False, "", 0
    for lineno, raw in enumerate(path.read_text().splitlines(), 1):
        if raw.strip().startswith("```"):
            in_block = raw.strip() == "```sh" if not in_block else False
            continue
        if not in_block:
            continue
        if not pending:
            start = lineno
        if raw.rstrip().endswith("\\"):
            pending += raw.rstrip()[:-1] + " "
            continue
        text = (pending + raw).strip()
        pending = ""
        if text and not text.startswith("#"):
            lines.append(Line(path.relative_to(ROOT).as_posix(), start, text))
    return lines


def commands(text: str) -> list[list[str]]:
    """The simple commands of a shell line: words split as the shell does, comments and redirections dropped."""
    lexer = shlex.shlex(text, posix=True, punctuation_chars="&|;<>")
    lexer.whitespace_split = True
    result, current, skip_next = [], [], False
    for token in lexer:
        if skip_next:
            skip_next = False
            continue
        if token in SEPARATORS:
            result.append(current)
            current = []
        elif token in REDIRECTS:
            skip_next = True
        else:
            current.append(token)
    result.append(current)
    cleaned = []
    for words in result:
        while words and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*=.*", words[0]):
            words = words[1:]
        if words:
            cleaned.append(words)
    return cleaned


ALL_LINES = [line for doc in DOCS for line in sh_lines(doc)]


def test_the_docs_have_command_lines():
    assert len(ALL_LINES) > 20
    assert ALL_LINES[0].text.startswith("make run"), "README.md must start with `make run`"
    assert ALL_LINES[1].text.startswith("make test"), "then `make test`"


def env() -> dict[str, str]:
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("FFWATT_")},
        "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "VIRTUAL_ENV": str(VENV_BIN.parent),
    }


@functools.cache
def help_text(command: tuple[str, ...]) -> str:
    """``COMMAND --help`` (exit 0 required), run with the venv first on PATH."""
    exe = shutil.which(command[0], path=env()["PATH"])
    assert exe, f"{command[0]}: not found on PATH (venv first): the docs name a program that does not exist"
    proc = subprocess.run(
        [exe, *command[1:], "--help"], capture_output=True, text=True, cwd=ROOT, env=env(), timeout=HELP_TIMEOUT_S
    )
    assert proc.returncode == 0, f"{' '.join(command)} --help: exit {proc.returncode}\n{proc.stderr[-2000:]}"
    return proc.stdout


def split_program(words: list[str]) -> tuple[str, list[str], list[str]]:
    """(program name, the command whose --help lists the flags, the rest of the words)."""
    if words[0] == "python" and len(words) > 2 and words[1] == "-m":
        program, base, rest = f"python -m {words[2]}", words[:3], words[3:]
    else:
        program, base, rest = words[0], words[:1], words[1:]
    mode = SUBCOMMANDS.get(program)
    if mode and rest and not rest[0].startswith("-"):
        sub, listing = rest[0], help_text(tuple(base))
        listed = re.search(rf"(?<![\w-]){re.escape(sub)}(?![\w-])", listing.split("Commands:", 1)[-1])
        if mode == "any":
            assert listed, f"{program} has no subcommand {sub!r}"
        if listed:
            return f"{program} {sub}", [*base, sub], rest[1:]
    return program, base, rest


def long_flags(words: list[str]) -> list[str]:
    flags = []
    for word in words:
        if word == "--":
            break
        word = word.strip("[]")
        if re.fullmatch(r"--[A-Za-z0-9][A-Za-z0-9-]*(=.*)?", word):
            flags.append(word.split("=", 1)[0])
    return flags


def check_make(words: list[str]) -> None:
    targets = re.findall(r"^([A-Za-z][A-Za-z0-9_-]*)\s*:", (ROOT / "Makefile").read_text(), re.M)
    for target in words[1:] or ["run"]:
        assert target in targets, f"make {target}: the Makefile has no such target ({targets})"


def check_source(words: list[str]) -> None:
    if not (ROOT / ".venv").is_dir():
        pytest.skip("no .venv in the repository: `make install` was not run here")
    assert (ROOT / words[1]).is_file(), f". {words[1]}: no such file after `make install`"


def run_cheap(program: str, words: list[str]) -> None:
    """Run the line's command for real when it is cheap and has no placeholder."""
    if program in ("campaign validate", "campaign plan") or (
        program == "python -m agent measure" and words[-2:] == ["sleep", "2"]
    ):
        exe = shutil.which(words[0], path=env()["PATH"])
        proc = subprocess.run(
            [exe, *words[1:]], capture_output=True, text=True, cwd=ROOT, env=env(), timeout=RUN_TIMEOUT_S
        )
        assert proc.returncode == 0, (
            f"{' '.join(words)}: exit {proc.returncode}\n{proc.stdout[-1500:]}\n{proc.stderr[-1500:]}"
        )
        assert proc.stdout.strip(), f"{' '.join(words)}: printed nothing"


@pytest.mark.parametrize("line", ALL_LINES, ids=str)
def test_command_line(line: Line):
    placeholder = bool(PLACEHOLDER.search(line.text))
    for words in commands(line.text):
        if words[0] in ALLOWLIST:
            continue
        if words[0] == "make":
            check_make(words)
            continue
        if words[0] == ".":
            check_source(words)
            continue
        program, help_command, rest = split_program(words)
        text = help_text(tuple(help_command))
        for flag in long_flags(rest):
            assert re.search(rf"(?<![\w-]){re.escape(flag)}(?![\w-])", text), (
                f"{line}: `{program}` does not take {flag} (not in `{' '.join(help_command)} --help`)"
            )
        if program in ("campaign run", "campaign validate", "campaign plan"):
            for arg in rest:
                if arg.startswith("campaigns/") and arg.endswith(".yml"):
                    assert (ROOT / arg).is_file(), f"{line}: {arg} does not exist"
        if not placeholder:
            run_cheap(program, words)


def test_commands_split_as_the_shell_does():
    """The splitter itself: separators, redirections, assignments, quotes."""
    assert commands('A=1 B=2 campaign run x.yml --token "$T" && echo ok # comment') == [
        ["campaign", "run", "x.yml", "--token", "$T"],
        ["echo", "ok"],
    ]
    assert commands("campaign batch --file f.json --print > out.yml") == [
        ["campaign", "batch", "--file", "f.json", "--print"]
    ]
    assert commands("python -m master --port 8080 &") == [["python", "-m", "master", "--port", "8080"]]
    assert long_flags(["--a", "[--b", "x]", "--c=1", "--", "--not-this"]) == ["--a", "--b", "--c"]
