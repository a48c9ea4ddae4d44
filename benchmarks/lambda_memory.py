"""The AWS Lambda handler's peak memory and time: a stream run of 1M rows from S3 to S3.

    .venv/bin/python benchmarks/lambda_memory.py [--rows 1000000] [--chunk 50000]

Starts moto's S3 server (a child process on 127.0.0.1), uploads a generated mixed-type CSV
(about 60 MB at 1M rows) and a pipeline file, then invokes
``trakt.runtime.aws_lambda.handler`` with a test event in a child process, as a Lambda would,
and reports its wall time and peak RSS (the figure the README's memory setting is based on).
Needs the s3 extra and moto[server] (the dev extra).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import DATA_DIR, STREAM_DOUBLE, child_pythonpath, generate_csv, measure, mib, python

STEPS = STREAM_DOUBLE  # the description's stream step
PIPELINE = """\
name: lambda_bench
inputs:
  records: {uri: records.csv}
steps:
  - {id: double, uses: lambda_steps.double, with: {input: records, output: doubled}}
outputs:
  datasets: [{name: final, from: doubled}]
"""
INVOKE = """\
import json, sys
from trakt.runtime.aws_lambda import handler
result = handler(json.loads(sys.argv[1]), None)
print(json.dumps(result))
sys.exit(0 if result["status"] == "success" else 1)
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--chunk", type=int, default=50_000)
    args = parser.parse_args()
    import s3fs

    data = generate_csv(DATA_DIR / f"mixed-{args.rows}.csv", args.rows)
    port = _free_port()
    endpoint = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [python(), "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": endpoint,
        "NO_PROXY": "127.0.0.1",
    }
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
                break
            except OSError:
                time.sleep(0.1)
        fs = s3fs.S3FileSystem(endpoint_url=endpoint, key="bench", secret="bench")
        fs.mkdir("bench")
        fs.put_file(str(data), "bench/in/records.csv")
        fs.pipe_file("bench/pipelines/p.yaml", PIPELINE.encode())
        with tempfile.TemporaryDirectory() as tmp:
            steps = Path(tmp) / "package"
            steps.mkdir()
            (steps / "lambda_steps.py").write_text(STEPS)
            env["PYTHONPATH"] = child_pythonpath(steps)
            event = {
                "pipeline_file": "s3://bench/pipelines/p.yaml",
                "input_dir": "s3://bench/in",
                "output_dir": "s3://bench/out",
                "run_id": "bench",
                "stream_chunk_size": args.chunk,
            }
            sample = measure([python(), "-c", INVOKE, json.dumps(event)], env)
        manifest = json.loads(fs.cat_file("bench/out/manifest.json"))
        size = os.path.getsize(data)
        print(
            f"lambda handler, stream, {args.rows:,} rows ({mib(size)} CSV, chunk {args.chunk:,}):"
            f" {sample.wall_s:.1f} s, peak RSS {mib(sample.peak_rss_bytes)}"
            f" (manifest: {mib(manifest['peak_rss_bytes'])}, status {manifest['status']})"
        )
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    main()
