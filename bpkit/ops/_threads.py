"""Run independent blocks of a layer's work on several threads, as many as NumPy's BLAS uses.

NumPy releases the GIL inside matrix products, copies and element-wise arithmetic, so Python
threads can keep two cores busy on two blocks of images at once. Each block then calls BLAS with
one thread (two threads per product *and* two blocks at a time would fight over the cores). With
one BLAS thread (``OMP_NUM_THREADS=1``, as ``make test`` sets), without ``threadpoolctl`` or in the
browser, the blocks run one after the other in the calling thread.

The blocks are the same whatever the number of threads, and their results are combined in block
order, so the numbers do not depend on the machine.
"""

from __future__ import annotations

import itertools
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

__all__ = ["blas_threads", "map_blocks"]

_lock = threading.Lock()
_state = {"controller": None, "pool": None, "pool_size": 0, "checked": False}


def _controller():
    """threadpoolctl's controller of the loaded BLAS, or None where it cannot be used."""
    if not _state["checked"]:
        with _lock:
            if not _state["checked"]:
                try:
                    if sys.platform == "emscripten":     # Pyodide: no threads to start
                        raise ImportError
                    from threadpoolctl import ThreadpoolController
                    ctl = ThreadpoolController().select(user_api="blas")
                    _state["controller"] = ctl if ctl.lib_controllers else None
                except ImportError:
                    _state["controller"] = None
                _state["checked"] = True
    return _state["controller"]


def blas_threads():
    """How many threads NumPy's BLAS uses now (1 if that cannot be known)."""
    ctl = _controller()
    if ctl is None:
        return 1
    return max(1, max(lib.num_threads for lib in ctl.lib_controllers))


def map_blocks(fn, items):
    """``[fn(item) for item in items]``, on ``blas_threads()`` threads when there are several.

    The calling thread works too: it and the pool's threads take the next item until none is left
    (an exception in any of them is raised here, after all have stopped).
    """
    items = list(items)
    n = min(blas_threads(), len(items))
    if n < 2:
        return [fn(item) for item in items]
    with _lock:
        if _state["pool_size"] < n - 1:
            if _state["pool"] is not None:
                _state["pool"].shutdown(wait=False)
            _state["pool"] = ThreadPoolExecutor(n - 1, thread_name_prefix="bpkit")
            _state["pool_size"] = n - 1
        pool = _state["pool"]
    results, taken = [None] * len(items), itertools.count()

    def work():
        while (k := next(taken)) < len(items):      # next() on a count is atomic: no item runs twice
            results[k] = fn(items[k])

    with _controller().limit(limits=1):
        helpers = [pool.submit(work) for _ in range(n - 1)]
        try:
            work()
        finally:
            for helper in helpers:
                helper.exception()                   # wait for every helper before BLAS gets its threads back
        for helper in helpers:
            helper.result()
    return results
