"""Resolving ``uses:`` (aliases, module paths, functions, entry points) and the binding contract."""

from __future__ import annotations

import hashlib
import importlib
import re
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import trakt
from tests.conftest import Project, forget_package
from trakt.errors import RegistryError, StepResolutionError, TraktError
from trakt.steps import bind, describe, registered_aliases, resolve_step, unregister_step
from trakt.steps import registry as registry_module
from trakt.steps.binding import BindingProblem, Bindings


class Modules(Project):
    """Step modules written under a unique top-level package in ``tmp_path``."""

    def write(self, dotted: str, source: str) -> str:
        """Write ``<package>.<dotted>`` (creating sub-packages); return its full dotted name."""
        parts = dotted.split(".")
        folder = self.root / self.package
        for part in parts[:-1]:
            folder = folder / part
            folder.mkdir(exist_ok=True)
            init = folder / "__init__.py"
            if not init.exists():
                init.write_text("", encoding="utf-8")
        (folder / f"{parts[-1]}.py").write_text(textwrap.dedent(source), encoding="utf-8")
        importlib.invalidate_caches()
        return f"{self.package}.{dotted}"


def _unique(nodeid: str, name: str, prefix: str) -> str:
    digest = hashlib.sha1(nodeid.encode()).hexdigest()[:8]
    return f"{prefix}_{re.sub(r'[^0-9A-Za-z_]', '_', name)[:40]}_{digest}"


@pytest.fixture
def modules(tmp_path: Path) -> Iterator[Modules]:
    mods = Modules(tmp_path)
    yield mods
    forget_package(mods.package)


@pytest.fixture
def alias(request: pytest.FixtureRequest) -> Iterator[str]:
    """A unique alias name, unregistered after the test."""
    name = _unique(request.node.nodeid, request.node.name, "alias")
    yield name
    unregister_step(name)


SIMPLE_RUN = """
def run(ctx, input, output):
    return {"output": input}
"""


def _step_a(ctx: Any, input: Any, output: Any) -> dict[str, Any]:
    return {"output": input}


def _step_b(ctx: Any, input: Any, output: Any) -> dict[str, Any]:
    return {"output": input}


# --- aliases ---------------------------------------------------------------------------------


def test_register_step_function_form(alias: str) -> None:
    returned = trakt.register_step(alias, _step_a)

    assert returned is _step_a
    assert alias in registered_aliases()
    step = resolve_step(alias)
    assert step.fn is _step_a
    assert step.reference == f"alias '{alias}'"
    assert step.parameters == frozenset({"input", "output"})


def test_register_step_decorator_form(alias: str) -> None:
    @trakt.register_step(alias)
    def decorated(ctx: Any, input: Any, output: Any, factor: int = 2) -> dict[str, Any]:
        return {"output": input}

    decorated.declared_inputs = ["input"]  # type: ignore[attr-defined]
    decorated.declared_outputs = ["output"]  # type: ignore[attr-defined]

    assert callable(decorated) and decorated.__name__ == "decorated"
    step = resolve_step(alias)
    assert step.fn is decorated
    assert step.declared_inputs == ("input",)
    assert step.declared_outputs == ("output",)
    assert step.parameters == frozenset({"input", "output", "factor"})


def test_registering_the_same_function_twice_is_harmless(alias: str) -> None:
    trakt.register_step(alias, _step_a)
    trakt.register_step(alias, _step_a)

    assert resolve_step(alias).fn is _step_a


def test_reregistering_an_alias_replaces_it_with_a_warning(alias: str) -> None:
    trakt.register_step(alias, _step_a)

    with pytest.warns(RuntimeWarning, match=rf"step alias '{alias}' \(registered by .*_step_a\)"):
        trakt.register_step(alias, _step_b)

    assert resolve_step(alias).fn is _step_b


def test_reregistering_via_decorator_replaces_it_with_a_warning(alias: str) -> None:
    trakt.register_step(alias, _step_a)

    with pytest.warns(RuntimeWarning, match=r"is replaced by .*other"):

        @trakt.register_step(alias)
        def other(ctx: Any) -> None:
            return None

    assert resolve_step(alias).fn is other


def test_unregister_step_frees_the_alias(alias: str) -> None:
    trakt.register_step(alias, _step_a)
    unregister_step(alias)

    assert alias not in registered_aliases()
    trakt.register_step(alias, _step_b)
    assert resolve_step(alias).fn is _step_b
    unregister_step("never-registered")  # no error


@pytest.mark.parametrize(
    ("name", "fn", "match"),
    [
        ("", _step_a, r"step alias must be a non-empty string, got ''"),
        ("not_callable", 42, r"step alias 'not_callable': expected a callable, got int"),
    ],
)
def test_invalid_registrations(name: str, fn: Any, match: str) -> None:
    with pytest.raises(RegistryError, match=match):
        trakt.register_step(name, fn)
    assert name not in registered_aliases()


def test_alias_wins_over_module_path(modules: Modules) -> None:
    dotted = modules.write("mod", SIMPLE_RUN)
    trakt.register_step(dotted, _step_a)
    try:
        step = resolve_step(dotted, [modules.root])
        assert step.fn is _step_a
    finally:
        unregister_step(dotted)
    assert resolve_step(dotted, [modules.root]).reference == f"{dotted}.run"


def test_alias_used_in_pipeline(tmp_path: Path, alias: str) -> None:
    trakt.register_step(alias, _step_a)
    path = tmp_path / "pipeline.yaml"
    path.write_text(
        "name: demo\n"
        "inputs: {src: {uri: src.csv}}\n"
        f"steps: [{{id: s, uses: {alias}, with: {{input: src, output: out}}}}]\n"
        "outputs: {datasets: [{name: final, from: out}]}\n",
        encoding="utf-8",
    )

    assert trakt.load_pipeline_from_yaml(path).spec.steps[0].uses == alias


# --- module paths and functions --------------------------------------------------------------


def test_module_exporting_run(modules: Modules) -> None:
    dotted = modules.write("steps.normalize.double_amount", SIMPLE_RUN)

    step = resolve_step(dotted, [modules.root])

    assert step.reference == f"{dotted}.run"
    assert step.fn.__module__ == dotted
    assert step.fn.__name__ == "run"
    assert step.declared_inputs is None and not step.is_declared
    assert step.supports_stream is False
    assert step.parameters == frozenset({"input", "output"})
    # the search directory is only added for the duration of the call
    assert str(modules.root.resolve()) not in sys.path


def test_package_module_function(modules: Modules) -> None:
    dotted = modules.write(
        "lib",
        """
        def double(ctx, input, output, *, factor=2, **options):
            return {"output": input}

        double.declared_inputs = ["input"]
        double.declared_outputs = ["output"]
        double.supports_stream = True
        double.stream_inputs = ["input"]

        NOT_CALLABLE = 3
        """,
    )

    step = resolve_step(f"{dotted}.double", [modules.root])

    assert step.reference == f"{dotted}.double"
    assert step.fn.__name__ == "double"
    assert step.declared_inputs == ("input",)
    assert step.declared_outputs == ("output",)
    assert step.supports_stream is True
    assert step.stream_inputs == ("input",)
    assert step.parameters == frozenset({"input", "output", "factor"})
    assert step.accepts_any_keyword is True

    with pytest.raises(StepResolutionError, match=rf"'{dotted}\.NOT_CALLABLE' is not callable"):
        resolve_step(f"{dotted}.NOT_CALLABLE", [modules.root])


def test_module_without_run_falls_back_to_function_lookup(modules: Modules) -> None:
    dotted = modules.write("norun", "def helper(ctx):\n    return {}\n")

    with pytest.raises(StepResolutionError) as info:
        resolve_step(dotted, [modules.root])

    message = info.value.message
    assert f"module '{dotted}' exporting run(): module '{dotted}' has no callable 'run'" in message
    assert f"function 'norun' in module '{modules.package}'" in message


def test_module_on_sys_path_wins_over_search_dirs(
    modules: Modules, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = tmp_path / "first"
    second = tmp_path / "second"
    name = modules.package + "_top"
    for folder, tag in ((first, "first"), (second, "second")):
        folder.mkdir()
        (folder / f"{name}.py").write_text(
            f"def run(ctx, input, output):\n    return {{}}\n\nrun.tag = {tag!r}\n",
            encoding="utf-8",
        )
    monkeypatch.syspath_prepend(str(first))
    try:
        step = resolve_step(name, [second])
        assert step.fn.tag == "first"  # type: ignore[attr-defined]
    finally:
        forget_package(name)


def test_unresolvable_reference_lists_attempts(tmp_path: Path) -> None:
    with pytest.raises(StepResolutionError) as info:
        resolve_step("no_such_pkg_xyz.sub.func", [tmp_path])

    message = info.value.message
    assert message.startswith("cannot resolve uses 'no_such_pkg_xyz.sub.func'. Tried: ")
    assert "alias 'no_such_pkg_xyz.sub.func': not registered" in message
    assert (
        "module 'no_such_pkg_xyz.sub.func' exporting run(): no module named 'no_such_pkg_xyz'"
        in message
    )
    assert (
        "function 'func' in module 'no_such_pkg_xyz.sub': no module named 'no_such_pkg_xyz'"
        in message
    )
    assert f"Searched sys.path and {tmp_path.resolve()}" in message
    assert info.value.fields == {"uses": "no_such_pkg_xyz.sub.func"}
    assert info.value.exit_code == 2


def test_unresolvable_plain_name_has_no_function_attempt() -> None:
    with pytest.raises(StepResolutionError, match=r"cannot resolve uses 'nodots_xyz'") as info:
        resolve_step("nodots_xyz")

    assert "function '" not in info.value.message
    assert info.value.message.count("Tried: ") == 1


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("raise ImportError('broken inside')\n", "ImportError: broken inside"),
        (
            "import definitely_missing_dependency_xyz\n",
            "ModuleNotFoundError: No module named 'definitely_missing_dependency_xyz'",
        ),
        ("from os import does_not_exist_xyz\n", "ImportError: cannot import name"),
        ("1 / 0\n", "ZeroDivisionError: division by zero"),
    ],
)
def test_module_failing_to_import_is_not_reported_as_missing(
    modules: Modules, body: str, reason: str
) -> None:
    dotted = modules.write("broken", body + SIMPLE_RUN)

    with pytest.raises(StepResolutionError) as info:
        resolve_step(dotted, [modules.root])

    message = info.value.message
    assert f"module '{dotted}' failed to import: {reason}" in message
    assert f"no module named '{dotted}'" not in message


def test_failing_module_in_function_form(modules: Modules) -> None:
    dotted = modules.write("broken_lib", "raise ImportError('inner')\n\ndef fn(ctx):\n    pass\n")

    with pytest.raises(StepResolutionError) as info:
        resolve_step(f"{dotted}.fn", [modules.root])

    message = info.value.message
    assert f"function 'fn' in module '{dotted}': module '{dotted}' failed to import" in message
    assert f"no module named '{dotted}'" not in message


def test_failing_step_module_in_pipeline(modules: Modules) -> None:
    dotted = modules.write("explodes", "raise RuntimeError('config missing')\n" + SIMPLE_RUN)
    path = modules.root / "pipeline.yaml"
    path.write_text(
        f"name: demo\nsteps:\n  - id: s\n    uses: {dotted}\n    with: {{output: out}}\n",
        encoding="utf-8",
    )

    with pytest.raises(trakt.PipelineValidationError, match=r"failed to import") as info:
        trakt.load_pipeline_from_yaml(path)

    problem = info.value.problems[0]
    assert (problem.path, problem.line) == ("steps[0].uses", 4)
    assert "RuntimeError: config missing" in problem.message


@pytest.mark.parametrize(
    ("attr", "value"),
    [
        ("declared_inputs", "input"),
        ("declared_outputs", ["ok", 3]),
        ("stream_inputs", "input"),
    ],
)
def test_bad_declarations_are_resolution_errors(attr: str, value: Any) -> None:
    def run(ctx: Any, input: Any, output: Any) -> None:
        return None

    setattr(run, attr, value)

    with pytest.raises(StepResolutionError, match=rf"ref: {attr} must be a list of binding names"):
        describe(run, "ref")


# --- entry points ----------------------------------------------------------------------------


@pytest.fixture
def entry_points(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> Iterator[Callable[[dict[str, str]], str]]:
    """Install a fake distribution with ``trakt.steps`` entry points on a temporary sys.path.

    Returns a function taking ``{alias: "module:attr"}`` and returning a unique module name
    (``MOD`` in the values is replaced by it). The registry's state is restored afterwards.
    """
    site = tmp_path / "site"
    site.mkdir()
    module = _unique(request.node.nodeid, request.node.name, "epmod")
    monkeypatch.setattr(registry_module, "_aliases", dict(registry_module._aliases))
    monkeypatch.setattr(registry_module, "_origins", dict(registry_module._origins))
    monkeypatch.setattr(registry_module, "_entry_points_loaded", False)

    def install(points: dict[str, str]) -> str:
        (site / f"{module}.py").write_text(
            textwrap.dedent(
                """
                def run(ctx, input, output):
                    return {"output": input}

                run.declared_inputs = ["input"]
                run.declared_outputs = ["output"]
                """
            ),
            encoding="utf-8",
        )
        dist = site / f"{module}_dist-1.0.dist-info"
        dist.mkdir()
        (dist / "METADATA").write_text(
            f"Metadata-Version: 2.1\nName: {module}-dist\nVersion: 1.0\n", encoding="utf-8"
        )
        lines = [f"{name} = {target.replace('MOD', module)}" for name, target in points.items()]
        (dist / "entry_points.txt").write_text(
            "[trakt.steps]\n" + "\n".join(lines) + "\n", encoding="utf-8"
        )
        monkeypatch.syspath_prepend(str(site))
        return module

    yield install
    forget_package(module)


def test_entry_point_alias_is_resolved(entry_points: Callable[[dict[str, str]], str]) -> None:
    module = entry_points({"ep_double_xyz": "MOD:run"})

    step = resolve_step("ep_double_xyz")

    assert step.fn is sys.modules[module].run
    assert step.reference == "alias 'ep_double_xyz'"
    assert step.declared_inputs == ("input",)
    assert "ep_double_xyz" in registered_aliases()
    assert registry_module._origins["ep_double_xyz"] == (
        f"entry point of {module}-dist ({module}:run)"
    )


def test_entry_point_alias_conflicting_with_registered_alias(
    entry_points: Callable[[dict[str, str]], str],
) -> None:
    trakt.register_step("ep_taken_xyz", _step_a)
    entry_points({"ep_taken_xyz": "MOD:run"})

    with pytest.raises(RegistryError, match=r"step alias 'ep_taken_xyz' is already registered"):
        resolve_step("ep_taken_xyz")


def test_broken_entry_point_is_reported(entry_points: Callable[[dict[str, str]], str]) -> None:
    entry_points({"ep_broken_xyz": "ep_no_such_module_xyz:run"})

    with pytest.raises(
        TraktError,
        match=r"entry point 'ep_broken_xyz = ep_no_such_module_xyz:run' in group 'trakt\.steps' "
        r"failed to load: ModuleNotFoundError",
    ):
        resolve_step("ep_broken_xyz")


def test_broken_entry_point_does_not_hide_the_others(
    entry_points: Callable[[dict[str, str]], str],
) -> None:
    # "a broken plugin must not hide the others": the good alias resolves, every time.
    module = entry_points(
        {"ep_broken_first_xyz": "ep_no_such_module_xyz:run", "ep_good_xyz": "MOD:run"}
    )

    assert resolve_step("ep_good_xyz").fn is sys.modules[module].run
    assert resolve_step("ep_good_xyz").fn is sys.modules[module].run


# --- the binding contract --------------------------------------------------------------------


def _bind(
    fn: Callable[..., Any], with_: dict[str, Any], known: set[str] | None = None
) -> tuple[Bindings, list[BindingProblem]]:
    return bind(with_, describe(fn, "ref"), known or set())


def _declared(ctx: Any, data: Any, result: Any, factor: int = 2) -> None:
    return None


_declared.declared_inputs = ["data"]  # type: ignore[attr-defined]
_declared.declared_outputs = ["result"]  # type: ignore[attr-defined]


def _convention(
    ctx: Any, input: Any, input_lookup: Any, output: Any, output_rejects: Any, factor: int = 2
) -> None:
    return None


def _kwargs(ctx: Any, **kwargs: Any) -> None:
    return None


def test_declared_bindings() -> None:
    bindings, problems = _bind(_declared, {"data": "a", "result": "b", "factor": 3})

    assert problems == []
    assert bindings == Bindings(inputs={"data": "a"}, outputs={"result": "b"}, params={"factor": 3})


def test_declared_step_does_not_use_the_naming_convention() -> None:
    bindings, problems = _bind(_declared, {"data": "a", "result": "b", "input_x": "c"})

    assert dict(bindings.inputs) == {"data": "a"}
    assert dict(bindings.params) == {"input_x": "c"}
    assert [p.key for p in problems] == ["input_x"]
    assert problems[0].message.startswith(
        "`with` key 'input_x' is not a declared binding or parameter of ref"
    )
    assert problems[0].message.endswith(
        "inputs: ['data'], outputs: ['result'], parameters: ['factor']"
    )


def test_declared_binding_missing() -> None:
    _, problems = _bind(_declared, {"data": "a"})

    assert problems == [
        BindingProblem(
            None,
            "ref declares output 'result' but `with` does not bind it; add `result: <artifact>`",
        )
    ]


def test_declared_binding_without_parameter() -> None:
    def run(ctx: Any, data: Any) -> None:
        return None

    run.declared_inputs = ["data"]  # type: ignore[attr-defined]
    run.declared_outputs = ["result"]  # type: ignore[attr-defined]

    _, problems = _bind(run, {"data": "a", "result": "b"})

    assert [p.message for p in problems] == [
        "ref declares binding 'result' but has no parameter 'result'; "
        "add it to the signature or accept **kwargs"
    ]


def test_declared_only_inputs() -> None:
    def run(ctx: Any, data: Any, output: Any) -> None:
        return None

    run.declared_inputs = ["data"]  # type: ignore[attr-defined]

    bindings, problems = _bind(run, {"data": "a", "output": "b"}, known={"b"})

    # declared: only `data` is a binding; `output` is a plain parameter, not ambiguous
    assert problems == []
    assert dict(bindings.outputs) == {}
    assert dict(bindings.params) == {"output": "b"}


def test_convention_bindings() -> None:
    with_ = {
        "input": "a",
        "input_lookup": "b",
        "output": "c",
        "output_rejects": "d",
        "factor": 5,
    }

    bindings, problems = _bind(_convention, with_)

    assert problems == []
    assert dict(bindings.inputs) == {"input": "a", "input_lookup": "b"}
    assert dict(bindings.outputs) == {"output": "c", "output_rejects": "d"}
    assert dict(bindings.params) == {"factor": 5}


def test_convention_key_must_start_with_prefix_and_underscore() -> None:
    def run(ctx: Any, inputs: Any, outputfile: Any) -> None:
        return None

    bindings, problems = _bind(run, {"inputs": "x", "outputfile": "y"})

    assert problems == []
    assert dict(bindings.inputs) == {} and dict(bindings.outputs) == {}
    assert dict(bindings.params) == {"inputs": "x", "outputfile": "y"}


def test_convention_unknown_parameter_with_did_you_mean() -> None:
    _, problems = _bind(_convention, {"input": "a", "output": "b", "factr": 3})

    assert [p.key for p in problems] == ["factr"]
    assert "(did you mean 'factor'?)" in problems[0].message
    assert problems[0].message.endswith(
        "inputs: ['input'], outputs: ['output'], parameters: ['factor', 'input_lookup', "
        "'output_rejects']"
    )


def test_convention_binding_without_parameter() -> None:
    _, problems = _bind(_convention, {"input": "a", "output": "b", "input_extra": "c"})

    assert [(p.key, p.message) for p in problems] == [
        (
            None,
            "ref declares binding 'input_extra' but has no parameter 'input_extra'; "
            "add it to the signature or accept **kwargs",
        )
    ]


def test_ambiguous_parameter_naming_an_artifact() -> None:
    def run(ctx: Any, input: Any, output: Any, lookup: Any) -> None:
        return None

    _, problems = _bind(run, {"input": "a", "output": "b", "lookup": "codes"}, known={"codes"})

    assert [p.key for p in problems] == ["lookup"]
    assert problems[0].message.startswith(
        "'lookup: codes' is ambiguous: 'codes' is an artifact, but ref declares no bindings"
    )
    assert "Set run.declared_inputs / run.declared_outputs" in problems[0].message


def test_ambiguity_only_for_undeclared_steps() -> None:
    bindings, problems = _bind(
        _declared, {"data": "a", "result": "b", "factor": "codes"}, {"codes"}
    )

    assert problems == []
    assert dict(bindings.params) == {"factor": "codes"}


def test_parameters_pass_through_unchanged() -> None:
    value = {"nested": [1, 2, {"deep": True}]}

    bindings, problems = _bind(
        _convention, {"input": "a", "output": "b", "factor": value}, known={"a"}
    )

    assert problems == []
    assert bindings.params["factor"] is value


def test_binding_value_must_be_an_artifact_name() -> None:
    bindings, problems = _bind(_convention, {"input": ["a", "b"], "output": None})

    assert [(p.key, p.message) for p in problems] == [
        ("input", "binding 'input' must name an artifact, found ['a', 'b']"),
        ("output", "binding 'output' must name an artifact, found None"),
    ]
    assert dict(bindings.inputs) == {} and dict(bindings.outputs) == {}


def test_kwargs_accepts_any_key_and_any_binding() -> None:
    bindings, problems = _bind(
        _kwargs, {"input": "a", "output_x": "b", "anything": 1, "other": [1]}
    )

    assert problems == []
    assert dict(bindings.inputs) == {"input": "a"}
    assert dict(bindings.outputs) == {"output_x": "b"}
    assert dict(bindings.params) == {"anything": 1, "other": [1]}


def test_kwargs_still_flags_ambiguous_artifact_parameter() -> None:
    _, problems = _bind(_kwargs, {"input": "a", "lookup": "codes"}, known={"codes"})

    assert [p.key for p in problems] == ["lookup"]
    assert "is ambiguous" in problems[0].message


def test_declared_with_kwargs() -> None:
    def run(ctx: Any, **kwargs: Any) -> None:
        return None

    run.declared_inputs = ["left", "right"]  # type: ignore[attr-defined]
    run.declared_outputs = ["joined"]  # type: ignore[attr-defined]

    bindings, problems = _bind(run, {"left": "a", "right": "b", "joined": "c", "how": "inner"})

    assert problems == []
    assert dict(bindings.inputs) == {"left": "a", "right": "b"}
    assert dict(bindings.outputs) == {"joined": "c"}
    assert dict(bindings.params) == {"how": "inner"}


def test_first_parameter_is_the_context() -> None:
    def run(context: Any, input: Any, output: Any) -> None:
        return None

    step = describe(run, "ref")

    assert step.parameters == frozenset({"input", "output"})
    assert step.accepts_any_keyword is False
