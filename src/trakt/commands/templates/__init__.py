"""``trakt init`` project templates as Python strings (so they ship in the wheel as modules).

A template is a mapping of relative paths to file text; ``__NAME__`` stands for the pipeline
name. Every template has ``pipelines/<name>/pipeline.yaml``, a ``steps`` package with one step
module, a sample input under ``data/``, a README.md and a .gitignore, and runs as it is with
``trakt run --pipeline <name>`` from the project directory: ``uses: steps.<module>`` resolves
because the directory a run starts in is searched for step modules.
"""

from __future__ import annotations

from collections.abc import Mapping

from trakt.commands.templates import batch_csv, sql, stream

PLACEHOLDER = "__NAME__"

GITIGNORE = """\
# trakt run's outputs and manifest.json (--output-dir, default output/)
output/
# SQLite databases written by pipelines
*.db
__pycache__/
*.pyc
"""

STEPS_INIT = '"""Step modules of this project: `uses: steps.<module>` runs its run(ctx, ...)."""\n'

TEMPLATES: Mapping[str, Mapping[str, str]] = {
    "csv": batch_csv.FILES,
    "stream": stream.FILES,
    "sql": sql.FILES,
}

DESCRIPTIONS: Mapping[str, str] = {
    "csv": "batch: a CSV in, one pandas step, a CSV out",
    "stream": "execution.mode: stream: a CSV read in chunks through a streaming step",
    "sql": "a CSV loaded into a SQLite table (sqlite:/// relative to the project dir)",
}


def render(template: str, name: str) -> dict[str, str]:
    """The files of ``template`` for pipeline ``name``: relative path -> text."""
    files = {".gitignore": GITIGNORE, "steps/__init__.py": STEPS_INIT, **TEMPLATES[template]}
    return {
        path.replace(PLACEHOLDER, name): text.replace(PLACEHOLDER, name)
        for path, text in files.items()
    }
