"""Build Deskapp's Linux installers: the PyInstaller bundle, then a .deb around it.

Usage (what ``make installer`` runs, from the repository root, in the project's venv)::

    python installer/build.py            # icons, bundle (dist/deskapp/), .deb (dist/*.deb)
    python installer/build.py --no-deb   # icons and bundle only (Windows, macOS)

The bundle is dist/deskapp/ (a one-folder build; dist/Deskapp.app as well on macOS). The
.deb installs it under /opt/deskapp with a /usr/bin/deskapp command, a .desktop entry and
hicolor icons. Each step prints how long it took.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
INSTALLER = ROOT / "installer"
BUILD = ROOT / "build" / "installer"
ICONS = BUILD / "icons"
DIST = ROOT / "dist"
BUNDLE = DIST / "deskapp"

sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(INSTALLER))
from render_icons import HICOLOR_SIZES, render, write_ico  # noqa: E402

from deskapp import __version__  # noqa: E402

DEB_NAME = "deskapp"
# What the bundled Qt (xcb and Wayland platforms, OpenGL/EGL, fonts) loads from the system;
# everything else, Python included, is inside the bundle.
DEB_DEPENDS = (
    "libc6 (>= 2.31), libstdc++6, libdbus-1-3, libfontconfig1, libfreetype6, "
    "libegl1, libgl1, libopengl0, libx11-6, libx11-xcb1, libxkbcommon0, libxkbcommon-x11-0, "
    "libxcb1, libxcb-cursor0, libxcb-icccm4, libxcb-image0, libxcb-keysyms1, "
    "libxcb-randr0, libxcb-render-util0, libxcb-shape0, libxcb-shm0, libxcb-sync1, "
    "libxcb-xfixes0, libxcb-xkb1, libwayland-client0, libwayland-cursor0, libwayland-egl1"
)
DESKTOP_ENTRY = """\
[Desktop Entry]
Type=Application
Name=Deskapp
GenericName=Service desk
Comment=Log calls and work IT incidents (ITIL incident management)
Exec=deskapp %U
Icon=deskapp
Terminal=false
Categories=Office;Network;Qt;
Keywords=incident;ticket;helpdesk;service desk;ITIL;
StartupWMClass=deskapp
"""


def step(title: str) -> float:
    """Print the step's title; returns its start time for ``done``."""
    print(f"==> {title}", flush=True)
    return time.monotonic()


def done(started: float, what: str) -> None:
    print(f"    {what} in {time.monotonic() - started:.1f} s", flush=True)


def folder_size(folder: Path) -> int:
    return sum(path.stat().st_size for path in folder.rglob("*")
               if path.is_file() and not path.is_symlink())


def build_icons() -> dict[int, Path]:
    """The PNG sizes and the .ico, rendered from resources/icons/deskapp.svg."""
    started = step("Rendering the icon")
    pngs = render(ROOT / "resources" / "icons" / "deskapp.svg", ICONS, HICOLOR_SIZES)
    by_size = {int(path.stem.split("-")[1]): path for path in pngs}
    write_ico(by_size, ICONS / "deskapp.ico")
    if sys.platform == "darwin" and shutil.which("iconutil"):
        # macOS's .icns, for the .app's BUNDLE in the spec: an iconset folder, then iconutil.
        iconset = ICONS / "deskapp.iconset"
        iconset.mkdir(exist_ok=True)
        for size in (16, 32, 128, 256, 512):
            shutil.copy2(by_size[size], iconset / f"icon_{size}x{size}.png")
            if size * 2 in by_size:
                shutil.copy2(by_size[size * 2], iconset / f"icon_{size}x{size}@2x.png")
        subprocess.run(["iconutil", "-c", "icns", str(iconset), "-o",
                        str(ICONS / "deskapp.icns")], check=True)
    done(started, f"{len(pngs)} sizes")
    return by_size


def build_bundle() -> None:
    """Run PyInstaller on installer/deskapp.spec into dist/deskapp/."""
    started = step("Building the bundle with PyInstaller")
    subprocess.run(
        [sys.executable, "-m", "PyInstaller", "--noconfirm", "--log-level", "WARN",
         "--distpath", str(DIST), "--workpath", str(ROOT / "build" / "pyinstaller"),
         str(INSTALLER / "deskapp.spec")],
        check=True, cwd=ROOT)
    done(started, f"dist/deskapp/, {folder_size(BUNDLE) / 2**20:,.0f} MiB")


def deb_architecture() -> str:
    return subprocess.run(["dpkg", "--print-architecture"], check=True, capture_output=True,
                          text=True).stdout.strip()


def build_deb(icons: dict[int, Path], compression: str = "zstd") -> Path:
    """Package dist/deskapp/ as dist/deskapp_<version>_<arch>.deb with dpkg-deb.

    zstd (the default) packs the 190 MiB bundle in seconds and is read by dpkg 1.21.18+
    (Debian 12, Ubuntu 21.10 and later); xz or gzip suit older systems, xz taking minutes.
    """
    started = step("Building the .deb")
    root = BUILD / "deb"
    shutil.rmtree(root, ignore_errors=True)
    shutil.copytree(BUNDLE, root / "opt" / "deskapp", symlinks=True)

    command = root / "usr" / "bin" / "deskapp"
    command.parent.mkdir(parents=True)
    # A wrapper rather than a symlink: the bundle finds its files from its own path, and
    # this keeps working whatever resolves (or not) /usr/bin links.
    command.write_text('#!/bin/sh\nexec /opt/deskapp/deskapp "$@"\n')
    command.chmod(0o755)

    applications = root / "usr" / "share" / "applications"
    applications.mkdir(parents=True)
    (applications / "deskapp.desktop").write_text(DESKTOP_ENTRY)
    hicolor = root / "usr" / "share" / "icons" / "hicolor"
    for size, png in icons.items():
        target = hicolor / f"{size}x{size}" / "apps" / "deskapp.png"
        target.parent.mkdir(parents=True)
        shutil.copy2(png, target)
    scalable = hicolor / "scalable" / "apps"
    scalable.mkdir(parents=True)
    shutil.copy2(ROOT / "resources" / "icons" / "deskapp.svg", scalable / "deskapp.svg")

    doc = root / "usr" / "share" / "doc" / DEB_NAME
    doc.mkdir(parents=True)
    shutil.copy2(INSTALLER / "linux" / "copyright", doc / "copyright")

    debian = root / "DEBIAN"
    debian.mkdir()
    installed_kib = (folder_size(root) + 1023) // 1024
    (debian / "control").write_text(
        f"Package: {DEB_NAME}\n"
        f"Version: {__version__}\n"
        "Section: utils\n"
        "Priority: optional\n"
        f"Architecture: {deb_architecture()}\n"
        "Maintainer: Deskapp maintainers <deskapp@example.org>\n"
        f"Installed-Size: {installed_kib}\n"
        f"Depends: {DEB_DEPENDS}\n"
        "Description: desktop service desk for IT incident management (ITIL)\n"
        " Deskapp records incidents, sets their priority from an impact/urgency matrix,\n"
        " tracks SLAs and works them through their lifecycle, on a local SQLite file or\n"
        " a shared PostgreSQL database. Python and Qt are bundled under /opt/deskapp.\n")
    for script in ("postinst", "postrm"):
        shutil.copy2(INSTALLER / "linux" / script, debian / script)
        (debian / script).chmod(0o755)

    target = DIST / f"{DEB_NAME}_{__version__}_{deb_architecture()}.deb"
    target.unlink(missing_ok=True)
    subprocess.run(["dpkg-deb", "--root-owner-group", f"-Z{compression}", "--build",
                    str(root), str(target)], check=True, stdout=subprocess.DEVNULL)
    done(started, f"{target.relative_to(ROOT)}, {target.stat().st_size / 2**20:,.0f} MiB")
    return target


def main(argv: list[str] | None = None) -> int:
    """Build the icons, the bundle and (on Debian-like systems) the .deb."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-deb", action="store_true", help="build the bundle only")
    parser.add_argument("--deb-only", action="store_true",
                        help="package the bundle already in dist/deskapp/ again")
    parser.add_argument("--compression", choices=("zstd", "xz", "gzip"), default="zstd",
                        help="the .deb's compression (default zstd; xz or gzip for dpkg "
                        "older than 1.21.18)")
    args = parser.parse_args(argv)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    started = time.monotonic()
    icons = build_icons()
    if not args.deb_only:
        build_bundle()
    if not args.no_deb:
        if shutil.which("dpkg-deb") is None:
            print("installer: dpkg-deb is not installed; skipping the .deb (--no-deb hides "
                  "this)", file=sys.stderr)
        else:
            build_deb(icons, args.compression)
    print(f"Built in {time.monotonic() - started:.0f} s.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
