"""``pulse invoke``: any function with an event file, its result alone on stdout, like sam local invoke."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from pulse.local.invoke import invoke

SAMPLE = Path(__file__).parent / "sample"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def restore_environment() -> Iterator[None]:
    """invoke sets the template's literal variables; keep them out of other tests."""
    saved = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(saved)


def _pulse(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pulse.cli", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=dict(os.environ),
    )


def test_invoke_an_sqs_function_prints_only_its_result():
    completed = _pulse(
        "--template",
        str(SAMPLE / "template.yaml"),
        "invoke",
        "WorkerFunction",
        "--event",
        str(SAMPLE / "events/sqs.json"),
    )

    assert completed.returncode == 0, completed.stderr
    assert json.loads(completed.stdout) == {
        "batchItemFailures": [{"itemIdentifier": "2e1424d4-f796-459a-8184-9c92662be6da"}],
        "function": "WorkerFunction",
        "memory": 256,
        # Literal template values are set; a !Ref is not (it describes a deployment).
        "environment": {"SAMPLE_LITERAL": "from-template", "SAMPLE_REF": None},
    }
    assert "worker log line" in completed.stderr


def test_invoke_an_http_function_with_its_event_file():
    completed = _pulse("invoke", "HealthFunction", "--event", "events/health.json")

    assert completed.returncode == 0, completed.stderr
    result = json.loads(completed.stdout)
    assert result["statusCode"] == 200
    assert json.loads(result["body"])["status"] == "ok"


def test_unknown_function_is_exit_2_with_the_known_ones(capsys):
    code = invoke(template=SAMPLE / "template.yaml", logical_id="NoSuchFunction", event_path="x.json")

    assert code == 2
    error = capsys.readouterr().err
    assert "no function 'NoSuchFunction'" in error and "WorkerFunction" in error


@pytest.mark.parametrize("content", [None, "{not json"])
def test_unreadable_event_is_exit_2(tmp_path, capsys, content):
    event = tmp_path / "event.json"
    if content is not None:
        event.write_text(content)

    code = invoke(template=SAMPLE / "template.yaml", logical_id="WorkerFunction", event_path=str(event))

    assert code == 2
    assert "cannot read the event" in capsys.readouterr().err


def test_a_raising_handler_is_reported_like_lambda_with_exit_1(tmp_path):
    event = tmp_path / "event.json"
    event.write_text("{}")
    output = io.StringIO()

    code = invoke(
        template=SAMPLE / "template.yaml",
        logical_id="ExplodingFunction",
        event_path=str(event),
        output=output,
    )

    assert code == 1
    error = json.loads(output.getvalue())
    assert error["errorType"] == "RuntimeError"
    assert error["errorMessage"] == "the handler broke"
    assert any("explode" in frame for frame in error["stackTrace"])


def test_the_event_can_come_from_stdin(monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.StringIO((SAMPLE / "events/sqs.json").read_text()))
    output = io.StringIO()

    code = invoke(
        template=SAMPLE / "template.yaml", logical_id="WorkerFunction", event_path="-", output=output
    )

    assert code == 0
    assert json.loads(output.getvalue())["batchItemFailures"] == [
        {"itemIdentifier": "2e1424d4-f796-459a-8184-9c92662be6da"}
    ]
