"""Reading sources.yaml as YAML, refusing what a registry of partners must not hold.

YAML allows an alias (a few hundred bytes of aliases of aliases build into gigabytes:
settings.contact_point once became a 58 MB datapackage.json), a key given twice (YAML keeps the
last one without a word), and a key that YAML reads as another type than the text written
(``NO:`` is false, ``010:`` is 8). ``read_sources_yaml`` refuses them, each with its line, and
turns PyYAML's several-line errors into one line that says what is wrong and where.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

import yaml

from partnerdata.errors import ConfigError
from partnerdata.readers.options import control_character

YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when PyYAML has it: 10 times faster
YAML_STR = "tag:yaml.org,2002:str"
YAML_MERGE = "tag:yaml.org,2002:merge"
MAX_YAML_DEPTH = 32  # blocks inside blocks; sources.yaml needs five


def read_sources_yaml(path: Path) -> Any:
    """The document in sources.yaml, built only after its node graph passed ``_check_nodes``.

    YAML allows what a registry must not hold: an alias (a few hundred bytes of aliases of
    aliases build into gigabytes: settings.contact_point once became a 58 MB datapackage.json),
    a key given twice (YAML keeps the last one without a word), a key that YAML reads as another
    type than the text written (``NO:`` is false, ``010:`` is 8). The C loader composes the
    graph (an alias there is a node met twice, so the walk stays as small as the file), the walk
    refuses those, then the same loader builds the document. Everything that reads
    sources.yaml as YAML goes through here."""
    try:
        octets = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found (pass --sources FILE, or run from the project folder)") from None
    except OSError as error:
        raise ConfigError(f"{path}: cannot be read ({error.strerror or error}); pass --sources FILE") from None
    try:
        text = octets.decode("utf-8")
    except UnicodeDecodeError as error:
        line = octets.count(b"\n", 0, error.start) + 1
        raise ConfigError(
            f"{path}: not UTF-8 at line {line} (byte {octets[error.start : error.start + 1]!r}); save the file as UTF-8"
        ) from None
    loader = YAML_LOADER(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _check_nodes(node, loader, path, text)
        return loader.construct_document(node)
    except yaml.YAMLError as error:
        raise ConfigError(f"{path}: {_yaml_problem(error, text)}") from None
    finally:
        loader.dispose()


def _check_nodes(root: yaml.Node, loader: Any, path: Path, text: str) -> None:
    """Refuse aliases and merge keys, keys given twice, keys that are not the text written (or that
    hold a control character), scalars that cannot be built (2024-13-45), and absurd nesting."""
    seen: set[int] = set()  # every node met; an alias is the same node object again
    stack: list[tuple[yaml.Node, str, int]] = [(root, "", 1)]
    while stack:
        node, where, depth = stack.pop()
        if id(node) in seen:
            _refuse_alias(path, text, where)
        seen.add(id(node))
        if depth > MAX_YAML_DEPTH:
            raise ConfigError(
                f"{_at(path, node.start_mark, where)}: blocks are nested more than {MAX_YAML_DEPTH} deep; "
                "sources.yaml needs a few levels: check the indentation"
            )
        if isinstance(node, yaml.ScalarNode):
            _scalar(node, loader, path, where)
        elif isinstance(node, yaml.SequenceNode):
            stack.extend((item, f"{where}[{i}]", depth + 1) for i, item in reversed(list(enumerate(node.value))))
        else:  # the composer builds scalar, sequence and mapping nodes only
            mapping = cast(yaml.MappingNode, node)
            stack.extend(reversed(_mapping_children(mapping, loader, path, text, where, depth, seen)))


def _mapping_children(
    node: yaml.MappingNode, loader: Any, path: Path, text: str, where: str, depth: int, seen: set[int]
) -> list[tuple[yaml.Node, str, int]]:
    first_lines: dict[str, int] = {}
    children = []
    for key, value in node.value:
        if id(key) in seen:
            _refuse_alias(path, text, where)
        seen.add(id(key))
        at = key.start_mark  # formatted only for a message
        if key.tag == YAML_MERGE:
            raise ConfigError(
                f"{_at(path, at, where)}: '<<' merges the keys of another block; sources.yaml allows no merge "
                "keys and no aliases: write the keys out in full"
            )
        if not isinstance(key, yaml.ScalarNode):
            kind = "list" if isinstance(key, yaml.SequenceNode) else "mapping"
            raise ConfigError(f"{_at(path, at, where)}: a key must be a text, not a {kind}")
        name = key.value
        bad = control_character(name)
        if bad is not None:
            raise ConfigError(
                f"{_at(path, at, where)}: the key {brief(name)} holds the control character {bad!r}; remove it"
            )
        read_as = _scalar(key, loader, path, where)
        if str(read_as) != name:
            raise ConfigError(
                f"{_at(path, at, where)}: YAML reads the key {name} as {read_as!r}, not as the text {name!r}; "
                f"quote it: {name!r}"
            )
        if name in first_lines:
            raise ConfigError(
                f"{_at(path, at, where)}: key {name!r} is given twice in the same block (first at line "
                f"{first_lines[name]}); YAML would keep only the last one without a word: remove one of them"
            )
        first_lines[name] = at.line + 1
        children.append((value, f"{where}.{name}" if where else name, depth + 1))
    return children


def _scalar(node: yaml.ScalarNode, loader: Any, path: Path, where: str) -> Any:
    """What the scalar builds to (a text as it is); one that cannot be built is an error at its place."""
    if node.tag == YAML_STR:
        return node.value
    try:
        return loader.construct_object(node)
    except (ValueError, TypeError, OverflowError) as error:
        kind = node.tag.rsplit(":", 1)[-1]
        raise ConfigError(
            f"{_at(path, node.start_mark, where)}: {brief(node.value)} is not a valid {kind} ({error}); quote it if it is a text"
        ) from None


def _refuse_alias(path: Path, text: str, where: str) -> None:
    """Name the first alias of the file, where it is written (the walk only meets the node it repeats)."""
    alias = next((e for e in yaml.parse(text, Loader=YAML_LOADER) if isinstance(e, yaml.AliasEvent)), None)
    place = _position(alias.start_mark) if alias else "line ?"
    name = alias.anchor if alias else "name"
    raise ConfigError(
        f"{path}: {place}{f' ({where})' if where else ''}: *{name} is a YAML alias (it repeats the block marked "
        f"&{name}); sources.yaml allows no aliases, which can expand a few lines into gigabytes: write the block "
        "out in full where it is used"
    )


def _at(path: Path, mark: Any, where: str) -> str:
    return f"{path}: line {mark.line + 1}" + (f" ({where})" if where else "")


def _yaml_problem(error: yaml.YAMLError, text: str) -> str:
    """PyYAML's several lines as one: what is wrong, where (lines and columns from 1), in what context."""
    if isinstance(error, yaml.MarkedYAMLError):
        mark = error.problem_mark or error.context_mark
        problem = one_line(error.problem or error.context or "not valid YAML")
        message = f"not valid YAML{f' at {_position(mark)}' if mark else ''}: {problem}"
        if error.problem and error.context:
            start = error.context_mark
            same = start is None or mark is None or (start.line, start.column) == (mark.line, mark.column)
            message += f" ({one_line(error.context)}{'' if same else f' that starts at {_position(start)}'})"
        if error.note:
            message += f"; {one_line(error.note)}"
        return message
    if isinstance(error, yaml.reader.ReaderError):
        character = chr(error.character) if isinstance(error.character, int) else error.character
        if isinstance(error.character, int):  # libyaml counts bytes of the UTF-8 text
            before = text.encode("utf-8")[: error.position].decode("utf-8", "replace")
        else:
            before = text[: error.position]
        line, column = before.count("\n") + 1, len(before) - (before.rfind("\n") + 1) + 1
        return (
            f"not valid YAML at line {line}, column {column}: the character {character!r} may not appear in a "
            f"YAML file ({error.reason}); remove it, or write it as an escape in a double-quoted text"
        )
    return f"not valid YAML: {one_line(str(error))}"


def _position(mark: Any) -> str:
    return f"line {mark.line + 1}, column {mark.column + 1}"


def one_line(text: str) -> str:
    return " ".join(str(text).split())


def brief(value: Any) -> str:
    """A value as shown in a message: repr, so that it stays on one line, and cut when it is long."""
    shown = repr(value)
    return shown if len(shown) <= 120 else shown[:117] + "..."
