"""The data that crosses between the grader and the student's contained process.

JSON only, never pickle: nothing received can run code when it is decoded. What travels:

* ``None``, bools, ints, floats (``NaN`` and infinities too), strings;
* lists, tuples and dicts (string keys as JSON objects, other keys as pairs);
* NumPy arrays and scalars of numeric or bool dtype, as base64 bytes with dtype and shape;
* towards the student's process only: a ``np.random.Generator`` (its PCG64 state), and a
  module-level bpkit function or a ``functools.partial`` of one, by name; the receiver
  imports it from bpkit and nowhere else.

Anything else the student's code returns arrives as an :class:`Opaque` object that keeps
only its type's name, so a check can say "expected an array, got Value".

Messages are framed as an 8-byte big-endian length and that many bytes of UTF-8 JSON.
"""

from __future__ import annotations

import base64
import functools
import importlib
import json
import os
import struct

import numpy as np

__all__ = ["MAX_MESSAGE", "Opaque", "WireError", "decode", "encode", "read_message", "write_message"]

MAX_MESSAGE = 256 * 2 ** 20          # bytes: an answer larger than this is refused
_MAX_DEPTH = 64
_KINDS = "biuf"


class WireError(ValueError):
    """A message that is not what the protocol allows."""


class Opaque:
    """Stands for an object that cannot travel as data; ``type(obj).__name__`` is the original's."""

    def __repr__(self):
        return f"<{type(self).__name__} object>"


@functools.lru_cache(maxsize=256)
def _opaque_type(name: str) -> type:
    return type(name if name.isidentifier() else "object", (Opaque,), {})


def _function_name(fn) -> str | None:
    mod, qual = getattr(fn, "__module__", None) or "", getattr(fn, "__qualname__", "")
    if not mod.startswith("bpkit.") or "<" in qual or "." in qual:
        return None
    try:
        if getattr(importlib.import_module(mod), qual) is not fn:
            return None
    except (ImportError, AttributeError):
        return None
    return f"{mod}:{qual}"


def encode(obj, depth=0, code=True):
    """A JSON-ready form of ``obj`` (see the module docstring).

    ``code=False`` (the student's side) sends functions and generators as :class:`Opaque`.
    """
    if depth > _MAX_DEPTH:
        raise WireError(f"nested more than {_MAX_DEPTH} levels deep")
    if obj is None or isinstance(obj, (bool, int, str)):
        return obj
    if isinstance(obj, float):
        return obj if np.isfinite(obj) else {"__float__": repr(obj)}
    if isinstance(obj, (np.ndarray, np.generic)):
        arr = np.asarray(obj)
        if arr.dtype.kind not in _KINDS or arr.dtype.fields is not None:
            return {"__opaque__": f"ndarray_of_{arr.dtype.kind}"}
        return {"__ndarray__": base64.b64encode(arr.tobytes(order="C")).decode("ascii"), "dtype": arr.dtype.str,
                "shape": list(arr.shape), "scalar": isinstance(obj, np.generic)}
    if isinstance(obj, tuple):
        return {"__tuple__": [encode(x, depth + 1, code) for x in obj]}
    if isinstance(obj, list):
        return [encode(x, depth + 1, code) for x in obj]
    if isinstance(obj, dict):
        if all(isinstance(k, str) and not k.startswith("__") for k in obj):
            return {k: encode(v, depth + 1, code) for k, v in obj.items()}
        return {"__dict__": [[encode(k, depth + 1, code), encode(v, depth + 1, code)] for k, v in obj.items()]}
    if not code:
        return {"__opaque__": type(obj).__name__}
    if isinstance(obj, np.random.Generator) and type(obj.bit_generator).__name__ == "PCG64":
        return {"__generator__": obj.bit_generator.state}
    if isinstance(obj, functools.partial) and _function_name(obj.func):
        return {"__partial__": _function_name(obj.func), "args": encode(list(obj.args), depth + 1, code),
                "keywords": encode(dict(obj.keywords), depth + 1, code)}
    if callable(obj) and _function_name(obj):
        return {"__function__": _function_name(obj)}
    return {"__opaque__": type(obj).__name__}


def _function(name: str):
    mod, _, qual = name.partition(":")
    if not mod.startswith("bpkit.") or not qual.isidentifier():
        raise WireError(f"not a bpkit function: {name!r}")
    fn = getattr(importlib.import_module(mod), qual)
    if not callable(fn):
        raise WireError(f"not a function: {name!r}")
    return fn


def decode(data, allow_code=False, depth=0):
    """The object ``data`` encodes. ``allow_code`` admits bpkit functions and generators (student side only)."""
    if depth > _MAX_DEPTH:
        raise WireError(f"nested more than {_MAX_DEPTH} levels deep")
    if data is None or isinstance(data, (bool, int, float, str)):
        return data
    if isinstance(data, list):
        return [decode(x, allow_code, depth + 1) for x in data]
    if not isinstance(data, dict):
        raise WireError(f"unexpected {type(data).__name__}")
    if "__ndarray__" in data:
        dtype = np.dtype(str(data["dtype"]))
        if dtype.kind not in _KINDS or dtype.fields is not None or dtype.hasobject:
            raise WireError(f"dtype {dtype} is not allowed")
        shape = tuple(int(n) for n in data["shape"])
        raw = base64.b64decode(data["__ndarray__"], validate=True)
        if any(n < 0 for n in shape) or int(np.prod(shape, dtype=np.int64)) * dtype.itemsize != len(raw):
            raise WireError("array bytes do not match the shape")
        arr = np.frombuffer(raw, dtype=dtype).reshape(shape).copy()
        return arr[()] if data.get("scalar") else arr
    if "__float__" in data:
        text = data["__float__"]
        if text not in ("nan", "inf", "-inf"):
            raise WireError(f"not a float: {text!r}")
        return float(text)
    if "__tuple__" in data:
        return tuple(decode(x, allow_code, depth + 1) for x in data["__tuple__"])
    if "__dict__" in data:
        out = {}
        for k, v in data["__dict__"]:
            key = decode(k, allow_code, depth + 1)
            try:
                hash(key)
            except TypeError:
                raise WireError("a dict key that cannot be hashed") from None
            out[key] = decode(v, allow_code, depth + 1)
        return out
    if "__opaque__" in data:
        return _opaque_type(str(data["__opaque__"]))()
    if "__generator__" in data or "__function__" in data or "__partial__" in data:
        if not allow_code:
            raise WireError("functions and generators only travel towards the student's process")
        if "__generator__" in data:
            gen = np.random.Generator(np.random.PCG64())
            gen.bit_generator.state = data["__generator__"]
            return gen
        if "__function__" in data:
            return _function(data["__function__"])
        return functools.partial(_function(data["__partial__"]), *decode(data["args"], True, depth + 1),
                                 **decode(data["keywords"], True, depth + 1))
    return {str(k): decode(v, allow_code, depth + 1) for k, v in data.items()}


def write_message(fd: int, message: dict) -> None:
    """Send one framed message on file descriptor ``fd``."""
    body = json.dumps(message, allow_nan=True, separators=(",", ":")).encode("utf-8")
    if len(body) > MAX_MESSAGE:
        raise WireError(f"a message of {len(body)} bytes is larger than the limit of {MAX_MESSAGE}")
    data = struct.pack(">Q", len(body)) + body
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]


def _read_exact(fd: int, n: int, wait) -> bytes:
    parts, left = [], n
    while left:
        wait()
        chunk = os.read(fd, min(left, 1 << 20))
        if not chunk:
            raise EOFError("the other side closed the channel")
        parts.append(chunk)
        left -= len(chunk)
    return b"".join(parts)


def read_message(fd: int, wait=lambda: None) -> dict:
    """Receive one framed message from ``fd``; ``wait()`` is called before every read (it may raise a timeout)."""
    (size,) = struct.unpack(">Q", _read_exact(fd, 8, wait))
    if size > MAX_MESSAGE:
        raise WireError(f"a message of {size} bytes is larger than the limit of {MAX_MESSAGE}")
    try:
        message = json.loads(_read_exact(fd, size, wait).decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise WireError(f"not a JSON message: {exc}") from None
    if not isinstance(message, dict):
        raise WireError("a message must be a JSON object")
    return message
