"""YAML -> validated pipeline model (structure only; step resolution lives in ``trakt.steps``)."""

from trakt.model.loader import ParsedSpec, parse_spec, read_pipeline_file
from trakt.model.model import (
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
]
