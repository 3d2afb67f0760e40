#!/usr/bin/env bash
# Build Deskapp-<version>-<arch>.AppImage from the PyInstaller bundle (run `make installer`
# first, on the oldest Linux you want to support: the bundle needs that glibc or newer).
#
#   installer/appimage/build-appimage.sh            # writes dist/Deskapp-<version>-<arch>.AppImage
#   APPIMAGETOOL=/path/to/appimagetool installer/appimage/build-appimage.sh
#
# appimagetool comes from https://github.com/AppImage/appimagetool (an AppImage itself; on a
# machine without FUSE run it with --appimage-extract-and-run, which this script does).
set -euo pipefail
cd "$(dirname "$0")/../.."

version=$(.venv/bin/python -c 'import deskapp; print(deskapp.__version__)')
arch=$(uname -m)
tool=${APPIMAGETOOL:-$(command -v appimagetool || true)}
if [[ -z "$tool" ]]; then
    echo "build-appimage: appimagetool not found; install it or set APPIMAGETOOL" >&2
    exit 1
fi
[[ -x dist/deskapp/deskapp ]] || { echo "build-appimage: run 'make installer' first" >&2; exit 1; }

appdir=build/installer/Deskapp.AppDir
rm -rf "$appdir"
mkdir -p "$appdir/usr/lib" "$appdir/usr/share/applications" "$appdir/usr/share/icons/hicolor"
cp -a dist/deskapp "$appdir/usr/lib/deskapp"

# The AppImage runtime starts AppRun; it runs the bundle with the arguments given.
cat > "$appdir/AppRun" <<'RUN'
#!/bin/sh
here="$(dirname "$(readlink -f "$0")")"
exec "$here/usr/lib/deskapp/deskapp" "$@"
RUN
chmod 755 "$appdir/AppRun"

# The same menu entry as the .deb, and the icon at the AppDir's top as AppImage wants it.
.venv/bin/python - "$appdir" <<'PY'
import sys
from pathlib import Path
sys.path.insert(0, "installer")
from build import DESKTOP_ENTRY
appdir = Path(sys.argv[1])
(appdir / "deskapp.desktop").write_text(DESKTOP_ENTRY)
(appdir / "usr/share/applications/deskapp.desktop").write_text(DESKTOP_ENTRY)
PY
for png in build/installer/icons/deskapp-*.png; do
    size=${png##*-}; size=${size%.png}
    mkdir -p "$appdir/usr/share/icons/hicolor/${size}x${size}/apps"
    cp "$png" "$appdir/usr/share/icons/hicolor/${size}x${size}/apps/deskapp.png"
done
cp build/installer/icons/deskapp-256.png "$appdir/deskapp.png"
ln -sf deskapp.png "$appdir/.DirIcon"

out="dist/Deskapp-${version}-${arch}.AppImage"
ARCH="$arch" "$tool" --appimage-extract-and-run "$appdir" "$out" 2>/dev/null \
    || ARCH="$arch" "$tool" "$appdir" "$out"
echo "Built $out"
"$out" --appimage-extract-and-run --version
