"""Memory shared and given back: guest memories start from one copy of their image (`SharedImage`), and the host's
freed heap is returned to the kernel once workers are released (`trim_heap`)."""

from __future__ import annotations

import ctypes
import ctypes.util
import mmap
import os
import re

PAGE = mmap.PAGESIZE
_libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
_malloc_trim = getattr(_libc, "malloc_trim", None)  # glibc's; other C libraries return memory their own way


def trim_heap() -> None:
    """Return the host heap's free memory to the kernel (glibc keeps what was freed for later allocations: after a
    thousand workers are released, their freed images and stores would stay resident)."""
    if _malloc_trim is not None:
        _malloc_trim(0)


_PROT_READ = 0x1
_PROT_READ_WRITE = 0x1 | 0x2
_MAP_SHARED = 0x01
_MAP_PRIVATE_FIXED = 0x02 | 0x10
_mmap = _libc.mmap
_mmap.argtypes = (ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long)
_mmap.restype = ctypes.c_void_p
_munmap = _libc.munmap
_munmap.argtypes = (ctypes.c_void_p, ctypes.c_size_t)
_MAP_FAILED = ctypes.c_void_p(-1).value
_PRIVATE = bytes(1 if (flags & 0x40) or (flags & 0xA0) == 0x80 else 0 for flags in range(256))
"""From the top byte of a page's /proc/self/pagemap entry: 1 when the page may hold the process's own copy (present
and not the file's page, bits 63 and 61; or swapped out, bit 62), 0 when it reads the file (mapped or not yet). A page
of zeros that was only read (the kernel's zero page) counts as written: telling them apart would trust the page's
mapping count (bit 56), which a fork raises while the pages it shares are still this process's own."""
_RUNS = re.compile(b"\x01(?:\x00{0,4}\x01)*")
"""Runs of own pages, joined across gaps of up to 4 pages: fewer copies (a call each) for a few more pages copied."""


class SharedImage:
    """A memory image that many guest memories start from: `zeros` bytes of zeros (a stack), then `data`, kept once
    in a memory file. A memory maps the data copy-on-write (`map_at`): its pages are shared until written, so an
    instance holds only what it wrote. `restore` makes a memory the image again by rewriting only the pages that
    became its own (found in /proc/self/pagemap): the zeros where a request touched the stack, the data it wrote,
    copied from the host's read-only view of the file. A JavaScript request writes about a hundred of its image's
    pages: copying all 224 made each recycled instance hold the whole image. Where pagemap cannot be read, the whole
    image is written."""

    def __init__(self, zeros: int, data: bytes | memoryview, name: str = "wws-image"):
        if zeros % PAGE:
            raise ValueError(f"the image's zeros ({zeros} bytes) must fill whole pages")
        self.zeros = zeros
        self.size = zeros + len(data)
        self._length = -(-len(data) // PAGE) * PAGE
        self._fd = os.memfd_create(name, os.MFD_CLOEXEC)
        try:
            os.ftruncate(self._fd, self._length)
            view = memoryview(data)
            written = 0
            while written < len(view):
                written += os.pwrite(self._fd, view[written:], written)
            self._view = _map(None, self._length, _PROT_READ, _MAP_SHARED, self._fd)
        except BaseException:
            os.close(self._fd)
            raise

    def read(self) -> bytes:
        """The image's bytes."""
        self._check_open()
        return bytes(self.zeros) + ctypes.string_at(self._view, self.size - self.zeros)

    def map_at(self, address: int) -> None:
        """Make the memory at `address` (page-aligned, `size` bytes, its first `zeros` bytes still zero) the image:
        its data mapped copy-on-write."""
        self._check_open()
        _map(address + self.zeros, self._length, _PROT_READ_WRITE, _MAP_PRIVATE_FIXED, self._fd)

    def restore(self, address: int) -> int:
        """Make the memory at `address`, made the image by `map_at`, the image again; returns the pages rewritten."""
        self._check_open()
        zero_pages = self.zeros // PAGE
        flags = _private_pages(address, zero_pages + self._length // PAGE)
        if flags is None:
            ctypes.memset(address, 0, self.zeros)
            ctypes.memmove(address + self.zeros, self._view, self.size - self.zeros)
            return -(-self.size // PAGE)
        rewritten = 0
        for run in _RUNS.finditer(flags, 0, zero_pages):
            ctypes.memset(address + run.start() * PAGE, 0, (run.end() - run.start()) * PAGE)
            rewritten += run.end() - run.start()
        data = address + self.zeros
        for run in _RUNS.finditer(flags, zero_pages):
            start, end = (run.start() - zero_pages) * PAGE, min((run.end() - zero_pages) * PAGE, self.size - self.zeros)
            ctypes.memmove(data + start, self._view + start, end - start)
            rewritten += run.end() - run.start()
        return rewritten

    def close(self) -> None:
        """Let go of the file and the host's view (memories that map the image keep it alive)."""
        if self._view:
            _munmap(self._view, self._length)
            os.close(self._fd)
            self._view = 0

    def _check_open(self) -> None:
        if not self._view:
            raise ValueError("the image was closed")


def _map(address: int | None, length: int, protection: int, flags: int, fd: int) -> int:
    mapped = _mmap(address, length, protection, flags, fd, 0)
    if mapped is None or mapped == _MAP_FAILED or (address is not None and mapped != address):
        error = ctypes.get_errno()
        raise OSError(error, f"mmap: {os.strerror(error)}")
    return int(mapped)


_pagemap: tuple[int, int] | None = None
"""(pid, fd) of /proc/self/pagemap, opened once per process (a forked child opens its own)."""


def _private_pages(address: int, count: int) -> bytes | None:
    """For each of `count` pages from `address`: 1 where the process holds its own copy, else 0; None when
    /proc/self/pagemap cannot be read."""
    global _pagemap  # noqa: PLW0603 - one file per process
    try:
        if _pagemap is None or _pagemap[0] != os.getpid():
            _pagemap = (os.getpid(), os.open("/proc/self/pagemap", os.O_RDONLY | os.O_CLOEXEC))
        entries = os.pread(_pagemap[1], 8 * count, 8 * (address // PAGE))
    except OSError:
        return None
    if len(entries) != 8 * count:
        return None
    return entries[7::8].translate(_PRIVATE)
