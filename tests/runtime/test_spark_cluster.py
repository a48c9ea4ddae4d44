"""A real standalone cluster from the pyspark package (a Master and one Worker on 127.0.0.1):
the stream example run on it through the CLI, from a directory that is not the pipeline's,
gives the local runner's bytes; both daemons are stopped by PID."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from trakt.api import load_pipeline_from_yaml
from trakt.runtime.local_runner import LocalRunner

pytestmark = [pytest.mark.spark, pytest.mark.slow]
pyspark = pytest.importorskip("pyspark")

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "stream_demo"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(log: Path, text: str, process: subprocess.Popen[bytes], seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if text in log.read_text(errors="replace"):
            return
        if process.poll() is not None:
            break
        time.sleep(0.5)
    raise AssertionError(f"{text!r} not in {log}:\n{log.read_text(errors='replace')[-3000:]}")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """spark://127.0.0.1:PORT of a Master with one registered Worker."""
    home = Path(pyspark.__file__).parent
    spark_class = str(home / "bin" / "spark-class")
    logs = tmp_path_factory.mktemp("cluster")
    env = {**os.environ, "SPARK_HOME": str(home), "SPARK_LOCAL_IP": "127.0.0.1"}
    port = free_port()
    url = f"spark://127.0.0.1:{port}"
    started: list[subprocess.Popen[bytes]] = []
    try:
        with open(logs / "master.log", "wb") as out:
            master = subprocess.Popen(
                [spark_class, "org.apache.spark.deploy.master.Master", "--host", "127.0.0.1",
                 "--port", str(port), "--webui-port", str(free_port())],
                stdout=out, stderr=subprocess.STDOUT, env=env,
            )  # fmt: skip
        started.append(master)
        wait_for(logs / "master.log", "I have been elected leader", master, 120)
        with open(logs / "worker.log", "wb") as out:
            worker = subprocess.Popen(
                [spark_class, "org.apache.spark.deploy.worker.Worker", url, "--host",
                 "127.0.0.1", "--cores", "2", "--memory", "2g", "--webui-port",
                 str(free_port()), "--work-dir", str(logs / "work")],
                stdout=out, stderr=subprocess.STDOUT, env=env,
            )  # fmt: skip
        started.append(worker)
        wait_for(logs / "master.log", "Registering worker", master, 120)
        yield url
    finally:
        for process in reversed(started):  # spark-class execs java: this PID is the JVM
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def test_the_example_on_a_standalone_cluster(cluster: str, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    out = tmp_path / "spark"
    done = subprocess.run(
        [sys.executable, "-m", "trakt.run_local", "--runner", "spark",
         "--spark-master", cluster,
         "--spark-conf", "spark.driver.host=127.0.0.1",
         "--spark-conf", "spark.driver.bindAddress=127.0.0.1",
         "--spark-conf", "spark.executor.memory=1g",
         "--spark-conf", "spark.ui.enabled=false",
         "--pipeline-file", str(EXAMPLE / "pipeline.yaml"),
         "--input-dir", str(EXAMPLE / "input"), "--output-dir", str(out),
         "--stream-chunk-size", "2", "-q"],
        cwd=elsewhere, capture_output=True, text=True, timeout=300,
        env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    local = LocalRunner(EXAMPLE / "input", tmp_path / "local", stream_chunk_size=2).run(
        load_pipeline_from_yaml(EXAMPLE / "pipeline.yaml")
    )
    assert local["status"] == "success"
    for name in ("final.csv", "totals.csv"):
        assert (out / name).read_bytes() == (tmp_path / "local" / name).read_bytes(), name
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["runner"]["master"] == cluster
    assert manifest["runner"]["application_id"].startswith("app-")
    assert {s["where"] for s in manifest["steps"]} == {"executors"}
