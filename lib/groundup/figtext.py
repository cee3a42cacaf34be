"""How small is the smallest text of a figure? Stamped into the PNG the page shows.

A figure's text is legible on the website only if it is large enough *after* the browser
scales the image to the content column: a 12-inch-wide figure is shrunk to about half, and
its 10-point tick labels become 6 pixels tall. The browser test (``tests/test_book.py``)
measures the scale on the page; this module supplies the other half, the size of the
smallest text in the image itself, in image pixels.

``chapters/matplotlibrc`` names :func:`hook` in ``figure.hooks``, so every figure that a
page's code creates with pyplot measures its visible text each time it is drawn, and the
PNG that the inline backend puts on the page carries the result in a ``tEXt`` chunk under
:data:`KEY`. Nothing else about the figure changes.
"""

from __future__ import annotations

import base64
import struct
import zlib

KEY = "groundup:min-text-px"  # the PNG text chunk's keyword


def min_text_px(fig, dpi: float | None = None) -> float | None:
    """Font size, in pixels at ``dpi`` (default: the figure's), of the smallest visible,
    non-empty text of ``fig`` (tick labels, legend entries, titles, annotations)."""
    from matplotlib.text import Text

    sizes = [t.get_fontsize() for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip()]
    return min(sizes) * (dpi or fig.dpi) / 72 if sizes else None


def add_text_chunk(png: bytes, key: str, value: str) -> bytes:
    """``png`` with a ``tEXt`` chunk ``key: value`` right after its header chunk (IHDR).

    >>> read_text_chunks(add_text_chunk(_TINY_PNG, "a", "1.5"))
    {'a': '1.5'}
    """
    if png[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG file")
    ihdr_end = 8 + 4 + 4 + 13 + 4  # signature, then IHDR: length, type, 13 bytes of data, CRC
    data = key.encode("latin-1") + b"\0" + value.encode("latin-1")
    chunk = struct.pack(">I", len(data)) + b"tEXt" + data + struct.pack(">I", zlib.crc32(b"tEXt" + data))
    return png[:ihdr_end] + chunk + png[ihdr_end:]


def read_text_chunks(png: bytes) -> dict[str, str]:
    """Every ``tEXt`` chunk of a PNG file, keyword -> text."""
    out, pos = {}, 8
    while pos + 8 <= len(png):
        length, kind = struct.unpack(">I4s", png[pos:pos + 8])
        if kind == b"tEXt":
            key, _, value = png[pos + 8:pos + 8 + length].partition(b"\0")
            out[key.decode("latin-1")] = value.decode("latin-1")
        if kind == b"IEND":
            break
        pos += 12 + length  # length, type, data, CRC
    return out


def _measure(event) -> None:
    fig = event.canvas.figure
    fig._groundup_min_text_px = min_text_px(fig)  # fig.dpi is the saving dpi while printing


def _stamping(formatter):
    def png(fig, *args, **kwargs):
        data = formatter(fig, *args, **kwargs)
        px = getattr(fig, "_groundup_min_text_px", None)
        if px is None or data is None:
            return data
        if isinstance(data, str):  # IPython hands the inline backend's PNG on as base64 text
            return base64.b64encode(add_text_chunk(base64.b64decode(data), KEY, f"{px:.2f}")).decode()
        return add_text_chunk(data, KEY, f"{px:.2f}")

    png._groundup = True
    return png


def _install_formatter() -> None:
    """Wrap IPython's PNG formatter for figures once per kernel (no-op outside IPython)."""
    try:
        from IPython import get_ipython
        from matplotlib.figure import Figure
    except ImportError:
        return
    shell = get_ipython()
    if shell is None:
        return
    formatter = shell.display_formatter.formatters["image/png"]
    try:
        current = formatter.lookup_by_type(Figure)
    except KeyError:
        return  # no inline backend (yet): nothing to wrap
    if not getattr(current, "_groundup", False):
        formatter.for_type(Figure, _stamping(current))


def hook(fig) -> None:
    """``figure.hooks`` entry (``groundup.figtext:hook``): measure this figure at every draw."""
    _install_formatter()
    fig.canvas.mpl_connect("draw_event", _measure)


# A 1x1 PNG for the doctest.
_TINY_PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==")
