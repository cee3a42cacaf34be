"""groundup.figtext: a page's pyplot figures carry the size of their smallest text in their PNG."""

import base64
import struct
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from groundup.figtext import KEY, add_text_chunk, read_text_chunks

CHAPTERS = Path(__file__).resolve().parents[1] / "chapters"


def test_text_chunks_round_trip_and_keep_the_image():
    from groundup.figtext import _TINY_PNG

    stamped = add_text_chunk(_TINY_PNG, KEY, "9.72")
    assert read_text_chunks(stamped) == {KEY: "9.72"}
    assert stamped.endswith(_TINY_PNG[-12:])  # IEND still last


def test_a_page_kernel_stamps_the_smallest_text_of_each_figure():
    """Executed in chapters/ (as the book does), so chapters/matplotlibrc installs the hook."""
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("%matplotlib inline\nimport matplotlib.pyplot as plt"),
        # 12 inches at the inline backend's dpi; a 7-point legend is the smallest text
        nbformat.v4.new_code_cell("fig, ax = plt.subplots(figsize=(12, 3))\nax.plot([1, 2], label='x')\n"
                                  "ax.legend(fontsize=7)\nplt.show()"),
        nbformat.v4.new_code_cell("fig, ax = plt.subplots(figsize=(5, 3))\nax.plot([1, 2])\nplt.show()"),
    ])
    NotebookClient(nb, timeout=120, resources={"metadata": {"path": str(CHAPTERS)}}).execute()
    found = []
    for cell in nb.cells[1:]:
        png = next(base64.b64decode(o["data"]["image/png"]) for o in cell.outputs if "image/png" in o.get("data", {}))
        width = struct.unpack(">I", png[16:20])[0]
        found.append((width, float(read_text_chunks(png)[KEY])))
    (wide, legend), (narrow, ticks) = found
    dpi = legend / 7 * 72
    assert abs(ticks - 10 * dpi / 72) < 0.01  # matplotlib's default 10-point tick labels
    assert wide > 2 * narrow
