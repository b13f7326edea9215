"""WHATWG URL's "domain to ASCII" for hosts that are not plain ASCII: UTS-46 processing with the URL standard's flags
(CheckHyphens off, CheckBidi and CheckJoiners on, UseSTD3ASCIIRules off, non-transitional, no DNS length check).

The JavaScript `URL` parser handles ASCII hosts itself and asks the host for the others (the `url.domain_to_ascii`
host call): the mapping tables and the validity rules come from the `idna` package, punycode from the standard
library, so no Unicode table lives in the guest's memory image.
"""

from __future__ import annotations

import unicodedata

import idna
import idna.core

from wws.errors import HostCallError

_ACE_PREFIX = "xn--"
_RTL_CLASSES = frozenset({"R", "AL", "AN"})
_JOINERS = frozenset({"\u200c", "\u200d"})


def domain_to_ascii(domain: str) -> str:
    """The ASCII form of `domain`; raises `HostCallError` naming the reason when the URL standard refuses it."""
    try:
        mapped = idna.uts46_remap(domain, std3_rules=False, transitional=False)
    except idna.IDNAError as exc:
        raise HostCallError(f"invalid domain {domain!r}: {exc}") from None
    labels = mapped.split(".")
    decoded = [_decoded(label) if label.startswith(_ACE_PREFIX) else label for label in labels]
    bidi = any(unicodedata.bidirectional(char) in _RTL_CLASSES for label in decoded for char in label)
    for label in decoded:
        _check(label, bidi)
    result = ".".join(label if label.isascii() else _ace(label) for label in labels)
    if not result:
        raise HostCallError("the domain is empty")
    return result


def _ace(label: str) -> str:
    return _ACE_PREFIX + label.encode("punycode").decode("ascii")


def _decoded(label: str) -> str:
    """What an `xn--` label (lower-cased by the mapping) encodes: it must be ASCII, valid punycode, and encode no
    disallowed code point. As in browsers and WPT's URL data, an empty remainder and mapped code points pass."""
    if not label.isascii():
        raise HostCallError(f"invalid label {label!r}: an xn-- label must be ASCII")
    try:
        decoded = label[len(_ACE_PREFIX) :].encode("ascii").decode("punycode")
    except UnicodeError:
        raise HostCallError(f"invalid label {label!r}: bad punycode") from None
    try:
        idna.uts46_remap(decoded, std3_rules=False, transitional=False)
    except idna.IDNAError as exc:
        raise HostCallError(f"invalid label {label!r}: {exc}") from None
    if "." in decoded or decoded.startswith(_ACE_PREFIX):
        raise HostCallError(f"invalid label {label!r}: it encodes a dot or another xn-- label")
    return decoded


def _check(label: str, bidi: bool) -> None:
    """UTS-46's validity criteria, as the URL standard sets them."""
    if not label:
        return
    if unicodedata.normalize("NFC", label) != label:
        raise HostCallError(f"invalid label {label!r}: it is not in Unicode normal form C")
    if unicodedata.category(label[0]).startswith("M"):
        raise HostCallError(f"invalid label {label!r}: it starts with a combining mark")
    for position, char in enumerate(label):
        if char in _JOINERS and not idna.core.valid_contextj(label, position):
            raise HostCallError(f"invalid label {label!r}: a joiner is not allowed where it is")
    try:
        idna.core.check_bidi(label, check_ltr=bidi)
    except idna.IDNAError as exc:
        raise HostCallError(f"invalid label {label!r}: {exc}") from None
