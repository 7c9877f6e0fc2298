"""A server that does not start is reported with the end of its log (a crash at start-up then
shows its traceback in the test failure rather than hiding behind a skip)."""

from __future__ import annotations

import sys

import pytest

from demo.runner import free_port, subprocess_server


def test_a_server_that_exits_while_starting_is_reported_with_its_log(tmp_path):
    script = "import sys; print('Traceback: ImportError: no module named flaskk'); sys.exit(3)"
    with (
        pytest.raises(RuntimeError) as err,
        subprocess_server(
            [sys.executable, "-c", script],
            f"http://127.0.0.1:{free_port()}/ready",
            tmp_path / "server.log",
            "the test server",
            timeout_s=30,
        ),
    ):
        pass
    text = str(err.value)
    assert "the test server exited with status 3 while starting" in text
    assert "ImportError: no module named flaskk" in text
    assert str(tmp_path / "server.log") in text


def test_a_server_that_never_answers_is_stopped_and_reported_with_its_log(tmp_path):
    script = "import time; print('listening on the wrong port', flush=True); time.sleep(60)"
    with (
        pytest.raises(RuntimeError) as err,
        subprocess_server(
            [sys.executable, "-c", script],
            f"http://127.0.0.1:{free_port()}/ready",
            tmp_path / "server.log",
            "the test server",
            timeout_s=3,
        ),
    ):
        pass
    text = str(err.value)
    assert "did not answer" in text and "listening on the wrong port" in text
