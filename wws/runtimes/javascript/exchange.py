"""The request and the response of a JavaScript call, crossing in the guest's memory (engine.c's `struct io`).

Through emulated stdio, a hello cost four host functions: two `fd_read`s for the request, an `fd_write` for the
response and a `clock_time_get` for `performance.now()`'s origin, each a ctypes callback of ~4 µs. Here the host
writes the request into the area the engine set aside at start-up, with its clock, and reads the response where the
engine left it: no host function runs. A request larger than the area still comes through stdin.
"""

from __future__ import annotations

import ctypes
import dataclasses
import struct

IO = struct.Struct("<IIIIIIQ")
"""request, request_capacity, request_length, response, response_length, reserved, now_ns."""
_REQUEST_LENGTH = 8
_RESPONSE = 12
_NOW_NS = 24
FROM_STDIN = 0xFFFFFFFF
_U32 = ctypes.c_uint32
_U64 = ctypes.c_uint64


@dataclasses.dataclass(frozen=True, slots=True)
class IoArea:
    """Where an image's `struct io` and request area are (the same in every instance of the image): read once from
    the image, never again from a guest that could have changed them."""

    address: int
    request: int
    capacity: int

    @classmethod
    def of_image(cls, image: bytes, address: int) -> IoArea:
        """The area `struct io` at `address` of `image` describes; a `ValueError` when it lies outside the image."""
        if address + IO.size > len(image):
            raise ValueError(f"struct io at {address} is outside the {len(image)}-byte image")
        request, capacity, *_ = IO.unpack_from(image, address)
        if request + capacity > len(image):
            raise ValueError(f"the request area at {request} ({capacity} bytes) is outside the image")
        return cls(address, request, capacity)

    def send(self, base: int, message: bytes, now_ns: int) -> bool:
        """Before a call, in the memory at `base` (at least the image's size): the request, and the clock's reading
        `now_ns`. False when `message` does not fit: the guest then reads it from stdin."""
        fits = len(message) <= self.capacity
        if fits:
            (ctypes.c_char * len(message)).from_address(base + self.request).raw = message
        _U32.from_address(base + self.address + _REQUEST_LENGTH).value = len(message) if fits else FROM_STDIN
        _U64.from_address(base + self.address + _NOW_NS).value = now_ns
        return fits

    def response(self, base: int, size: int) -> bytes | None:
        """After a call that succeeded, in the memory at `base` of `size` bytes: the response the guest left; None
        when it names bytes outside its memory."""
        address, length = (
            _U32.from_address(base + self.address + _RESPONSE).value,
            _U32.from_address(base + self.address + _RESPONSE + 4).value,
        )
        if address + length > size:
            return None
        return ctypes.string_at(base + address, length)
