"""Render the SVG application icon to the PNG (and .ico/.icns) sizes installers need.

Usage: ``python installer/render_icons.py OUT_DIR`` writes ``OUT_DIR/deskapp-<N>.png`` for
every hicolor size, plus ``deskapp.ico`` (Windows) and, when Qt can write it, nothing else:
macOS's .icns is made by ``iconutil`` on a Mac from these PNGs (see installer/README.md).

Qt's SVG renderer is used (it ships with PySide6), so no other tool is needed.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

HICOLOR_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)
"""The freedesktop hicolor sizes the .deb and the AppImage install."""

ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)


def render(svg: Path, out_dir: Path, sizes: tuple[int, ...] = HICOLOR_SIZES) -> list[Path]:
    """Render ``svg`` as square PNGs, one per size; returns the files written."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QGuiApplication, QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    _app = QGuiApplication.instance() or QGuiApplication([])
    renderer = QSvgRenderer(str(svg))
    if not renderer.isValid():
        raise SystemExit(f"render_icons: {svg} is not a valid SVG")
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for size in sizes:
        image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
        image.fill(Qt.GlobalColor.transparent)
        painter = QPainter(image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        renderer.render(painter)
        painter.end()
        target = out_dir / f"deskapp-{size}.png"
        if not image.save(str(target), "PNG"):
            raise SystemExit(f"render_icons: could not write {target}")
        written.append(target)
    return written


def write_ico(pngs: dict[int, Path], target: Path) -> Path:
    """A Windows .ico holding the given PNGs (Vista+ reads PNG-compressed entries)."""
    import struct

    sizes = sorted(size for size in pngs if size in ICO_SIZES)
    blobs = [pngs[size].read_bytes() for size in sizes]
    header = struct.pack("<HHH", 0, 1, len(sizes))
    offset = 6 + 16 * len(sizes)
    entries = b""
    for size, blob in zip(sizes, blobs, strict=True):
        side = 0 if size >= 256 else size  # 0 means 256 in an .ico directory entry
        entries += struct.pack("<BBBBHHII", side, side, 0, 0, 1, 32, len(blob), offset)
        offset += len(blob)
    target.write_bytes(header + entries + b"".join(blobs))
    return target


def main(argv: list[str]) -> int:
    """Render every size and the .ico into the folder named on the command line."""
    if len(argv) != 2:
        print("usage: render_icons.py OUT_DIR", file=sys.stderr)
        return 2
    root = Path(__file__).resolve().parent.parent
    out_dir = Path(argv[1])
    pngs = render(root / "resources" / "icons" / "deskapp.svg", out_dir)
    write_ico({int(p.stem.split("-")[1]): p for p in pngs}, out_dir / "deskapp.ico")
    print(f"Rendered {len(pngs)} PNG sizes and deskapp.ico into {out_dir}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
