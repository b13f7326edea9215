"""`SharedImage`: memories mapped from one copy of an image, each holding only what it wrote, and made the image again
by rewriting only those pages."""

from __future__ import annotations

import ctypes
import mmap
from collections.abc import Iterator

import pytest

from wws.sandbox import pages
from wws.sandbox.pages import PAGE, SharedImage

ZEROS = 4 * PAGE
DATA = bytes(range(256)) * (6 * PAGE // 256) + b"tail"
"""Six pages and a partial one."""


@pytest.fixture
def image() -> Iterator[SharedImage]:
    shared = SharedImage(ZEROS, DATA, "test-image")
    yield shared
    shared.close()


@pytest.fixture
def memory() -> Iterator[int]:
    """A private anonymous region of 16 pages, as a guest's linear memory is."""
    region = mmap.mmap(-1, 16 * PAGE, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    address = ctypes.addressof(ctypes.c_char.from_buffer(region))
    yield address
    del address
    region.close()


def contents(address: int, image: SharedImage) -> bytes:
    return ctypes.string_at(address, image.size)


PAGEMAP = pages._private_pages(id(ZEROS) // PAGE * PAGE, 1) is not None
"""Whether this machine lets a process read its own /proc/self/pagemap (some sandboxes do not: then every page is
rewritten, which the test after this one checks)."""


@pytest.mark.skipif(not PAGEMAP, reason="/proc/self/pagemap cannot be read here")
def test_a_mapped_memory_is_the_image_and_is_restored_by_rewriting_only_the_pages_it_wrote(
    image: SharedImage, memory: int
) -> None:
    image.map_at(memory)
    assert contents(memory, image) == image.read() == bytes(ZEROS) + DATA
    zero_pages = ZEROS // PAGE
    assert image.restore(memory) == zero_pages, "the data read is the file's; zeros read count as written"
    ctypes.memset(memory + PAGE + 5, 7, 3)  # the zeros: one page touched
    ctypes.memset(memory + ZEROS + 2 * PAGE, 9, PAGE + 1)  # the data: two pages written
    ctypes.memset(memory + ZEROS + 6 * PAGE, 1, 4)  # and the partial last page
    assert contents(memory, image) != image.read()
    rewritten = image.restore(memory)
    assert contents(memory, image) == image.read()
    assert zero_pages + 3 <= rewritten < image.size // PAGE, "the pages written (runs join a few more), not all"


def test_without_pagemap_the_whole_image_is_rewritten(
    image: SharedImage, memory: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    image.map_at(memory)
    ctypes.memset(memory, 3, image.size)
    monkeypatch.setattr(pages, "_private_pages", lambda _address, _count: None)
    assert image.restore(memory) == -(-image.size // PAGE)
    assert contents(memory, image) == image.read()


def test_a_closed_image_refuses_to_be_used(memory: int) -> None:
    shared = SharedImage(0, b"x" * PAGE)
    shared.close()
    shared.close()  # twice is fine
    with pytest.raises(ValueError, match="closed"):
        shared.map_at(memory)
    with pytest.raises(ValueError, match="whole pages"):
        SharedImage(PAGE + 1, b"x")
