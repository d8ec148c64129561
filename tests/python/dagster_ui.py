"""Driving a real Dagster webserver through its GraphQL API, as the UI does; and stopping
the process groups the tests start (webserver, daemon, code servers, run workers)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from orchestration.settings import PROJECT_DIR

WORKSPACE_QUERY = """
query {
  workspaceOrError {
    __typename
    ... on Workspace {
      locationEntries {
        name
        locationOrLoadError {
          __typename
          ... on RepositoryLocation { repositories { name jobs { name } } }
          ... on PythonError { message }
        }
      }
    }
  }
}
"""

LAUNCH_RUN = """
mutation LaunchRun($executionParams: ExecutionParams!) {
  launchRun(executionParams: $executionParams) {
    __typename
    ... on LaunchRunSuccess { run { runId status } }
    ... on PythonError { message }
    ... on RunConfigValidationInvalid { errors { message } }
    ... on InvalidSubsetError { message }
    ... on PipelineNotFoundError { message }
    ... on UnauthorizedError { message }
  }
}
"""

RUN_STATUS = """
query RunStatus($runId: ID!) {
  runOrError(runId: $runId) {
    __typename
    ... on Run { status }
  }
}
"""

LAUNCH_BACKFILL = """
mutation LaunchBackfill($backfillParams: LaunchBackfillParams!) {
  launchPartitionBackfill(backfillParams: $backfillParams) {
    __typename
    ... on LaunchBackfillSuccess { backfillId }
    ... on PythonError { message }
    ... on PartitionKeysNotFoundError { message }
    ... on UnauthorizedError { message }
  }
}
"""

BACKFILL_STATUS = """
query Backfill($backfillId: String!) {
  partitionBackfillOrError(backfillId: $backfillId) {
    __typename
    ... on PartitionBackfill { status runs(limit: 20) { runId status } }
    ... on PythonError { message }
  }
}
"""

FINISHED = frozenset({"SUCCESS", "FAILURE", "CANCELED"})
BACKFILL_FINISHED = frozenset({"COMPLETED", "COMPLETED_SUCCESS", "COMPLETED_FAILED", "FAILED"})


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class DagsterUi:
    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def graphql(self, query: str, variables: Mapping[str, Any] | None = None) -> dict[str, Any]:
        body = json.dumps({"query": query, "variables": dict(variables or {})}).encode()
        request = urllib.request.Request(  # noqa: S310 - a fixed http://127.0.0.1 URL
            f"{self.url}/graphql", data=body, headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
            document: dict[str, Any] = json.loads(response.read())
        if document.get("errors"):
            raise AssertionError(f"GraphQL errors: {document['errors']}")
        data: dict[str, Any] = document["data"]
        return data

    def log_tail(self) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-60:])

    def wait_until_loaded(self, timeout: float) -> dict[str, list[str]]:
        """Wait for the code location to load; return its jobs by location name."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"dagster dev exited early:\n{self.log_tail()}")
            try:
                workspace = self.graphql(WORKSPACE_QUERY)["workspaceOrError"]
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(1)
                continue
            entries = workspace.get("locationEntries") or []
            loaded = {}
            for entry in entries:
                location = entry.get("locationOrLoadError") or {}
                if location.get("__typename") == "PythonError":
                    raise AssertionError(f"code location failed to load: {location['message']}")
                if location.get("__typename") == "RepositoryLocation":
                    loaded[entry["name"]] = [
                        job["name"] for repo in location["repositories"] for job in repo["jobs"]
                    ]
            if loaded:
                return loaded
            time.sleep(1)
        raise AssertionError(f"code location not loaded after {timeout:.0f} s:\n{self.log_tail()}")

    def launch_run(self, location: str, job: str, run_config: Mapping[str, Any]) -> str:
        result = self.graphql(
            LAUNCH_RUN,
            {
                "executionParams": {
                    "selector": {
                        "repositoryLocationName": location,
                        "repositoryName": "__repository__",
                        "jobName": job,
                    },
                    "runConfigData": dict(run_config),
                    "mode": "default",
                }
            },
        )["launchRun"]
        if result["__typename"] != "LaunchRunSuccess":
            raise AssertionError(f"launchRun failed: {result}")
        run_id: str = result["run"]["runId"]
        return run_id

    def launch_backfill(self, assets: list[str], partitions: list[str]) -> str:
        """What *Materialize…* → *Launch backfill* does for the selected assets and partitions."""
        result = self.graphql(
            LAUNCH_BACKFILL,
            {
                "backfillParams": {
                    "assetSelection": [{"path": [asset]} for asset in assets],
                    "partitionNames": partitions,
                }
            },
        )["launchPartitionBackfill"]
        if result["__typename"] != "LaunchBackfillSuccess":
            raise AssertionError(f"launchPartitionBackfill failed: {result}")
        backfill_id: str = result["backfillId"]
        return backfill_id

    def wait_for_backfill(self, backfill_id: str, timeout: float) -> dict[str, Any]:
        """Poll until the daemon finished the backfill; return its status and runs."""
        deadline = time.monotonic() + timeout
        backfill: dict[str, Any] = {}
        while time.monotonic() < deadline:
            backfill = self.graphql(BACKFILL_STATUS, {"backfillId": backfill_id})[
                "partitionBackfillOrError"
            ]
            if backfill.get("status") in BACKFILL_FINISHED:
                return backfill
            time.sleep(2)
        raise AssertionError(f"backfill {backfill_id} still {backfill} after {timeout:.0f} s")

    def wait_for_run(self, run_id: str, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        status = "UNKNOWN"
        while time.monotonic() < deadline:
            status = str(self.graphql(RUN_STATUS, {"runId": run_id})["runOrError"]["status"])
            if status in FINISHED:
                return status
            time.sleep(1)
        raise AssertionError(f"run {run_id} still {status} after {timeout:.0f} s")


@contextmanager
def dagster_dev(env: Mapping[str, str], dagster_home: Path) -> Iterator[DagsterUi]:
    """``dagster dev`` (webserver, daemon, code server) on a free 127.0.0.1 port.

    Its own process group, so that the webserver, the daemon and the code server are all
    stopped on the way out, whatever happened.
    """
    port = free_port()
    (dagster_home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    log = dagster_home / "dagster-dev.log"
    dagster = Path(sys.executable).with_name("dagster")
    with log.open("wb") as output:
        process = subprocess.Popen(  # noqa: S603 - our virtualenv's dagster
            [str(dagster), "dev", "--host", "127.0.0.1", "--port", str(port)],
            cwd=PROJECT_DIR,
            env={**os.environ, **env, "DAGSTER_HOME": str(dagster_home)},
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        yield DagsterUi(url=f"http://127.0.0.1:{port}", process=process, log=log)
    finally:
        stop_group(process)


def stop_group(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        with suppress(subprocess.TimeoutExpired):
            process.wait(timeout=30)
    # dagster dev's children may outlive it; the group id is the leader's pid.
    with suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=10)
