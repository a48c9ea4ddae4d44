"""The validated pipeline model: what a runner (local, stream, Spark...) executes.

Built from YAML (:mod:`trakt.model.loader`) or from Python (:mod:`trakt.workflow`); both go
through the same validation, so the same pipeline compares equal either way.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from trakt.errors import Problem
from trakt.model.interpolate import Expanded, conceal, conceal_text

CombineStrategy = Literal["concat", "union", "latest"]
ExecutionMode = Literal["batch", "stream"]
EXECUTION_MODES: tuple[str, ...] = ("batch", "stream")
# The frame library a step's inputs arrive in and its outputs may be (``run.frame``, ``frame:``).
FRAME_LIBRARIES: tuple[str, ...] = ("pandas", "polars", "arrow")


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


COLUMN_TYPE = r"^(int|float|string|bool|date|datetime|decimal\(\s*\d+\s*,\s*\d+\s*\))$"


class ColumnRule(_Frozen):
    """``schema.columns.<name>``: the column's type and the rules its values must follow."""

    type: str = Field(default="string", pattern=COLUMN_TYPE)
    required: bool = True
    nullable: bool = True
    unique: bool = False
    min: float | int | str | None = None
    max: float | int | str | None = None
    allowed: list[Any] | None = None

    @model_validator(mode="after")
    def _bounds_fit_the_type(self) -> ColumnRule:
        if (self.min is not None or self.max is not None) and self.type in ("string", "bool"):
            raise ValueError(f"min/max do not apply to {self.type} columns; use allowed")
        return self


class SchemaSpec(_Frozen):
    """``schema:`` on an input or output: a data contract checked as data flows."""

    columns: dict[str, ColumnRule] = Field(default_factory=dict)
    extra_columns: Literal["keep", "drop", "error"] = "keep"
    on_violation: Literal["error", "warn", "quarantine"] = "error"


class InputSpec(_Frozen):
    """``inputs.<artifact>``: where a source artifact comes from and how to read it."""

    uri: str = Field(min_length=1)
    combine_strategy: CombineStrategy = "concat"
    format: str | None = None
    sheet: str | int | None = None
    source_column: str | None = None
    on_bad_lines: Literal["error", "skip", "quarantine"] = "error"
    # skip/quarantine: more malformed records than this fail the run (an int is a count, a
    # float a fraction of the input's records like 0.01 (1.0 = all), or a percentage "1%").
    max_bad_lines: int | float | str = 1000
    options: dict[str, Any] = Field(default_factory=dict)
    schema_: SchemaSpec | None = Field(default=None, alias="schema")
    # A database input (uri sqlite:///..., postgresql://...): a whole table, or a query whose
    # ``:name`` placeholders are bound from ``params`` (never formatted into the text).
    table: str | None = Field(default=None, min_length=1)
    query: str | None = Field(default=None, min_length=1)
    params: dict[str, Any] = Field(default_factory=dict)
    # An object store's settings for fsspec (endpoint_url, key, anon...); over the pipeline's.
    storage_options: dict[str, Any] = Field(default_factory=dict)

    @field_validator("max_bad_lines", mode="before")
    @classmethod
    def _a_count_or_a_share(cls, value: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise ValueError('must be a count (100), a fraction (0.01) or a percentage ("1%")')
        if isinstance(value, str):
            number = value.strip().removesuffix("%")
            try:
                share = float(number)
            except ValueError:
                share = -1.0
            if not value.strip().endswith("%") or not 0 <= share <= 100:
                raise ValueError(f"must be a percentage between 0% and 100%, found {value!r}")
        elif isinstance(value, float) and not 0 <= value <= 1:
            # A float is always a share (1.0 is 100%); a count is a whole number (5, not 5.0).
            raise ValueError(
                f"a float is a fraction of the records, between 0 and 1 (1.0 = 100%), found "
                f"{value!r}; a count is a whole number such as {int(value) if value > 1 else 5}"
            )
        elif value < 0:
            raise ValueError(f"must be a count >= 0 or a fraction between 0 and 1, found {value!r}")
        return value


class StepSpec(_Frozen):
    """``steps[]``: one call of a step function."""

    id: str = Field(min_length=1)
    uses: str = Field(min_length=1)
    with_: dict[str, Any] = Field(default_factory=dict, alias="with")
    mode: ExecutionMode | None = None
    timeout_s: float | None = Field(default=None, gt=0)
    # Overrides the function's ``run.frame`` (default pandas); checked by the planner, which
    # names the step (the schema still lists the choices for editors).
    frame: str | None = Field(default=None, json_schema_extra={"enum": [*FRAME_LIBRARIES, None]})
    # A stream step that keeps state across chunks (overrides the function's run.stateful):
    # a distributed runner then feeds it every chunk in input order, on one partition.
    stateful: bool | None = None


class OutputDataset(_Frozen):
    """``outputs.datasets[]``: an artifact written to ``<output-dir>/<path>`` (default
    ``<name>.<the format's extension>``, ``<name>.csv`` when neither is given)."""

    name: str = Field(min_length=1)
    from_: str = Field(min_length=1, alias="from")
    format: str | None = None  # default: the path's extension's format, else csv
    path: str | None = None  # relative to the output dir
    options: dict[str, Any] = Field(default_factory=dict)  # the format's writer options
    schema_: SchemaSpec | None = Field(default=None, alias="schema")
    # A database output: ``uri`` (sqlite:///..., postgresql://...) and ``table``, written in
    # the run's one transaction per database, committed only when the whole run succeeds.
    uri: str | None = Field(default=None, min_length=1)
    table: str | None = Field(default=None, min_length=1)
    if_exists: Literal["fail", "replace", "append"] = "fail"
    upsert_keys: list[str] | None = Field(default=None, min_length=1)
    create_table: bool = True
    storage_options: dict[str, Any] = Field(default_factory=dict)


class OutputsSpec(_Frozen):
    """``outputs:``: the datasets a run writes, each from an artifact."""

    datasets: list[OutputDataset] = Field(default_factory=list)


class ExecutionSpec(_Frozen):
    """``execution:``: how the run moves data (``batch``: whole tables; ``stream``: chunks)."""

    mode: ExecutionMode = "batch"
    # Defaults of --input-dir / --output-dir, relative to the pipeline file's directory
    # (a flag, then TRAKT_INPUT_DIR / TRAKT_OUTPUT_DIR, win over these).
    input_dir: str | None = Field(default=None, min_length=1)
    output_dir: str | None = Field(default=None, min_length=1)


class PipelineSpec(_Frozen):
    """The whole pipeline document."""

    name: str = Field(min_length=1)
    inputs: dict[str, InputSpec] = Field(default_factory=dict)
    steps: list[StepSpec] = Field(default_factory=list)
    outputs: OutputsSpec = Field(default_factory=OutputsSpec)
    execution: ExecutionSpec = Field(default_factory=ExecutionSpec)
    # fsspec settings for every object-store location of the pipeline (inputs, outputs,
    # --input-dir/--output-dir); an input's or output's own storage_options override keys.
    storage_options: dict[str, Any] = Field(default_factory=dict)
    # Named values for ${params.x} references, typed by their YAML values (see params.py).
    params: dict[str, Any] = Field(default_factory=dict)

    @field_validator("params")
    @classmethod
    def _params_are_named_scalars(cls, value: dict[str, Any]) -> dict[str, Any]:
        from trakt.model.params import param_problems  # model.py is imported by params.py

        problems = param_problems(value)
        if problems:
            raise ValueError("; ".join(problems))
        return value


@dataclass(frozen=True, eq=False)
class SourceInfo:
    """Where a pipeline came from: the YAML file (with key positions) or Python code."""

    file: str | None = None
    sha256: str | None = None
    positions: Mapping[tuple[str | int, ...], tuple[int, int]] = field(default_factory=dict)
    # The string values that held ``${env:...}`` references, by path (see interpolate.py).
    expanded: Mapping[tuple[str | int, ...], Expanded] = field(default_factory=dict)
    # The values ``--set`` gave, by the path they landed at: the path as written.
    overridden: Mapping[tuple[str | int, ...], str] = field(default_factory=dict)

    def position(self, path: tuple[str | int, ...]) -> tuple[int, int] | None:
        """The position of ``path``, or of its nearest ancestor that has one."""
        while True:
            if path in self.positions:
                return self.positions[path]
            if not path:
                return None
            path = path[:-1]

    def conceal(self, problems: Iterable[Problem]) -> list[Problem]:
        """``problems`` showing ``${env:X}`` where they would show a value X gave (a secret)."""
        return conceal(problems, self.expanded) if self.expanded else list(problems)

    def conceal_text(self, text: str) -> str:
        """``text`` with the values the environment gave the file shown as their references."""
        return conceal_text(text, self.expanded) if self.expanded else text


@dataclass(frozen=True, eq=False)
class Pipeline:
    """A pipeline as loaded: the spec, its origin, and in-process step callables.

    Two pipelines are equal when their specs are equal, wherever they came from.
    """

    spec: PipelineSpec
    source: SourceInfo = field(default_factory=SourceInfo)
    # Step functions handed over in Python (workflow builder), keyed by step id.
    callables: Mapping[str, Callable[..., Any]] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def mode(self) -> str:
        return self.spec.execution.mode

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Pipeline) and self.spec == other.spec

    def __hash__(self) -> int:
        return hash(self.spec.model_dump_json())
