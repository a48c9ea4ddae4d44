"""Trakt: YAML-first ETL for tabular data."""

from trakt._version import __version__
from trakt.api import load_pipeline, load_pipeline_from_yaml, run, validate_pipeline_file
from trakt.errors import PipelineValidationError, TraktError
from trakt.steps.registry import register_step
from trakt.steps.streaming import split_chunks
from trakt.workflow import Workflow, workflow

__all__ = [
    "PipelineValidationError",
    "TraktError",
    "Workflow",
    "__version__",
    "load_pipeline",
    "load_pipeline_from_yaml",
    "register_step",
    "run",
    "split_chunks",
    "validate_pipeline_file",
    "workflow",
]
