"""``${env:VAR}`` references in a pipeline file's string values, expanded when it is loaded.

Forms, in any string value (never in a key):

* ``${env:VAR}``: the variable's value; unset is a validation problem;
* ``${env:VAR:-default}``: the value, or ``default`` when the variable is unset or empty
  (as in the shell); the default runs to the first ``}``;
* ``$${``: a literal ``${`` (``$$`` elsewhere stays ``$$``).

* ``${params.x}``: the value of the pipeline's ``params.x`` (declared under the top-level
  ``params:``; see :mod:`trakt.model.params`): a string that is exactly ``${params.x}`` takes
  the param's typed value (an int stays an int), inside a longer string it is its text. The
  ``params:`` section itself is expanded first (``${env:...}`` only).

Any other ``${...}`` is a validation problem. Values
that came from the environment may be secrets: :func:`conceal` puts the references back in
place of them in problem messages, so validation never prints them.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from trakt.errors import Problem, did_you_mean
from trakt.model.yaml_loader import Path, format_path

_ENV = re.compile(r"env:(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?::-(?P<default>[^}]*))?")
_PARAM = re.compile(r"params\.(?P<name>[A-Za-z_][A-Za-z0-9_]*)")
FORMS = "${env:VAR} or ${env:VAR:-default} or ${params.name} (write $${ for a literal ${)"
# conceal_text() looks for shorter values nowhere but in their own value's problems: a value
# like "1" or "csv" would otherwise be "found" in unrelated words.
MIN_CONCEALED_ANYWHERE = 4


@dataclass(frozen=True)
class Expanded:
    """A string value that held references: as written, as expanded, and each piece of it
    that came from the environment with the reference that gave it."""

    written: str
    value: str
    from_env: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Interpolation:
    """The document with its references expanded, the problems found, and what was expanded
    (by YAML path) so that messages can show references instead of values."""

    data: Any
    problems: tuple[Problem, ...] = ()
    expanded: Mapping[Path, Expanded] = field(default_factory=dict)


def escape(text: str) -> str:
    """``text`` written so that interpolation gives it back unchanged (``${`` -> ``$${``)."""
    return text.replace("${", "$${")


class _Scan:
    """One string value, expanded left to right; problems as messages (located by caller)."""

    def __init__(
        self, text: str, environ: Mapping[str, str], params: _Params | None = None
    ) -> None:
        self.text = text
        self.environ = environ
        self.params = params
        self.problems: list[str] = []
        self.from_env: list[tuple[str, str]] = []
        self.changed = False

    def run(self) -> str:
        text, out, i = self.text, [], 0
        while (j := text.find("$", i)) >= 0:
            out.append(text[i:j])
            if text.startswith("$${", j):
                out.append("${")
                i, self.changed = j + 3, True
            elif text.startswith("${", j):
                end = text.find("}", j + 2)
                if end < 0:
                    shown = text[j:] if len(text) - j <= 40 else text[j : j + 37] + "..."
                    self.problems.append(f"'{shown}' has no closing '}}'; use {FORMS}")
                    out.append(text[j:])
                    i = len(text)
                    break
                out.append(self._reference(text[j : end + 1]))
                i, self.changed = end + 1, True
            else:
                out.append("$")
                i = j + 1
        out.append(text[i:])
        return "".join(out)

    def _reference(self, ref: str) -> str:
        param = _PARAM.fullmatch(ref[2:-1])
        if param is not None:
            return self._param(ref, param["name"])
        match = _ENV.fullmatch(ref[2:-1])
        if match is None:
            if ref.startswith("${env:"):
                why = (
                    "is not a valid environment reference (a name is letters, digits and _, "
                    "not starting with a digit)"
                )
            else:
                why = "is not a supported reference"
            self.problems.append(f"'{ref}' {why}; use {FORMS}")
            return ref
        name, default = match["name"], match["default"]
        value = self.environ.get(name)
        if value is None or (value == "" and default is not None):
            if default is None:
                self.problems.append(
                    f"environment variable {name} is not set (referenced as {ref}); "
                    f"export {name}=... before running, or give a default: "
                    f"${{env:{name}:-value}}"
                )
                return ref
            return default
        if value:
            self.from_env.append((value, ref))
        return value

    def _param(self, ref: str, name: str) -> str:
        if self.params is None:
            self.problems.append(f"'{ref}': a param cannot refer to a param; write its value")
            return ref
        if name not in self.params.values:
            known = ", ".join(self.params.values) or "none"
            hint = did_you_mean(name, self.params.values)
            self.problems.append(
                f"'{ref}' names no param{hint}; declared params: {known} (declare it under "
                f"the top-level params: with a default, e.g. params: {{{name}: ...}})"
            )
            return ref
        self.from_env.extend(self.params.from_env.get(name, ()))
        return param_text(self.params.values[name])


@dataclass(frozen=True)
class _Params:
    """The declared params (expanded), and the environment pieces each holds."""

    values: Mapping[str, Any]
    from_env: Mapping[str, tuple[tuple[str, str], ...]]


def param_text(value: Any) -> str:
    """A param's value inside a longer string: dates in ISO form, booleans as YAML writes them."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    return str(value)


def interpolate(
    data: Any,
    positions: Mapping[Path, tuple[int, int]],
    file: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> Interpolation:
    """Expand the references in every string value of ``data`` (a new document; keys and
    other values as they were). Every problem is collected, located by ``positions``."""
    env = os.environ if environ is None else environ
    problems: list[Problem] = []
    expanded: dict[Path, Expanded] = {}

    def located(path: Path, message: str) -> Problem:
        probe = path
        while probe not in positions and probe:
            probe = probe[:-1]
        line, column = positions.get(probe, (None, None))
        return Problem(format_path(path), message, file, line, column)

    def walk(value: Any, path: Path, params: _Params | None) -> Any:
        if isinstance(value, str):
            if "$" not in value:  # the usual case, and nothing to copy
                return value
            exact = _PARAM.fullmatch(value[2:-1]) if value.startswith("${") else None
            if exact and value.endswith("}") and params and exact["name"] in params.values:
                typed = params.values[exact["name"]]  # the param's own type: 3 stays an int
                pieces = params.from_env.get(exact["name"], ())
                expanded[path] = Expanded(value, param_text(typed), tuple(pieces))
                return typed
            scan = _Scan(value, env, params)
            result = scan.run()
            problems.extend(located(path, message) for message in scan.problems)
            if scan.changed:
                expanded[path] = Expanded(value, result, tuple(scan.from_env))
            return result
        if isinstance(value, dict):
            return {key: walk(item, (*path, key), params) for key, item in value.items()}
        if isinstance(value, list):
            return [walk(item, (*path, index), params) for index, item in enumerate(value)]
        return value  # numbers, booleans, null, dates: never interpolated

    # The params section first (environment references only), then everything else with them.
    declared = data.get("params") if isinstance(data, dict) else None
    if not isinstance(declared, dict):
        return Interpolation(walk(data, (), _Params({}, {})), tuple(problems), expanded)
    values = walk(declared, ("params",), None)
    from_env = {
        name: expanded[("params", name)].from_env for name in values if ("params", name) in expanded
    }
    params = _Params(values, from_env)
    result = {
        key: values if key == "params" else walk(item, (key,), params) for key, item in data.items()
    }
    return Interpolation(result, tuple(problems), expanded)


def _related(a: str, b: str) -> bool:
    """Whether one formatted YAML path is the other or lies inside it."""
    if a == b or "<root>" in (a, b):
        return True
    short, long = sorted((a, b), key=len)
    return long.startswith(short) and long[len(short)] in ".["


def _swapper(pairs: Mapping[str, str]) -> re.Pattern[str] | None:
    keys = sorted((k for k in pairs if k), key=len, reverse=True)
    return re.compile("|".join(map(re.escape, keys))) if keys else None


def _pairs(expanded: Iterable[Expanded], min_length: int = 1) -> dict[str, str]:
    """What to replace (a value from the environment, also as repr shows it) -> reference."""
    pairs: dict[str, str] = {}
    for item in expanded:
        if not item.from_env:
            continue  # defaults and escapes only: all of it is in the file already
        found = [(item.value, item.written), *item.from_env]
        for value, shown in found:
            if len(value) >= min_length:
                pairs.setdefault(value, shown)
                pairs.setdefault(repr(value)[1:-1], shown)
    return pairs


def _swap(text: str, pairs: Mapping[str, str]) -> str:
    # One pass: a reference put in is never searched again (its text may hold a value).
    pattern = _swapper(pairs)
    return pattern.sub(lambda m: pairs[m.group()], text) if pattern else text


def conceal(problems: Iterable[Problem], expanded: Mapping[Path, Expanded]) -> list[Problem]:
    """``problems`` with the values that came from the environment shown as the references
    that gave them, in each problem about that value (or about a mapping holding it)."""
    result = []
    by_path = [(format_path(path), item) for path, item in expanded.items() if item.from_env]
    for problem in problems:
        pairs = _pairs(item for path, item in by_path if _related(problem.path, path))
        result.append(replace(problem, message=_swap(problem.message, pairs)) if pairs else problem)
    return result


def conceal_text(text: str, expanded: Mapping[Path, Expanded]) -> str:
    """``text`` (a run's error message, a log line) with every value of at least
    :data:`MIN_CONCEALED_ANYWHERE` characters that came from the environment shown as its
    reference."""
    return _swap(text, _pairs(expanded.values(), MIN_CONCEALED_ANYWHERE))
