"""The README runs as pasted: every code block marked ``<!-- readme-test -->`` (the curl
walkthrough, sweeps, metrics, the event stream, the Python client, the CLI) runs in README order,
in one shell, against a fresh `rbm-service serve`. Only the address changes (the server listens on
a free port); the Python block runs where it stands, through the same shell."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.client.server import running_server

ROOT = Path(__file__).resolve().parents[2]
MARK = "<!-- readme-test -->"
BLOCK = re.compile(re.escape(MARK) + r"\s*\n```(bash|python)\n(.*?)\n```", re.S)


def marked_blocks(text: str) -> list[tuple[str, str]]:
    blocks = [(m.group(1), m.group(2)) for m in BLOCK.finditer(text)]
    assert len(blocks) == text.count(MARK), "every readme-test mark must precede a ```bash or ```python block"
    return blocks


def script(blocks: list[tuple[str, str]], port: int) -> str:
    """One bash script: bash blocks as they are, python blocks through the venv's interpreter."""
    parts = ["set -e"]  # stop at the first failing command (a paste would go on and show the error)
    for lang, code in blocks:
        code = code.replace("localhost:8000", f"127.0.0.1:{port}")
        if lang == "python":
            parts.append(f"\"{sys.executable}\" - <<'README_PYTHON'\n{code}\nREADME_PYTHON")
        else:
            parts.append(code)
    return "\n\n".join(parts) + "\n"


def test_blocks_are_found():
    kinds = [lang for lang, _ in marked_blocks((ROOT / "README.md").read_text())]
    assert kinds.count("bash") >= 4 and kinds.count("python") == 1, kinds


@pytest.mark.slow
def test_readme_blocks_run_as_pasted_on_a_fresh_server(tmp_path):
    blocks = marked_blocks((ROOT / "README.md").read_text())
    work = tmp_path / "work"
    work.mkdir()
    with running_server(tmp_path / "data") as url:
        port = int(url.rsplit(":", 1)[1])
        env = {**os.environ, "RBM_URL": url, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
               "COLUMNS": "200"}
        env.pop("RBM_API_KEY", None)
        run = subprocess.run(["bash", "-c", script(blocks, port)], cwd=work, env=env, capture_output=True, text=True,
                             timeout=900)
        out = run.stdout
        assert run.returncode == 0, f"exit {run.returncode}\n--- stdout\n{out[-4000:]}\n--- stderr\n{run.stderr[-4000:]}"

    walkthrough = re.search(r"job (\w+) succeeded: model (\w+)", out)
    assert walkthrough, out[-3000:]
    model = walkthrough.group(2)
    assert '"samples"' in out and '"diagnostics"' in out  # step 4's answer
    assert re.search(r"'model_id': '\w+'", out)  # the sweep's best
    assert "['model.n_hidden', 'training.learning_rate']" in out  # compare: what differed
    assert "rbm_job_duration_seconds_count" in out and "http_requests_total" in out
    assert "event: status" in out and "succeeded" in out  # the event stream, to its end
    assert re.search(r"^ais -?\d", out, re.M)  # the Python client's log Z on 64 units: AIS
    assert "digits-py" in out
    assert model in out.splitlines()  # `rbm jobs wait $JOB` printed the walkthrough's model id
    for png in ("samples.png", "sweep-curves.png"):
        assert (work / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", png
    assert (work / "samples.npy").exists()
