"""The student's side of grading: runs a submission's cells and answers the grader's questions.

Started by :mod:`bpkit.course._contain` as ``python -I -m bpkit.course._sandbox`` inside the
container, with two pipe file descriptors. It drops to its own user id (when started as
root), sets its resource limits, and then serves requests (see :mod:`bpkit.course._wire`):

* ``run``: run one code cell in an IPython shell; reply whether it raised;
* ``describe``: is a global name a function, a value (sent as data) or missing;
* ``call``: call a global function (or a bpkit driver with it) on data, and reply with the
  result, the arguments as they are afterwards (to see changes in place), the bpkit
  references it called and any exception with the student's own line;
* ``exit``.

Nothing here decides a grade: the grader compares the answers with the references in a
process that runs no student code. What this process prints goes nowhere.
"""

from __future__ import annotations

import argparse
import builtins
import functools
import gc
import json
import os
import resource
import sys
import traceback
import warnings

__all__ = ["main"]


def _limits(spec: dict) -> None:
    names = {"as": resource.RLIMIT_AS, "cpu": resource.RLIMIT_CPU, "nproc": resource.RLIMIT_NPROC,
             "fsize": resource.RLIMIT_FSIZE, "nofile": resource.RLIMIT_NOFILE}
    for key, value in spec.items():
        if key in names and value:
            resource.setrlimit(names[key], (int(value), int(value)))


def _drop_privileges(uid: int) -> None:
    if os.geteuid() == 0 and uid:
        os.setgroups([])
        os.setgid(uid)
        os.setuid(uid)


def _exception(exc: BaseException, tb) -> dict:
    from bpkit.checks._engine import _student_line
    cls = type(exc)
    return {"type": cls.__name__, "builtin": cls.__module__ == "builtins", "message": str(exc)[:2000],
            "where": _student_line(tb)[:500]}


class Server:
    """One submission's shell, driven by framed JSON requests."""

    def __init__(self, fd_in: int = -1, fd_out: int = -1):
        from IPython.core.interactiveshell import InteractiveShell
        self.fd_in, self.fd_out = fd_in, fd_out
        self.pid = os.getpid()
        self.shell = InteractiveShell.instance()
        self.shell.showtraceback = lambda *a, **k: None        # errors are reported as data, not printed

    def run(self, msg):
        result = self.shell.run_cell(str(msg["source"]), store_history=False)
        err = result.error_before_exec or result.error_in_exec
        if err is None:
            return {"ok": True}
        reply = {"ok": False, "ename": type(err).__name__, "evalue": str(err)[:1000]}
        # drop the traceback, which keeps the failed cell's frames (and e.g. a memory bomb's memory) alive
        result.error_in_exec = result.error_before_exec = err = None
        for name in ("last_type", "last_value", "last_traceback", "last_exc"):
            if hasattr(sys, name):
                delattr(sys, name)
        self.shell.last_execution_result = None
        gc.collect()
        return reply

    def describe(self, msg):
        from ._wire import WireError, encode
        ns = self.shell.user_ns
        name = str(msg["name"])
        if name not in ns:
            return {"kind": "missing"}
        obj = ns[name]
        if callable(obj):
            return {"kind": "callable", "type": type(obj).__name__}
        try:
            return {"kind": "value", "value": encode(obj, code=False)}
        except WireError as exc:
            return {"kind": "value", "value": {"__opaque__": type(obj).__name__}, "note": str(exc)}

    def call(self, msg):
        import numpy as np

        from bpkit.checks._context import forbidden_codes, watch_calls

        from ._wire import WireError, decode, encode
        ns = self.shell.user_ns
        name = str(msg["name"])
        if name not in ns:
            return {"ok": False, "exception": {"type": "NameError", "builtin": True,
                                               "message": f"name '{name}' is not defined", "where": ""}}
        fn = ns[name]
        driver = decode(msg["driver"], allow_code=True) if msg.get("driver") else None
        if driver is not None:
            fn = functools.partial(driver, fn)
        args = decode(msg["args"], allow_code=True)
        codes = forbidden_codes(tuple(msg.get("own_work", ())), exclude=[driver] if driver else [])
        err = {k: v for k, v in dict(msg.get("errstate", {})).items() if k in ("over", "under", "divide", "invalid")}
        called = []
        try:
            with np.errstate(**err), warnings.catch_warnings():
                for category in msg.get("warnings_as_errors", ()):
                    cls = vars(builtins).get(str(category))
                    if isinstance(cls, type) and issubclass(cls, Warning):
                        warnings.simplefilter("error", cls)
                with watch_calls(codes) as called:
                    out = fn(*args)
        except BaseException as exc:            # the student's bug, SystemExit included: report it as data
            return {"ok": False, "exception": _exception(exc, sys.exc_info()[2]), "calls": list(called)}
        try:
            return {"ok": True, "result": encode(out, code=False), "args_after": encode(args, code=False),
                    "calls": list(called)}
        except WireError as exc:
            return {"ok": False, "calls": list(called),
                    "exception": {"type": "TypeError", "builtin": True, "where": "",
                                  "message": f"the value returned cannot be graded: {exc}"}}

    def serve(self):
        from ._wire import read_message, write_message
        while True:
            try:
                msg = read_message(self.fd_in)
            except EOFError:
                return
            if msg.get("op") == "exit":
                return
            reply = self.handle(msg)
            if os.getpid() != self.pid:             # a process the student's code forked: it never replies
                os._exit(0)
            write_message(self.fd_out, reply)

    def handle(self, msg: dict) -> dict:
        """The reply to one request (``run``, ``describe`` or ``call``)."""
        op = msg.get("op")
        handler = {"run": self.run, "describe": self.describe, "call": self.call}.get(op)
        try:
            reply = handler(msg) if handler else {"error": f"unknown request {op!r}"}
        except Exception as exc:                # a request the server could not serve
            reply = {"error": f"{type(exc).__name__}: {exc}"[:1000]}
        reply["id"] = msg.get("id")
        return reply


def main(argv=None) -> int:
    """Serve one submission: drop privileges, set the limits, answer requests until told to exit."""
    parser = argparse.ArgumentParser(prog="python -m bpkit.course._sandbox")
    parser.add_argument("--fds", required=True, help="IN,OUT: the request and reply pipes")
    parser.add_argument("--uid", type=int, default=0, help="the user id to run as (when started as root)")
    parser.add_argument("--limits", default="{}", help="resource limits as JSON: as, cpu, nproc, fsize, nofile")
    args = parser.parse_args(argv)
    fd_in, fd_out = (int(x) for x in args.fds.split(","))
    _drop_privileges(args.uid)
    _limits(json.loads(args.limits))
    warnings.simplefilter("ignore")
    try:
        Server(fd_in, fd_out).serve()
    except BaseException:                           # never a traceback on the grader's terminal
        traceback.print_exc(file=open(os.devnull, "w"))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
