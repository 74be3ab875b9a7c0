"""Importing bpkit is quiet and cheap: no output, no heavy or optional imports, no network,
no change to NumPy's global random state. Every module's ``__all__`` is honest and every
public function and class in it has a docstring."""

import importlib
import inspect
import json
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import bpkit

ROOT = Path(__file__).resolve().parents[1]

#: Optional or heavy packages that only the functions needing them may import.
LAZY = ["matplotlib", "sklearn", "tqdm", "ipywidgets", "IPython"]

PROBE = r"""
import json, socket, sys
attempts = []
def refuse(*args, **kwargs):
    attempts.append(repr(args))
    raise OSError("network disabled by test_import")
socket.socket.connect = socket.socket.connect_ex = refuse
socket.create_connection = socket.getaddrinfo = refuse

import numpy as np
before = np.random.get_state()
import bpkit
after = np.random.get_state()
print(json.dumps({
    "rng_unchanged": before[0] == after[0] and bool((before[1] == after[1]).all()) and before[2:] == after[2:],
    "lazy_loaded": sorted(m for m in %r if m in sys.modules),
    "network_attempts": attempts,
    "bpkit_modules": sorted(m for m in sys.modules if m.startswith("bpkit")),
}))
"""


def _run(code):
    return subprocess.run([sys.executable, "-W", "default", "-c", code], cwd=ROOT, capture_output=True,
                          text=True, timeout=60)


@pytest.fixture(scope="module")
def probe():
    proc = _run(PROBE % (LAZY,))
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == "", f"importing bpkit wrote to stderr:\n{proc.stderr}"
    return json.loads(proc.stdout)


def test_import_prints_nothing():
    proc = _run("import bpkit")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == ""
    assert proc.stderr == ""             # -W default: even a DeprecationWarning would show here


def test_import_does_not_load_optional_packages(probe):
    assert probe["lazy_loaded"] == []


def test_import_leaves_numpy_global_rng_alone(probe):
    assert probe["rng_unchanged"] is True


def test_import_does_not_touch_the_network(probe):
    assert probe["network_attempts"] == []


def test_import_loads_the_core_but_not_plot_checks_or_widgets(probe):
    loaded = set(probe["bpkit_modules"])
    assert {"bpkit.ops", "bpkit.nn", "bpkit.losses", "bpkit.optim", "bpkit.train", "bpkit.data"} <= loaded
    assert not loaded & {"bpkit.plot", "bpkit.checks", "bpkit.widgets", "bpkit.course"}


def test_the_probe_would_notice_a_leak():
    """The subprocess checks can fail: seeding, or importing tqdm, is detected."""
    leaky = PROBE.replace("import bpkit\n", "import bpkit, tqdm\nnp.random.seed(0)\n")
    out = json.loads(_run(leaky % (LAZY,)).stdout)
    assert out["rng_unchanged"] is False
    assert "tqdm" in out["lazy_loaded"]


# ----------------------------------------------------------------------------- __all__ and docstrings

def _modules():
    names = ["bpkit"] + [m.name for m in pkgutil.walk_packages(bpkit.__path__, "bpkit.")]
    return [importlib.import_module(n) for n in names]


MODULES = _modules()


def test_all_modules_are_found():
    names = {m.__name__ for m in MODULES}
    assert {"bpkit.ops", "bpkit.nn", "bpkit.losses", "bpkit.optim", "bpkit.gradcheck", "bpkit.init", "bpkit.data",
            "bpkit.train", "bpkit.plot", "bpkit.checks", "bpkit.checks.ch01"} <= names


@pytest.mark.parametrize("mod", MODULES, ids=lambda m: m.__name__)
def test_module_has_a_docstring_and_an_honest_all(mod):
    assert (mod.__doc__ or "").strip(), f"{mod.__name__} has no module docstring"
    assert hasattr(mod, "__all__"), f"{mod.__name__} has no __all__"
    assert len(mod.__all__) == len(set(mod.__all__)), f"{mod.__name__}.__all__ lists a name twice"
    missing = [n for n in mod.__all__ if not hasattr(mod, n)]
    assert not missing, f"{mod.__name__}.__all__ names {missing}, which do not exist"


#: Known gaps in modules this test may not edit; strict, so the marker goes once they are fixed.
DOC_XFAIL = {}   # module name -> reason, for a known undocumented public name


@pytest.mark.parametrize("mod", [pytest.param(m, marks=[pytest.mark.xfail(strict=True, reason=DOC_XFAIL[m.__name__])]
                                              if m.__name__ in DOC_XFAIL else []) for m in MODULES],
                         ids=lambda m: m.__name__)
def test_public_functions_and_classes_have_docstrings(mod):
    undocumented = []
    for name in mod.__all__:
        obj = getattr(mod, name)
        if inspect.isfunction(obj) or inspect.isclass(obj):
            if not (obj.__doc__ or "").strip():          # own docstring, not inherited from a base class
                undocumented.append(name)
        elif inspect.ismodule(obj) and not (obj.__doc__ or "").strip():
            undocumented.append(name)
    assert not undocumented, f"{mod.__name__}: no docstring for {undocumented}"


def test_star_import_gives_exactly_all():
    ns = {}
    exec("from bpkit.losses import *", ns)
    assert sorted(k for k in ns if not k.startswith("__")) == sorted(bpkit.losses.__all__)
