"""The grader's side of a check: the student's answers as proxies, the verdict computed here.

A check cell ``check_dense_forward(dense_forward)`` is graded by calling the released
``bpkit.checks.ch01.check_dense_forward`` in the grader, with ``dense_forward`` replaced by
a :class:`RemoteFunction`. Calling the proxy sends the arguments, as data, to the
submission's contained process, calls the student's function there and brings back the
result, the arguments as they are afterwards, any exception, and the bpkit references the
call reached. The check compares that with its reference here, in a process that runs no
student code, on test cases drawn from a secret seed.

What the submission prints or displays is never read.
"""

from __future__ import annotations

import ast
import builtins
import functools
import importlib
import inspect
import warnings

import numpy as np

from bpkit.checks._context import OwnWorkViolation, current_own_work

from ._wire import Opaque, WireError, decode, encode

__all__ = ["KernelStopped", "RemoteFunction", "answer", "check_call", "own_work_in_source"]


class KernelStopped(BaseException):
    """The submission's process died or hit the time limit during a check (not the student's exception)."""

    def __init__(self, why: str):
        super().__init__(why)
        self.why = why


def _message(self):
    return self.bpfs_message


@functools.lru_cache(maxsize=256)
def _exception_type(name: str, builtin: bool) -> type:
    """A class named ``name`` that prints its message as received; a subclass of the built-in one if it is one."""
    base = vars(builtins).get(name) if builtin else None
    if not (isinstance(base, type) and issubclass(base, Exception)):
        base = Exception
    return type(name if name.isidentifier() else "Exception", (base,), {"__str__": _message})


def _rebuild(info: dict) -> Exception:
    """The student's exception, as data: its class name, message and line (never an object from the other side)."""
    name, message = str(info.get("type", "Exception")), str(info.get("message", ""))
    cls = _exception_type(name, bool(info.get("builtin")))
    exc = cls.__new__(cls)
    Exception.__init__(exc, message)
    exc.bpfs_message = message
    exc.bpfs_where = str(info.get("where", ""))
    return exc


def _write_back(before, after) -> None:
    """Copy what the student's call changed in its arguments into ours, so a check sees changes in place."""
    if isinstance(before, np.ndarray) and isinstance(after, np.ndarray):
        if before.shape == after.shape and before.flags.writeable:
            before[...] = after.astype(before.dtype, copy=False)
    elif isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
        for i, (b, a) in enumerate(zip(before, after)):
            if isinstance(b, (np.ndarray, list, dict)):
                _write_back(b, a)
            elif type(b) is type(a):
                before[i] = a
    elif isinstance(before, dict) and isinstance(after, dict):
        for k in before:
            if k in after:
                if isinstance(before[k], (np.ndarray, list, dict)):
                    _write_back(before[k], after[k])
    elif isinstance(before, tuple) and isinstance(after, tuple) and len(before) == len(after):
        for b, a in zip(before, after):
            _write_back(b, a)


def _warnings_as_errors() -> list:
    """Built-in warning categories turned into errors for all code (as a check's ``simplefilter`` does)."""
    return sorted({f[2].__name__ for f in warnings.filters
                   if f[0] == "error" and f[1] is None and f[3] is None and isinstance(f[2], type)
                   and f[2].__module__ == "builtins"})


class RemoteFunction:
    """The student's function ``name`` in the submission's process, called with data only."""

    bpfs_remote = True

    def __init__(self, session, name: str, driver=None):
        self.session, self.name, self.driver = session, name, driver

    def bpfs_drive(self, driver):
        """``driver(student, *args)``, run in the submission's process (see :func:`bpkit.checks.in_kernel`)."""
        return RemoteFunction(self.session, self.name, driver)

    def __call__(self, *args):
        try:
            message = {"op": "call", "name": self.name, "args": encode(list(args)),
                       "driver": encode(self.driver) if self.driver is not None else None,
                       "own_work": list(current_own_work()), "errstate": dict(np.geterr()),
                       "warnings_as_errors": _warnings_as_errors()}
        except WireError as exc:
            raise RuntimeError(f"grader: cannot send the test case: {exc}") from None
        if message["driver"] is not None and "__function__" not in message["driver"]:
            raise RuntimeError(f"grader: the driver {self.driver!r} is not a module-level bpkit function")
        reply = self.session.ask(message)
        if reply.get("error"):
            raise RuntimeError(f"the grading process could not serve the call: {reply['error']}")
        if reply.get("calls"):
            raise OwnWorkViolation([str(n) for n in reply["calls"]])
        if not reply.get("ok"):
            raise _rebuild(dict(reply.get("exception") or {}))
        try:
            _write_back(list(args), decode(reply.get("args_after")))
            return decode(reply.get("result"))
        except (WireError, TypeError, ValueError, KeyError) as exc:
            err = TypeError(f"the value returned cannot be graded: {exc}")
            err.bpfs_where = ""
            raise err from None

    def __repr__(self):
        return f"<the student's {self.name}>"


def answer(session, name: str):
    """The student's global ``name``: a :class:`RemoteFunction`, the value itself, or ``NameError``."""
    reply = session.ask({"op": "describe", "name": name})
    kind = reply.get("kind")
    if kind == "callable":
        return RemoteFunction(session, name)
    if kind == "value":
        try:
            return decode(reply.get("value"))
        except WireError:
            return Opaque()
    raise NameError(f"name '{name}' is not defined")


def check_call(source: str):
    """``(check name, [answer names])`` of a released check cell ``check_x(name, ...)``, or ``None``."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return None
    body = [s for s in tree.body if not (isinstance(s, ast.Assert))]
    if not body or not isinstance(body[-1], ast.Expr) or not isinstance(body[-1].value, ast.Call):
        return None
    call = body[-1].value
    if not isinstance(call.func, ast.Name) or not call.func.id.startswith("check_") or call.keywords:
        return None
    if not all(isinstance(a, ast.Name) for a in call.args):
        return None
    return call.func.id, [a.id for a in call.args]


# ----------------------------------------------------------------------------- own work, in the source

def _aliases(sources) -> dict:
    """``{local name: dotted bpkit path}`` from the imports of ``sources``."""
    out = {}
    for src in sources:
        try:
            tree = ast.parse(src)
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for a in node.names:
                    if a.name == "bpkit" or a.name.startswith("bpkit."):
                        out[a.asname or a.name.split(".")[0]] = a.name if a.asname else a.name.split(".")[0]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module \
                    and (node.module == "bpkit" or node.module.startswith("bpkit.")):
                for a in node.names:
                    out[a.asname or a.name] = f"{node.module}.{a.name}"
    return out


def _dotted(node, aliases):
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name) and node.id in aliases:
        return ".".join([aliases[node.id]] + parts[::-1])
    return None


def _code_of(dotted: str):
    from bpkit.checks._context import _resolve
    try:
        obj = _resolve(dotted)
    except Exception:                       # not a bpkit name after all
        return None
    return getattr(inspect.unwrap(obj), "__code__", None) if callable(obj) else None


def own_work_in_source(answer_sources, all_sources, forbidden: dict) -> list:
    """Dotted names in ``answer_sources`` that refer to a function of ``forbidden`` (``{id(code): (code, name)}``).

    Imports anywhere in the notebook (``all_sources``) give the aliases; the answer's own
    imports count too. Reading the source cannot see a name built at run time; the call
    tracing in the submission's process covers that.
    """
    aliases = _aliases(all_sources)
    found = []
    for src in answer_sources:
        try:
            tree = ast.parse(src)
        except SyntaxError:
            continue
        local = dict(aliases, **_aliases([src]))
        defined = {n.name for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}
        names = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute):
                d = _dotted(node, local)
                if d:
                    names.add(d)
            elif isinstance(node, ast.Name) and node.id in local and node.id not in defined:
                names.add(local[node.id])
            elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("bpkit"):
                names.update(f"{node.module}.{a.name}" for a in node.names)
        for d in sorted(names):
            code = _code_of(d)
            hit = forbidden.get(id(code)) if code is not None else None
            if hit is not None and hit[0] is code and hit[1] not in found:
                found.append(hit[1])
    return found


def load_check(module: str, name: str):
    """The released check function ``module.name`` (it must be one of the module's ``check_*``)."""
    mod = importlib.import_module(module)
    if not name.startswith("check_") or name not in getattr(mod, "__all__", ()):
        raise NameError(f"{module} has no check {name!r}")
    return getattr(mod, name)
