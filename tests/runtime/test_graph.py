"""The pipeline graph (trakt/runtime/graph.py, graph_svg.py) for every example pipeline.

- Mermaid: every node (its name) and every edge (source, artifact, target) is in the text.
- DOT: parses (a small parser of the DOT grammar below; also Graphviz's ``dot`` when installed),
  and holds every node and edge.
- SVG: well-formed XML (``xml.etree``), one ``<g data-key>`` per node with its name, nothing
  external (no link, no ``<image>``, ``<script>`` or ``<foreignObject>``, no ``url()`` but to
  its own ids, no ``@import``); statuses become classes.
- Names holding markup and quotes stay text in all three formats.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import REPO, Project, forget_package
from trakt import load_pipeline_from_yaml
from trakt.runtime.graph import PipelineGraph, pipeline_graph, to_dot, to_mermaid
from trakt.runtime.graph_svg import to_svg
from trakt.runtime.planning import ExecutionPlan, plan_pipeline

EXAMPLES = sorted([*REPO.glob("examples/*/pipeline.yaml"), *REPO.glob("examples/sql_demo/*.yaml")])
SVG = "{http://www.w3.org/2000/svg}"


def plan_of(path: Path) -> ExecutionPlan:
    """The plan of an example (their step packages are all named ``steps``: forgotten after)."""
    try:
        return plan_pipeline(load_pipeline_from_yaml(path))
    finally:
        forget_package("steps")


def expected_edges(plan: ExecutionPlan) -> set[tuple[str, str, str]]:
    """(source key, artifact, target key) of every edge, straight from the plan."""
    producer = {name: f"input:{name}" for name in plan.inputs}
    edges = set()
    for step in plan.steps:
        edges |= {(producer[a], a, f"step:{step.id}") for a in step.inputs.values()}
        producer.update({a: f"step:{step.id}" for a in step.outputs.values()})
    edges |= {(producer[o.from_], o.from_, f"output:{o.name}") for o in plan.outputs}
    return edges


def expected_nodes(plan: ExecutionPlan) -> set[str]:
    return {
        *(f"input:{n}" for n in plan.inputs),
        *(f"step:{s.id}" for s in plan.steps),
        *(f"output:{o.name}" for o in plan.outputs),
    }


@pytest.fixture(params=EXAMPLES, ids=lambda p: str(p.relative_to(REPO / "examples")))
def example(request: pytest.FixtureRequest) -> ExecutionPlan:
    return plan_of(request.param)


def test_there_are_examples() -> None:
    assert len(EXAMPLES) == 6  # builtins_demo included


def test_graph_has_the_plans_nodes_and_edges(example: ExecutionPlan) -> None:
    graph = pipeline_graph(example)

    assert {n.key for n in graph.nodes} == expected_nodes(example)
    assert {(e.source, e.artifact, e.target) for e in graph.edges} == expected_edges(example)


def test_step_modes_follow_pipeline_step_and_function() -> None:
    stream = pipeline_graph(plan_of(REPO / "examples/stream_demo/pipeline.yaml"))
    batch = pipeline_graph(plan_of(REPO / "examples/multi_file_demo/pipeline.yaml"))

    assert [(n.name, n.mode) for n in stream.nodes if n.kind == "step"] == [
        ("double_amount", "stream"),
        ("totals_by_country", "stream"),
    ]
    assert [(n.name, n.mode) for n in batch.nodes if n.kind == "step"] == [
        ("double_amount", "batch")
    ]
    depths = stream.depths()
    assert depths["input:source__records"] == 0
    assert depths["step:double_amount"] == 1
    assert depths["step:totals_by_country"] == 2
    assert depths["output:final"] == depths["output:totals"] == 3


# --- Mermaid ---------------------------------------------------------------------------------

MERMAID_NODE = re.compile(r'^  (\w+)(?:\[\("|\["|\[/")(.*?)(?:"\)\]|"\]|"/\])$')
KINDS = {"in": "input", "step": "step", "out": "output"}
MERMAID_EDGE = re.compile(r'^  (\w+) -->\|"(.*?)"\| (\w+)$')


def unmermaid(text: str) -> str:
    return re.sub(r"#(\d+);", lambda m: chr(int(m.group(1))), text)


def parse_mermaid(text: str) -> tuple[dict[str, str], set[tuple[str, str, str]]]:
    """Node ids -> their name (first label line); (source, artifact, target) edges."""
    lines = text.splitlines()
    assert lines[0] == "flowchart LR"
    nodes = {}
    edges = set()
    for line in lines[1:]:
        if node := MERMAID_NODE.match(line):
            nodes[node.group(1)] = unmermaid(node.group(2).split("<br/>")[0])
        elif edge := MERMAID_EDGE.match(line):
            edges.add((edge.group(1), unmermaid(edge.group(2)), edge.group(3)))
        else:
            assert re.match(r"^  (%%|classDef |class )", line), line
    return nodes, edges


def test_mermaid_has_every_node_and_edge(example: ExecutionPlan) -> None:
    graph = pipeline_graph(example)
    nodes, edges = parse_mermaid(to_mermaid(graph))

    keys = {node_id: f"{KINDS[node_id.split('_')[0]]}:{name}" for node_id, name in nodes.items()}
    assert set(keys.values()) == expected_nodes(example)
    assert {(keys[s], a, keys[t]) for s, a, t in edges} == expected_edges(example)


def test_mermaid_classes_mark_kinds_and_modes() -> None:
    text = to_mermaid(pipeline_graph(plan_of(REPO / "examples/stream_demo/pipeline.yaml")))

    assert "  class in_0 input\n" in text
    assert "  class step_0,step_1 stream\n" in text
    assert "  class out_0,out_1 output\n" in text
    assert 'step_0["double_amount<br/>steps.stream_double<br/>stream"]' in text


# --- DOT -------------------------------------------------------------------------------------

DOT_TOKEN = re.compile(r'\s*(?:("(?:[^"\\]|\\.)*")|(->|[{}\[\];,=])|([A-Za-z_][\w.]*|-?\d+))')


def dot_tokens(text: str) -> list[str]:
    tokens, pos = [], 0
    while text[pos:].strip():
        match = DOT_TOKEN.match(text, pos)
        assert match, f"DOT: cannot read {text[pos : pos + 40]!r}"
        tokens.append(match.group(match.lastindex or 0))
        pos = match.end()
    return tokens


def unquote(token: str) -> str:
    return re.sub(r"\\(.)", r"\1", token[1:-1]) if token.startswith('"') else token


class DotParser:
    """``digraph ID { stmt* }``; stmt: ``attr [a=b, ...]``, ``ID [..]``, ``ID -> ID [..]``,
    ``{ stmt* }``, ``a=b``; each followed by an optional ``;``."""

    def __init__(self, text: str) -> None:
        self.tokens = dot_tokens(text)
        self.pos = 0
        self.nodes: set[str] = set()
        self.edges: set[tuple[str, str, str]] = set()

    def take(self, expected: str | None = None) -> str:
        token = self.tokens[self.pos]
        assert expected is None or token == expected, f"expected {expected}, found {token}"
        self.pos += 1
        return token

    def parse(self) -> None:
        self.take("digraph")
        self.take()
        self.statements()
        assert self.pos == len(self.tokens), "tokens after the graph"

    def statements(self) -> None:
        self.take("{")
        while self.tokens[self.pos] != "}":
            self.statement()
            if self.tokens[self.pos] == ";":
                self.take()
        self.take("}")

    def statement(self) -> None:
        if self.tokens[self.pos] == "{":
            self.statements()
            return
        first = self.take()
        if first in ("graph", "node", "edge"):
            self.attributes()
        elif self.tokens[self.pos] == "=":
            self.take()
            self.take()
        elif self.tokens[self.pos] == "->":
            self.take()
            second = self.take()
            label = self.attributes().get("label", "")
            self.edges.add((unquote(first), label, unquote(second)))
        else:
            self.nodes.add(unquote(first))
            if self.tokens[self.pos] == "[":
                self.attributes()

    def attributes(self) -> dict[str, str]:
        found = {}
        self.take("[")
        while self.tokens[self.pos] != "]":
            key = self.take()
            self.take("=")
            found[key] = unquote(self.take())
            if self.tokens[self.pos] == ",":
                self.take()
        self.take("]")
        return found


def test_dot_parses_and_has_every_node_and_edge(example: ExecutionPlan) -> None:
    parser = DotParser(to_dot(pipeline_graph(example)))
    parser.parse()

    assert parser.nodes == expected_nodes(example)
    assert parser.edges == expected_edges(example)


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed")
def test_graphviz_renders_the_dot(example: ExecutionPlan) -> None:
    proc = subprocess.run(
        ["dot", "-Tsvg"], input=to_dot(pipeline_graph(example)), capture_output=True, text=True
    )

    assert (proc.returncode, proc.stderr) == (0, "")
    ET.fromstring(proc.stdout.split("\n", 6)[-1] if "<!DOCTYPE" in proc.stdout else proc.stdout)


# --- SVG -------------------------------------------------------------------------------------


def assert_self_contained(svg: str) -> ET.Element:
    """Parse ``svg``; assert that it references nothing outside itself."""
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    for element in root.iter():
        assert element.tag not in {f"{SVG}image", f"{SVG}script", f"{SVG}foreignObject"}
        for name, value in element.attrib.items():
            assert not name.endswith("href"), (element.tag, name, value)
            for ref in re.findall(r"url\(([^)]*)\)", value):
                assert ref.startswith("#"), ref
    assert "@import" not in svg
    assert not re.search(r"https?://(?!www\.w3\.org/2000/svg\")", svg)
    for ref in re.findall(r"url\(([^)]*)\)", svg):
        assert ref.startswith("#"), ref
    return root


def svg_nodes(root: ET.Element) -> dict[str, ET.Element]:
    return {g.attrib["data-key"]: g for g in root.iter(f"{SVG}g") if "data-key" in g.attrib}


def test_svg_is_well_formed_with_one_element_per_node(example: ExecutionPlan) -> None:
    graph = pipeline_graph(example)
    root = assert_self_contained(to_svg(graph))

    nodes = svg_nodes(root)
    assert set(nodes) == expected_nodes(example)
    for node in graph.nodes:
        element = nodes[node.key]
        assert element.attrib["data-name"] == node.name
        assert element.attrib["class"].split()[:2] == ["node", node.kind]
        assert element.attrib["id"].startswith(f"trakt-{node.kind}-")
        assert node.name in "".join(element.itertext())
    ids = [e.attrib["id"] for e in root.iter() if "id" in e.attrib]
    assert len(ids) == len(set(ids))
    edges = {
        (g.attrib["data-source"], g.attrib["data-artifact"], g.attrib["data-target"])
        for g in root.iter(f"{SVG}g")
        if g.attrib.get("class") == "edge"
    }
    assert edges == expected_edges(example)


def test_svg_statuses_become_classes_and_tooltips() -> None:
    graph = pipeline_graph(plan_of(REPO / "examples/stream_demo/pipeline.yaml"))
    statuses = {"step:double_amount": "success", "step:totals_by_country": "failed"}

    root = assert_self_contained(to_svg(graph, statuses, id_prefix="run 1"))

    nodes = svg_nodes(root)
    classes = "node step stream node-step status-success"
    assert nodes["step:double_amount"].attrib["class"] == classes
    lines = [t.text for t in nodes["step:double_amount"].iter(f"{SVG}text")]
    assert lines[:2] == ["double_amount", "step · success"]
    assert nodes["step:totals_by_country"].attrib["data-status"] == "failed"
    assert nodes["step:totals_by_country"].findtext(f"{SVG}title", "").endswith(" - failed")
    assert "status" not in nodes["input:source__records"].attrib["class"]
    assert nodes["output:final"].attrib["id"] == "run-1-output-final"
    style = root.findtext(f"{SVG}style", "")
    assert ".trakt-graph .node.status-failed rect { fill: #ffcdd2; }" in style


# --- names that are markup -------------------------------------------------------------------

ODD = "<b>&\"x'#1;|`\\n"
WORDS = ("odd", "step", "second", "art")

TWO_INPUTS = """
def run(ctx, left, right, output):
    return {"output": left}

run.declared_inputs = ["left", "right"]
run.declared_outputs = ["output"]
"""


@pytest.fixture
def odd(project: Project) -> Iterator[PipelineGraph]:
    uses = project.step("two", TWO_INPUTS)
    name, step, second, art = (json.dumps(f"{w} {ODD}") for w in WORDS)
    inp = "src"  # input and output names must be plain file names
    path = project.pipeline(
        f"""
        name: {name}
        inputs:
          {inp}: {{uri: in.csv}}
        steps:
          - id: {step}
            uses: {uses}
            with: {{left: {inp}, right: {inp}, output: {art}}}
          - id: {second}
            uses: {uses}
            with: {{left: {art}, right: {inp}, output: last}}
        outputs:
          datasets:
            - {{name: final, from: last}}
            - {{name: early, from: {art}}}
        """
    )
    yield pipeline_graph(plan_pipeline(load_pipeline_from_yaml(path)))


def test_odd_names_stay_text_in_every_format(odd: PipelineGraph) -> None:
    edges = {(e.source, e.artifact, e.target) for e in odd.edges}
    # one step binding one artifact twice reads it once
    assert ("input:src", "src", f"step:step {ODD}") in edges
    assert len(odd.edges) == 5

    nodes, mermaid_edges = parse_mermaid(to_mermaid(odd))
    assert sorted(nodes.values()) == sorted(n.name for n in odd.nodes)
    assert len(mermaid_edges) == 5
    assert "<b>" not in to_mermaid(odd)

    parser = DotParser(to_dot(odd))
    parser.parse()
    assert parser.nodes == {n.key for n in odd.nodes}
    assert parser.edges == edges

    root = assert_self_contained(to_svg(odd))
    assert {k: g.attrib["data-name"] for k, g in svg_nodes(root).items()} == {
        n.key: n.name for n in odd.nodes
    }
    assert root.findtext(f"{SVG}title") == f"pipeline odd {ODD} (batch)"
    # the edge that skips the second step's column goes around it, along a lane
    early = [g for g in root.iter(f"{SVG}g") if g.attrib.get("data-target") == "output:early"]
    assert " L " in early[0].find(f"{SVG}path").attrib["d"]  # type: ignore[union-attr]
