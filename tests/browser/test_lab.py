"""JupyterLab end to end: a student opens Chapter 1's exercises, runs them, answers one.

JupyterLab runs on 127.0.0.1 with an empty token, in a temporary folder holding a copy of
``exercises/01_forward_pass.ipynb`` (the repository's copy is never opened, so an autosave
cannot change it), with its own config, runtime and workspace folders; it is stopped by
PID at the end. Screenshots go to ``_build/browser-artifacts/lab-*.png``.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from conftest import ROOT, free_port

NOTEBOOK = "01_forward_pass.ipynb"
CHECKS = 7                       # check cells in the notebook, each prints a verdict
NEURON = '''def neuron(x, w, b):
    """Output of one sigmoid neuron: x (D,), w (D,), b float -> float."""
    z = np.dot(x, w) + b
    return float(1.0 / (1.0 + np.exp(-z)))'''
TIMEOUT_MS = 120_000


def answer_neuron(page, answer):
    """Type the answer of Exercise 1.1 into the cell ``answer``, run it and its check (the next cell), and wait
    for the check's correct verdict. JupyterLab and JupyterLite alike."""
    answer.locator(".cm-content").click()
    page.keyboard.press("Control+A")
    page.keyboard.insert_text(NEURON)                   # no auto-indent: the text goes in as written
    page.keyboard.press("Shift+Enter")                   # runs the answer, selects the check
    page.keyboard.press("Shift+Enter")                   # runs the check
    page.wait_for_function("""() => {
        const cell = [...document.querySelectorAll('.jp-CodeCell')]
            .find(c => c.innerText.includes('check_neuron(neuron)'));
        const out = cell && cell.querySelector('.jp-OutputArea');
        return out && /\u2714 correct/.test(out.innerText) && !/not attempted/.test(out.innerText);
    }""")


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    home = tmp_path_factory.mktemp("lab")
    work = home / "work"
    work.mkdir()
    shutil.copy(ROOT / "exercises" / NOTEBOOK, work / NOTEBOOK)
    notify = home / "settings" / "@jupyterlab" / "apputils-extension"
    notify.mkdir(parents=True)
    (notify / "notification.jupyterlab-settings").write_text('{"fetchNews": "false", "checkForUpdates": false}')
    # Render every cell (JupyterLab 4 otherwise leaves cells outside the viewport out of the DOM).
    tracker = home / "settings" / "@jupyterlab" / "notebook-extension"
    tracker.mkdir(parents=True)
    (tracker / "tracker.jupyterlab-settings").write_text('{"windowingMode": "none"}')
    port = free_port()
    env = dict(os.environ, JUPYTER_CONFIG_DIR=str(home / "config"), JUPYTER_RUNTIME_DIR=str(home / "runtime"),
               JUPYTERLAB_WORKSPACES_DIR=str(home / "workspaces"), JUPYTERLAB_SETTINGS_DIR=str(home / "settings"),
               JUPYTER_DATA_DIR=str(home / "data"), IPYTHONDIR=str(home / "ipython"))
    # keep the kernels (the venv's ipykernel) visible although JUPYTER_DATA_DIR moved
    env["JUPYTER_PATH"] = str(Path(sys.prefix) / "share" / "jupyter")
    cmd = [sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root", "--ServerApp.ip=127.0.0.1",
           f"--ServerApp.port={port}", "--ServerApp.port_retries=0", "--IdentityProvider.token=",
           "--ServerApp.password=", "--ServerApp.disable_check_xsrf=True", f"--ServerApp.root_dir={work}",
           "--LabApp.news_url=", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
    log = open(home / "lab.log", "w")
    proc = subprocess.Popen(cmd, cwd=work, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{url}/api/status", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                log.flush()
                pytest.fail(f"JupyterLab did not start ({proc.poll()=}):\n" + (home / "lab.log").read_text()[-3000:])
            time.sleep(0.5)
        yield url, work
    finally:
        os.kill(proc.pid, signal.SIGTERM)                 # stop it by PID
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()
    assert proc.returncode is not None


def _outputs(cell):
    return cell.locator(".jp-OutputArea-output").all_inner_texts()


def _wait_idle(page):
    page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=TIMEOUT_MS)


def test_student_runs_the_exercises_answers_one_and_moves_a_slider(lab, new_page, artifacts):
    url, work = lab
    page, log = new_page()
    try:
        _student_session(page, log, url, work, artifacts)
    except BaseException:
        page.screenshot(path=str(artifacts / "lab-failure.png"), full_page=True)
        raise


def _student_session(page, log, url, work, artifacts):
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(f"{url}/lab/tree/{NOTEBOOK}", wait_until="domcontentloaded")
    page.wait_for_selector(".jp-Notebook .jp-Cell")
    try:                                                 # JupyterLab may ask which kernel to start
        page.locator(".jp-Dialog button.jp-mod-accept").click(timeout=5000)
    except Exception:                                    # no dialog: the notebook's kernelspec was enough
        pass
    _wait_idle(page)

    # Run all cells from the menu, as a student would.
    page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
    page.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click()
    verdicts = page.locator(".jp-OutputArea-output", has_text="not attempted yet")
    page.wait_for_function(f"() => [...document.querySelectorAll('.jp-OutputArea-output')]"
                           f".filter(e => e.innerText.includes('not attempted yet')).length >= {CHECKS}")
    _wait_idle(page)
    page.screenshot(path=str(artifacts / "lab-1-run-all.png"))
    assert verdicts.count() >= CHECKS
    errors = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")
    assert not [t for t in errors.all_inner_texts() if "Traceback" in t], "a cell raised"

    # Answer exercise 1.1 and re-run it and its check.
    answer = page.locator(".jp-CodeCell", has_text="def neuron(x, w, b):").first
    check = page.locator(".jp-CodeCell", has_text="check_neuron(neuron)").first
    assert any("not attempted yet" in t for t in _outputs(check))
    answer_neuron(page, answer)
    _wait_idle(page)
    check.scroll_into_view_if_needed()
    page.screenshot(path=str(artifacts / "lab-2-correct-answer.png"))
    text = " ".join(_outputs(check))
    assert "\u2714 correct \u2014 Exercise 1.1 (neuron)" in text, text
    assert "not attempted" not in text and "incorrect" not in text, text

    # Move the neuron explorer's bias slider with the keyboard; the picture and summary follow.
    widget = page.locator(".jp-CodeCell", has_text="explorer = NeuronExplorer").first
    widget.scroll_into_view_if_needed()
    handle = widget.locator(".widget-slider:has(.widget-label:text-is('b')) .noUi-target:not([disabled]) .noUi-handle")
    assert handle.count() == 1, "the bias slider should be the one enabled slider (the weights are locked)"
    status = widget.locator(".widget-html pre").first
    before_text, before_img = status.inner_text(), widget.locator("img").first.get_attribute("alt")
    before_value = handle.get_attribute("aria-valuenow")
    handle.focus()
    for _ in range(5):
        page.keyboard.press("ArrowRight")
    from playwright.sync_api import expect
    expect(status).not_to_have_text(before_text, timeout=TIMEOUT_MS)    # re-queried: the HTML is replaced
    widget.screenshot(path=str(artifacts / "lab-3-slider-moved.png"))
    assert handle.get_attribute("aria-valuenow") != before_value
    assert status.inner_text() != before_text
    assert widget.locator("img").first.get_attribute("alt") != before_img
    assert not log.foreign, f"JupyterLab requested other hosts: {log.foreign[:5]}"

    # The student's copy was the one opened; the repository's notebook is what `release` wrote.
    assert (work / NOTEBOOK).exists()
    assert subprocess.run([sys.executable, "-m", "bpkit.course", "--root", str(ROOT), "check"],
                          capture_output=True).returncode == 0
