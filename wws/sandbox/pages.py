"""Memory given back to the kernel: guest pages that must read as zeros are dropped, not written with zeros; the
host's freed heap is returned once workers are released.

Writing zeros makes every page of a range resident, even those nobody had touched: a recycled JavaScript instance
reset its 1 MiB stack that way after each request, though a request touches a few of its pages. `madvise` with
`MADV_DONTNEED` drops the pages instead: they read as zeros again (a guest's linear memory is a private mapping, and
the range must hold zeros in the module's own image too) and take no memory until touched.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import mmap
import os

_MADV_DONTNEED = 4
PAGE = mmap.PAGESIZE
_libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
_madvise = _libc.madvise
_madvise.argtypes = (ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int)
_madvise.restype = ctypes.c_int


def drop_pages(address: int, length: int) -> None:
    """Make `length` bytes at `address` (inside a private mapping whose own content there is zeros) read as zeros:
    the whole pages are dropped, the bytes of partial pages at either end set to zero."""
    start = -(-address // PAGE) * PAGE
    end = max(start, (address + length) // PAGE * PAGE)
    if end - start < PAGE:
        ctypes.memset(address, 0, length)
        return
    ctypes.memset(address, 0, start - address)
    if _madvise(start, end - start, _MADV_DONTNEED) != 0:
        error = ctypes.get_errno()
        raise OSError(error, f"madvise: {os.strerror(error)}")
    ctypes.memset(end, 0, address + length - end)


_malloc_trim = getattr(_libc, "malloc_trim", None)  # glibc's; other C libraries return memory their own way


def trim_heap() -> None:
    """Return the host heap's free memory to the kernel (glibc keeps what was freed for later allocations: after a
    thousand workers are released, their freed images and stores would stay resident)."""
    if _malloc_trim is not None:
        _malloc_trim(0)
