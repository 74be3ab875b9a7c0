"""The in-browser site's tooling (book/_ext/lite_site.py), without network or browser.

A fake Pyodide release (an npm-like tarball with a lock, core files and two package files) stands in
for the real one, so the checks run anywhere: verification passes on the pinned files and fails loudly,
naming the file, on any byte changed. The browser side is in tests/browser/test_lite.py.
"""

import hashlib
import io
import json
import sys
import tarfile
from types import SimpleNamespace

import pytest

from _notebooks import ROOT

sys.path.insert(0, str(ROOT / "book" / "_ext"))
import lite_site  # noqa: E402


def _sha(data):
    return hashlib.sha256(data).hexdigest()


LOCK = {"info": {"version": "9.9.9"}, "packages": {
    "numpy": {"file_name": "numpy-1-any.whl", "depends": [], "sha256": _sha(b"numpy")},
    "matplotlib": {"file_name": "mpl-1-any.whl", "depends": ["numpy", "Pillow"], "sha256": _sha(b"mpl")},
    "pillow": {"file_name": "pil-1-any.whl", "depends": [], "sha256": _sha(b"pil")},
    "scipy": {"file_name": "scipy-1-any.whl", "depends": ["numpy"], "sha256": _sha(b"scipy")},
}}


@pytest.fixture
def fake_cache(tmp_path, monkeypatch):
    """A verified cache for a fake Pyodide 9.9.9 with numpy, matplotlib and pillow; returns (pins, folder)."""
    monkeypatch.setattr(lite_site, "CACHE", tmp_path)
    out = tmp_path / "9.9.9"
    (out / "dist").mkdir(parents=True)
    (out / "pypi").mkdir()
    lock_bytes = json.dumps(LOCK).encode()
    tar_path = out / "pyodide-9.9.9.tgz"
    with tarfile.open(tar_path, "w:gz") as t:
        for name, data in [("pyodide-lock.json", lock_bytes)] + [(c, c.encode()) for c in lite_site.CORE]:
            info = tarfile.TarInfo(f"package/{name}")
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))
    for name in lite_site.CORE:
        (out / "dist" / name).write_bytes(name.encode())
    for name, data in [("numpy-1-any.whl", b"numpy"), ("mpl-1-any.whl", b"mpl"), ("pil-1-any.whl", b"pil")]:
        (out / "dist" / name).write_bytes(data)
    (out / "pypi" / "comm-0.2.2-py3-none-any.whl").write_bytes(b"comm")
    pins = {"pyodide": {"version": "9.9.9", "npm_sha256": _sha(tar_path.read_bytes()), "lock_sha256": _sha(lock_bytes),
                        "packages": ["matplotlib"]},
            "pypi": {"comm": {"version": "0.2.2", "sha256": _sha(b"comm")}}}
    return pins, out


def test_the_pins_name_one_pyodide_and_only_what_the_exercises_need():
    pins = lite_site.load_pins()
    assert pins["pyodide"]["version"] == "0.27.7"
    assert {"numpy", "matplotlib", "ipython", "micropip"} <= set(pins["pyodide"]["packages"])
    assert not {"scipy", "scikit-learn", "pandas", "pyarrow"} & set(pins["pyodide"]["packages"])
    assert all(len(p["sha256"]) == 64 for p in pins["pypi"].values())


def test_dependencies_follow_from_the_lock():
    assert lite_site.needed_packages(LOCK, ["matplotlib"]) == ["matplotlib", "numpy", "pillow"]
    with pytest.raises(lite_site.LiteSiteError, match="'sklearn' is not a package of Pyodide 9.9.9"):
        lite_site.needed_packages(LOCK, ["sklearn"])
    pruned = lite_site.pruned_lock(LOCK, ["numpy"])
    assert pruned["info"] == LOCK["info"] and list(pruned["packages"]) == ["numpy"]


def test_verify_accepts_the_pinned_files(fake_cache):
    pins, _ = fake_cache
    assert lite_site.verify(pins) == LOCK


@pytest.mark.parametrize("tamper", ["dist/mpl-1-any.whl", "dist/pyodide.asm.wasm", "pypi/comm-0.2.2-py3-none-any.whl"])
def test_verify_fails_loudly_on_a_changed_file(fake_cache, tamper):
    pins, out = fake_cache
    (out / tamper).write_bytes(b"not the release's file")
    with pytest.raises(lite_site.LiteSiteError, match=r"CHECKSUM MISMATCH: .*" + tamper.split("/")[-1].replace(".", r"\.")):
        lite_site.verify(pins)


def test_verify_fails_on_a_changed_lock_or_a_missing_cache(fake_cache):
    pins, out = fake_cache
    bad = {**pins, "pyodide": {**pins["pyodide"], "lock_sha256": "0" * 64}}
    with pytest.raises(lite_site.LiteSiteError, match="CHECKSUM MISMATCH: pyodide-lock.json"):
        lite_site.verify(bad)
    (out / "dist" / "pil-1-any.whl").unlink()
    with pytest.raises(lite_site.LiteSiteError, match="pil-1-any.whl is missing: run `make lite-cache`"):
        lite_site.verify(pins)
    (out / "pyodide-9.9.9.tgz").unlink()
    with pytest.raises(lite_site.LiteSiteError, match="make lite-cache"):
        lite_site.verify(pins)


def test_the_browser_copy_of_a_notebook_says_where_work_is_kept():
    notes = json.loads((ROOT / "book" / "lite" / "notes.json").read_text())
    path = ROOT / "exercises" / "09_autoencoders.ipynb"
    nb = lite_site.browser_notebook(path, notes)
    first = "".join(nb["cells"][0]["source"])
    assert "kept in this browser's storage" in first and "File > Download" in first
    assert "Slower here" in first                                    # what the browser kernel does slowly
    assert nb["cells"][1:] == json.loads(path.read_text())["cells"]
    assert nb["metadata"]["kernelspec"]["name"] == "python"           # JupyterLite's Pyodide kernel
    assert set(notes) - {"all"} <= {p.stem for p in (ROOT / "exercises").glob("*.ipynb")}


def test_chapter_and_exercise_pages_link_to_their_notebook_in_the_site():
    app = SimpleNamespace(srcdir=str(ROOT))
    for pagename in ("chapters/03_chain_rule", "exercises/03_chain_rule"):
        ctx = {"header_buttons": [{"label": "launch-buttons", "buttons": []}], "body": "<h1>x</h1>"}
        lite_site._link(app, pagename, "page.html", ctx, None)
        url = "../lite/notebooks/index.html?path=03_chain_rule.ipynb"
        assert ctx["header_buttons"][0]["buttons"][0]["url"] == url
        assert f'href="{url}">{lite_site.LINK_TEXT}</a>' in ctx["body"] and ctx["body"].endswith("<h1>x</h1>")
    ctx = {"header_buttons": [{"label": "launch-buttons", "buttons": []}], "body": "b"}
    lite_site._link(app, "book/intro", "page.html", ctx, None)
    assert ctx == {"header_buttons": [{"label": "launch-buttons", "buttons": []}], "body": "b"}
    assert lite_site.lite_url("index", "a.ipynb") == "lite/notebooks/index.html?path=a.ipynb"
