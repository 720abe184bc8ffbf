"""QR codes of passport links (Art. 13(6)): PNG and SVG, error correction level Q.

Level Q restores up to about 25 % of damaged code words, enough for a label that has been
scratched or smudged in service; the quiet zone is the standard four modules. The encoded text
is the battery's GS1 Digital Link URI exactly as its passport names it.
"""

from __future__ import annotations

import io
from typing import Literal

import qrcode
import qrcode.constants
import qrcode.image.svg

QrFormat = Literal["png", "svg"]

ERROR_CORRECTION = qrcode.constants.ERROR_CORRECT_Q
QUIET_ZONE = 4
"""Modules of blank margin around the symbol (ISO/IEC 18004 asks for four)."""


def _code(text: str, box_size: int) -> qrcode.QRCode:  # type: ignore[type-arg,unused-ignore]
    code = qrcode.QRCode(error_correction=ERROR_CORRECTION, box_size=box_size, border=QUIET_ZONE)
    code.add_data(text)
    code.make(fit=True)
    return code


def qr_png(text: str, *, box_size: int = 8) -> bytes:
    """A black-on-white PNG of ``text``, ``box_size`` pixels per module."""
    image = _code(text, box_size).make_image(fill_color="black", back_color="white")
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def qr_svg(text: str) -> bytes:
    """A scalable SVG of ``text`` (one path, white background), sized in millimetres."""
    image = _code(text, 10).make_image(image_factory=qrcode.image.svg.SvgPathFillImage)
    svg: bytes = image.to_string(encoding="unicode").encode("utf-8")
    if not svg.startswith(b"<?xml"):
        svg = b'<?xml version="1.0" encoding="UTF-8"?>\n' + svg
    return svg


def render(text: str, fmt: QrFormat) -> bytes:
    """The QR image of ``text`` in ``fmt``."""
    return qr_png(text) if fmt == "png" else qr_svg(text)


MEDIA_TYPES: dict[str, str] = {"png": "image/png", "svg": "image/svg+xml"}
