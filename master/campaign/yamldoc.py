"""A campaign file read as YAML twice over: the node tree (with line and column marks) and the data built from it.

Every problem found in the data is placed on the file through :meth:`Document.locate`, which walks the node tree
along the problem's path.

A file is read with bounds, so that a hostile one costs little: at most :data:`MAX_DOCUMENT_BYTES`, nested at most
:data:`MAX_DEPTH` levels, at most :data:`MAX_NODES` values once every alias is expanded (an alias is a shared node in
the tree, but the data built from it and every walk over it repeat it: a few hundred bytes of aliases of aliases, a
"billion laughs", would expand to billions), no alias inside the node it names, and whole numbers of at most
:data:`MAX_INT_DIGITS` digits. Each is refused while the tree is composed, at its line.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml

from master.campaign.errors import FILE_KEY, Problem, SpecError, key_of

KeyPath = Sequence[str | int]

MAX_DOCUMENT_BYTES = 1024 * 1024
"""Largest campaign file read (UTF-8 bytes); a campaign of 10,000 jobs written out by hand is far smaller."""

MAX_NODES = 20_000
"""Most values (scalars, lists and mappings) a document may hold once its aliases are expanded; a campaign file
rarely holds a thousand (a matrix multiplies values without writing them out), and reading 20,000 takes about a
second."""

MAX_DEPTH = 32
"""Deepest nesting of lists and mappings; a campaign file needs 6."""

MAX_INT_DIGITS = 30
"""Longest whole number, in characters (Python refuses to read one of over 4,300 digits at all)."""


@dataclass
class Document:
    """A parsed campaign file: ``file`` as the user named it, the root node, and the data it holds."""

    file: str
    root: yaml.Node
    data: Any
    duplicate_keys: list[Problem] = field(default_factory=list)

    def problem(self, path: KeyPath, message: str, at_key: bool = False) -> Problem:
        """A problem at ``path``: at its value's node, or at its key's node when ``at_key``."""
        node = self.locate(path, at_key)
        return Problem(self.file, node.start_mark.line + 1, node.start_mark.column + 1, key_of(path), message)

    def locate(self, path: KeyPath, at_key: bool = False) -> yaml.Node:
        """The node for ``path``, or the deepest node that exists along it (a missing key: its mapping)."""
        node, key_node = self.root, None
        for part in path:
            child = _child(node, part)
            if child is None:
                return node
            key_node, node = child
        return key_node if at_key and key_node is not None else node


def _child(node: yaml.Node, part: str | int) -> tuple[yaml.Node | None, yaml.Node] | None:
    """(key node, value node) of ``part`` under ``node``; the last one when a key repeats (as PyYAML keeps it)."""
    if isinstance(node, yaml.SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
        return None, node.value[part]
    found = None
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode) and key.value == str(part):
                found = key, value
    return found


class BoundedLoader(yaml.SafeLoader):
    """A SafeLoader that composes within the module's bounds, counting each node's size with its aliases expanded."""

    def __init__(self, stream: str):
        super().__init__(stream)
        self._sizes: dict[int, int] = {}
        self._depth = 0
        self._composed = 0

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node:
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent):
            node = super().compose_node(parent, index)
            if id(node) not in self._sizes:
                raise _bound_error(f"alias *{event.anchor} is inside the node it names (a loop)", event)
            return node
        if self._depth >= MAX_DEPTH:
            raise _bound_error(f"nested more than {MAX_DEPTH} levels deep", event)
        self._composed += 1  # written out, before a list that holds them all is complete
        if self._composed > MAX_NODES:
            raise _bound_error(_TOO_MANY, event)
        self._depth += 1
        try:
            node = super().compose_node(parent, index)
        finally:
            self._depth -= 1
        self._sizes[id(node)] = size = 1 + sum(self._sizes[id(child)] for child in _children(node))
        if size > MAX_NODES:
            raise _bound_error(_TOO_MANY, event)
        if node.tag == "tag:yaml.org,2002:int" and len(node.value) > MAX_INT_DIGITS:
            raise _bound_error(f"a number of more than {MAX_INT_DIGITS} characters", event)
        return node


_TOO_MANY = (
    f"the file holds more than {MAX_NODES} values once its aliases are expanded (aliases of aliases "
    "multiply); use fewer values, or fewer aliases"
)


def _children(node: yaml.Node) -> list[yaml.Node]:
    """The nodes directly under ``node``: a list's items, a mapping's keys and values."""
    if isinstance(node, yaml.SequenceNode):
        return node.value
    if isinstance(node, yaml.MappingNode):
        return [child for pair in node.value for child in pair]
    return []


def _bound_error(message: str, event: yaml.Event) -> yaml.MarkedYAMLError:
    return yaml.composer.ComposerError(None, None, message, event.start_mark)


def parse(text: str, file: str) -> Document:
    """``text`` as a Document; raises SpecError for a YAML syntax error, more than one document, an empty file or
    one beyond the module's bounds."""
    size = len(text.encode("utf-8", errors="surrogatepass"))
    if size > MAX_DOCUMENT_BYTES:
        raise SpecError(
            [
                Problem(
                    file,
                    1,
                    1,
                    FILE_KEY,
                    f"too large: {size} bytes; a campaign file may be at most {MAX_DOCUMENT_BYTES} bytes",
                )
            ]
        )
    try:
        loader = BoundedLoader(text)  # reads the text's characters: a control character is an error here
    except yaml.YAMLError as error:
        raise SpecError([Problem(file, 1, 1, FILE_KEY, f"not YAML: {error}")]) from None
    try:
        root = loader.get_single_node()
        if root is None:
            raise SpecError([Problem(file, 1, 1, FILE_KEY, "empty file: expected a mapping with name and scenarios")])
        duplicates = list(_duplicate_keys(file, root))  # before construction merges ``<<`` keys into mappings
        return Document(file, root, loader.construct_document(root), duplicates)
    except yaml.MarkedYAMLError as error:
        raise SpecError([_syntax_problem(file, error)]) from None
    except yaml.YAMLError as error:
        raise SpecError([Problem(file, 1, 1, FILE_KEY, f"not YAML: {error}")]) from None
    finally:
        loader.dispose()


def _syntax_problem(file: str, error: yaml.MarkedYAMLError) -> Problem:
    """A YAML error at its problem mark, saying what was being parsed and where that started."""
    mark = error.problem_mark or error.context_mark
    message = error.problem or "invalid YAML"
    if error.context and error.context.startswith("while"):
        where = f" at line {error.context_mark.line + 1}" if error.context_mark else ""
        message += f" ({error.context}{where})"
    elif error.context:
        message = f"{error.context}, {message}"
    line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
    return Problem(file, line, column, "(yaml)", message)


def _duplicate_keys(file: str, root: yaml.Node) -> Iterator[Problem]:
    """A problem for each key written twice in one mapping (YAML keeps the last silently)."""
    for path, node in _mappings(root, ()):
        seen: dict[str, yaml.Node] = {}
        for key, _ in node.value:
            if not isinstance(key, yaml.ScalarNode):
                continue
            if key.value in seen:
                first = seen[key.value].start_mark.line + 1
                yield Problem(
                    file,
                    key.start_mark.line + 1,
                    key.start_mark.column + 1,
                    key_of((*path, key.value)),
                    f"duplicate key (first at line {first}); YAML keeps the last",
                )
            else:
                seen[key.value] = key


def _mappings(node: yaml.Node, path: tuple, seen: set[int] | None = None) -> Iterator[tuple[tuple, yaml.MappingNode]]:
    """Every mapping node under ``node`` with its path; each node once (aliases repeat nodes)."""
    seen = set() if seen is None else seen
    if id(node) in seen:
        return
    seen.add(id(node))
    if isinstance(node, yaml.MappingNode):
        yield path, node
        for key, value in node.value:
            yield from _mappings(value, (*path, key.value if isinstance(key, yaml.ScalarNode) else "?"), seen)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            yield from _mappings(item, (*path, index), seen)
