"""Mutation testing of the exercise checks: first-order mutants of each solution, told apart by running them.

:func:`mutants` makes the mutants of a solution's source with :mod:`ast`, one change each, in
the families of issue 14 (see ``FAMILIES``). :class:`Exercise` runs a solution notebook's set-up
once, then the solution, a mutant or a check in that namespace, in this process (not through the
grader). ``tests/test_mutation.py`` decides for each mutant whether it is equivalent to the
solution (the same outputs on the random inputs of ``tests/_mutate_inputs.py``) and, if not,
requires the exercise's check to reject it.
"""

from __future__ import annotations

import ast
import contextlib
import copy
import signal
import warnings

import numpy as np

from _notebooks import ROOT, _cells, _gid, _python, _src

FAMILIES = ("operator", "constant", "axis", "keepdims", "transpose", "sum-mean", "drop-factor", "drop-term",
            "drop-divisor", "comparison", "swap-args", "negate-return")

_SWAP = {ast.Add: [ast.Sub], ast.Sub: [ast.Add], ast.Mult: [ast.Div, ast.Add], ast.Div: [ast.Mult, ast.FloorDiv],
         ast.FloorDiv: [ast.Div], ast.MatMult: [ast.Mult], ast.Pow: [ast.Mult]}
_CMP = {ast.Gt: ast.GtE, ast.GtE: ast.Gt, ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Eq: ast.NotEq, ast.NotEq: ast.Eq}
_REDUCE = {"sum": "mean", "mean": "sum"}


def _constants(v):
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return []
    out = [v + 1, v - 1]
    if v != 0:
        out.append(0)
    if v == 2:
        out.append(1)
    if v == 1:
        out += [2, 0.5]
    if v == 0.5:
        out.append(1)
    return list(dict.fromkeys(type(v)(o) if isinstance(v, int) and float(o).is_integer() else o for o in out))


class _Sites(ast.NodeVisitor):
    """Every place in a function body where a family applies: ``(family, node index, variant)``."""

    def __init__(self):
        self.sites, self.index = [], -1

    def generic_visit(self, node):
        self.index += 1
        i = self.index
        add = lambda fam, var: self.sites.append((fam, i, var))      # noqa: E731
        if isinstance(node, (ast.BinOp, ast.AugAssign)):
            for new in _SWAP.get(type(node.op), []):
                add("operator", new)
        if isinstance(node, ast.BinOp):
            if isinstance(node.op, ast.Mult):
                add("drop-factor", "left"), add("drop-factor", "right")
            if isinstance(node.op, (ast.Add, ast.Sub)):
                add("drop-term", "left"), add("drop-term", "right")
            if isinstance(node.op, (ast.Div, ast.FloorDiv)):
                add("drop-divisor", "left")
            if isinstance(node.op, ast.MatMult):
                add("transpose", "left"), add("transpose", "right")
        if isinstance(node, ast.Constant):
            for v in _constants(node.value):
                add("constant", v)
        if isinstance(node, ast.keyword) and node.arg == "axis" and isinstance(node.value, ast.Constant) \
                and node.value.value in (0, 1):
            add("axis", 1 - node.value.value)
        if isinstance(node, ast.Call):
            kws = {k.arg for k in node.keywords}
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            if "keepdims" in kws:
                add("keepdims", "drop")
            elif "axis" in kws and name in ("sum", "mean", "max", "min", "std", "var"):
                add("keepdims", "add")
            if len(node.args) >= 2:
                for k in range(len(node.args) - 1):
                    add("swap-args", k)
        if isinstance(node, ast.Attribute):
            if node.attr == "T":
                add("transpose", "remove")
            if node.attr in _REDUCE:
                add("sum-mean", _REDUCE[node.attr])
        if isinstance(node, ast.Compare) and len(node.ops) == 1 and type(node.ops[0]) in _CMP:
            add("comparison", _CMP[type(node.ops[0])])
        if isinstance(node, ast.Return) and node.value is not None:
            if isinstance(node.value, ast.Tuple):
                for k in range(len(node.value.elts)):
                    add("negate-return", k)
            else:
                add("negate-return", None)
        super().generic_visit(node)


class _Apply(ast.NodeTransformer):
    def __init__(self, target, family, variant):
        self.target, self.family, self.variant, self.index = target, family, variant, -1

    def generic_visit(self, node):
        self.index += 1
        if self.index != self.target:
            return super().generic_visit(node)
        super().generic_visit(node)                    # visit children first (their indices come after)
        f, v = self.family, self.variant
        if f == "operator":
            node.op = v()
        elif f == "drop-factor" or f == "drop-divisor" or f == "drop-term":
            if f == "drop-term" and v == "right" and isinstance(node.op, ast.Sub):
                return ast.UnaryOp(ast.USub(), node.right)
            return node.left if v == "left" else node.right
        elif f == "transpose" and v in ("left", "right"):
            side = getattr(node, v)
            setattr(node, v, ast.Attribute(side, "T", ast.Load()))
        elif f == "transpose":
            return node.value
        elif f == "constant":
            node.value = v
        elif f == "axis":
            node.value = ast.Constant(v)
        elif f == "keepdims":
            node.keywords = ([k for k in node.keywords if k.arg != "keepdims"] if v == "drop"
                             else node.keywords + [ast.keyword("keepdims", ast.Constant(True))])
        elif f == "swap-args":
            node.args[v], node.args[v + 1] = node.args[v + 1], node.args[v]
        elif f == "sum-mean":
            node.attr = v
        elif f == "comparison":
            node.ops = [v()]
        elif f == "negate-return":
            if v is None:
                node.value = ast.UnaryOp(ast.USub(), node.value)
            else:
                node.value.elts[v] = ast.UnaryOp(ast.USub(), node.value.elts[v])
        return node


def mutants(source: str):
    """``[(family, description, mutated source)]``: every first-order mutant of the function in ``source``."""
    tree = ast.parse(source)
    fn = next(n for n in tree.body if isinstance(n, ast.FunctionDef))
    sites = _Sites()
    for stmt in fn.body:
        sites.visit(stmt)
    base = ast.unparse(tree)
    out, seen = [], {base}
    for family, index, variant in sites.sites:
        t = copy.deepcopy(tree)
        f = next(n for n in t.body if isinstance(n, ast.FunctionDef))
        app = _Apply(index, family, variant)
        f.body = [app.visit(s) for s in f.body]
        try:
            src = ast.unparse(ast.fix_missing_locations(t))
            compile(src, "<mutant>", "exec")
        except (SyntaxError, ValueError, TypeError):
            continue
        if src in seen:
            continue
        seen.add(src)
        vname = getattr(variant, "__name__", variant)
        out.append((family, f"{family} #{index} -> {vname}", src))
    return out


class _Timeout(Exception):
    pass


@contextlib.contextmanager
def time_limit(seconds):
    def handler(signum, frame):
        raise _Timeout()
    old = signal.signal(signal.SIGALRM, handler)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


class Exercise:
    """One exercise of a solution notebook: its solution's source, its function's name and its check call."""

    _setups = {}

    def __init__(self, notebook, grade_id):
        cells = _cells(ROOT / "solutions" / notebook)
        self.notebook, self.grade_id = notebook, grade_id
        prefix = "_".join(grade_id.split("_")[:2])
        sol = next(c for c in cells if _gid(c) == grade_id)
        self.source = _src(sol)
        self.fn_name = next(n.name for n in ast.parse(self.source).body if isinstance(n, ast.FunctionDef))
        check = next(c for c in cells if _gid(c) == grade_id + "_check")
        self.call = _src(check).strip().splitlines()[-1]
        if notebook not in Exercise._setups:
            ns = {}
            exec(_python(_src(next(c for c in cells if _gid(c) == "setup"))), ns)
            Exercise._setups[notebook] = ns
        self.ns = dict(Exercise._setups[notebook])
        for c in cells:
            g = _gid(c)
            if g.startswith(prefix) and not c["metadata"]["nbgrader"].get("solution") and not g.endswith("_check"):
                exec(_src(c), self.ns)

    def function(self, source):
        ns = dict(self.ns)
        exec(source, ns)
        return ns[self.fn_name], ns

    def check(self, source):
        fn, ns = self.function(source)
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            return eval(self.call, ns)


def same(a, b, rtol=1e-7, atol=1e-10):
    """Whether two outputs are equal (up to rounding), recursively through tuples, lists and dicts."""
    if isinstance(a, dict) or isinstance(b, dict):
        return isinstance(a, dict) and isinstance(b, dict) and a.keys() == b.keys() and \
            all(same(a[k], b[k], rtol, atol) for k in a)
    if isinstance(a, (tuple, list)) or isinstance(b, (tuple, list)):
        return isinstance(a, (tuple, list)) and isinstance(b, (tuple, list)) and len(a) == len(b) and \
            all(same(x, y, rtol, atol) for x, y in zip(a, b))
    if a is None or b is None or isinstance(a, str) or isinstance(b, str):
        return a == b
    if isinstance(a, np.random.Generator) or isinstance(b, np.random.Generator):
        return type(a) is type(b) and a.bit_generator.state == b.bit_generator.state
    if hasattr(a, "_local") and hasattr(a, "data"):       # an autograd Value: its value and local derivatives
        return type(a) is type(b) and same(a.data, b.data, rtol, atol) and same(list(a._local), list(b._local),
                                                                                 rtol, atol) \
            and len(a._prev) == len(b._prev)
    if not isinstance(a, (int, float, complex, np.ndarray, np.generic)):
        return type(a) is type(b)                     # an object handed to the function (a model)
    try:
        x, y = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    except (TypeError, ValueError):
        return a == b
    if x.shape != y.shape:
        return False
    if type(a) is not type(b) and (isinstance(a, int) != isinstance(b, int)) and not (
            isinstance(a, np.ndarray) or isinstance(b, np.ndarray)):
        if isinstance(a, (int, np.integer)) or isinstance(b, (int, np.integer)):
            if not (float(x) == float(y)):
                return False
    return bool(np.all((x == y) | np.isclose(x, y, rtol=rtol, atol=atol) | (np.isnan(x) & np.isnan(y))))


def run(fn, args, seconds=2.0):
    """``("ok", output, args after the call)`` or ``("raised", exception name, None)``."""
    args = copy.deepcopy(args)
    try:
        with time_limit(seconds), warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            out = fn(*args)
        return "ok", out, args
    except _Timeout:
        return "timeout", None, None
    except Exception as exc:          # noqa: BLE001 - a mutant may raise anything
        return "raised", type(exc).__name__, None
