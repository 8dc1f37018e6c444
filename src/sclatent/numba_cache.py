"""numba kernels compiled once per installation instead of once per job.

umap-learn and pynndescent declare most of their kernels without numba's cache, so every
process that imports them compiles them again (8-15 s of a UMAP job on 2 cores, for a second
of layout work). `cache_numba_kernels` makes numba cache them where it caches the kernels
declared with cache=True (scanpy's, sclatent.sccan's): NUMBA_CACHE_DIR if the user set it,
else the `__pycache__` beside their source, that is, inside the environment that installed
them (numba's user cache directory when that is read-only). So they persist across runs and
work directories, and each environment keeps kernels compiled by its own numba.
"""

from __future__ import annotations

import logging
import os


def cache_numba_kernels() -> None:
    """Let numba cache every kernel compiled from now on, not only those declared cache=True;
    call it before importing umap or pynndescent. Kernels without a source file (generated
    code) and closures stay uncached, and a kernel whose compiled form cannot be saved is
    compiled again next time instead of failing the job."""
    import warnings

    from numba.core import caching, decorators
    from numba.core.errors import NumbaWarning

    if getattr(decorators._jit, "caches_by_default", False):
        return
    # numba's own refusal for kernels that hold pointers or large arrays: they stay uncached
    warnings.filterwarnings("ignore", "Cannot cache compiled function", NumbaWarning)
    original = decorators._jit

    def _jit(sigs, locals, target, cache, targetoptions, **dispatcher_args):
        plain = original(sigs, locals, target, cache, targetoptions, **dispatcher_args)
        if cache or target != "cpu":
            return plain
        cached = original(sigs, locals, target, True, targetoptions, **dispatcher_args)

        def wrapper(func):
            code = getattr(func, "__code__", None)
            has_source = code is not None and os.path.isfile(code.co_filename)
            # numba keys a closure's cache on its cell values, which must pickle
            return cached(func) if has_source and func.__closure__ is None else plain(func)

        return wrapper

    save = caching.Cache.save_overload

    def save_overload(self, sig, data):
        try:
            save(self, sig, data)
        except Exception as error:  # noqa: BLE001 - an unsaved kernel only costs its compilation
            logging.getLogger("sclatent").debug("numba kernel not cached: %s", error)

    _jit.caches_by_default = True
    decorators._jit = _jit
    caching.Cache.save_overload = save_overload
