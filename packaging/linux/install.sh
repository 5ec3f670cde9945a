#!/bin/sh
# Install Tern for the current user (no root needed), from the unpacked tarball:
#
#   ./install.sh              copy Tern to ~/.local/lib/tern, add `tern` to ~/.local/bin,
#                             a menu launcher and icons under ~/.local/share
#   ./install.sh --uninstall  remove all of that again (your chats and models stay in
#                             ~/.local/share/Tern; delete that folder to remove them too)
#
# PREFIX (default ~/.local) and XDG_DATA_HOME (default $PREFIX/share) change where things go.
set -eu

APP_ID=org.tern.Tern
HERE=$(cd "$(dirname "$0")" && pwd)
PREFIX=${PREFIX:-$HOME/.local}
DATA=${XDG_DATA_HOME:-$PREFIX/share}
APPDIR=$PREFIX/lib/tern
BIN=$PREFIX/bin/tern
DESKTOP=$DATA/applications/$APP_ID.desktop
ICONS=$DATA/icons/hicolor

refresh_menus() {
    if command -v update-desktop-database >/dev/null 2>&1; then
        update-desktop-database -q "$DATA/applications" 2>/dev/null || true
    fi
    if command -v gtk-update-icon-cache >/dev/null 2>&1 && [ -f "$ICONS/index.theme" ]; then
        gtk-update-icon-cache -q -t "$ICONS" 2>/dev/null || true
    fi
}

uninstall() {
    rm -rf "$APPDIR"
    if [ -L "$BIN" ]; then rm -f "$BIN"; fi
    rm -f "$DESKTOP"
    for icon in "$ICONS"/*/apps/$APP_ID.png "$ICONS"/scalable/apps/$APP_ID.svg; do
        rm -f "$icon"
    done
    refresh_menus
    echo "Tern is uninstalled. Your conversations and models are still in ${XDG_DATA_HOME:-$HOME/.local/share}/Tern."
}

if [ "${1:-}" = "--uninstall" ]; then
    uninstall
    exit 0
elif [ $# -gt 0 ]; then
    sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
fi

if [ ! -x "$HERE/tern/tern" ]; then
    echo "install.sh: $HERE/tern/tern is missing; run this script from the unpacked Tern folder." >&2
    exit 1
fi

echo "Installing Tern into $APPDIR …"
mkdir -p "$PREFIX/lib" "$PREFIX/bin" "$DATA/applications"
rm -rf "$APPDIR.new"
cp -R "$HERE/tern" "$APPDIR.new"
rm -rf "$APPDIR"
mv "$APPDIR.new" "$APPDIR"
ln -sfn "$APPDIR/tern" "$BIN"
cp "$HERE/install.sh" "$APPDIR/install.sh"  # so --uninstall works after the tarball is gone

# Exec needs quoting if the path has spaces (Desktop Entry spec, "The Exec key").
exec_path=$APPDIR/tern
case $exec_path in *" "*) exec_line="\"$exec_path\"" ;; *) exec_line=$exec_path ;; esac
sed -e "s|@EXEC@|$exec_line|" -e "s|@TRYEXEC@|$exec_path|" "$HERE/share/applications/$APP_ID.desktop.in" > "$DESKTOP"
chmod 644 "$DESKTOP"

for dir in "$HERE"/share/icons/hicolor/*/apps; do
    size=$(basename "$(dirname "$dir")")
    mkdir -p "$ICONS/$size/apps"
    cp "$dir"/* "$ICONS/$size/apps/"
done
refresh_menus

echo "Done. Start Tern from your applications menu, or run: $BIN"
case ":$PATH:" in *":$PREFIX/bin:"*) ;; *) echo "($PREFIX/bin is not on your PATH; add it to run plain \`tern\`.)" ;; esac
echo "To remove it later: $APPDIR/install.sh --uninstall"
