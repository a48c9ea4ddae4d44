"""YAML -> validated pipeline model (structure only; step resolution lives in ``trakt.steps``)."""

from trakt.spec.loader import ParsedSpec, parse_spec, read_pipeline_file, spec_from_data
from trakt.spec.model import (
    InputSpec,
    OutputDataset,
    Pipeline,
    PipelineSpec,
    SourceInfo,
    StepSpec,
)

__all__ = [
    "InputSpec",
    "OutputDataset",
    "ParsedSpec",
    "Pipeline",
    "PipelineSpec",
    "SourceInfo",
    "StepSpec",
    "parse_spec",
    "read_pipeline_file",
    "spec_from_data",
]
