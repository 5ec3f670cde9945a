#!/usr/bin/env bash
# Make Tern-<version>-macos-<arch>.dmg from build/dist/Tern.app: the app and a link to
# /Applications, so people drag it across. Signs and notarizes first when the secrets exist
# (see sign_and_notarize.sh); without them the dmg is unsigned and says so.
#
# usage: packaging/macos/make_dmg.sh [APP] [OUT_DIR]
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
APP=${1:-$ROOT/build/dist/Tern.app}
OUT=${2:-$ROOT/build/packages}
VERSION=$(/usr/libexec/PlistBuddy -c "Print :CFBundleShortVersionString" "$APP/Contents/Info.plist")
ARCH=$(uname -m)
DMG="$OUT/Tern-$VERSION-macos-$ARCH.dmg"

"$ROOT/packaging/macos/sign_and_notarize.sh" app "$APP"

STAGE=$(mktemp -d)
trap 'rm -rf "$STAGE"' EXIT
cp -R "$APP" "$STAGE/"
ln -s /Applications "$STAGE/Applications"
mkdir -p "$OUT"
rm -f "$DMG"
hdiutil create -volname "Tern $VERSION" -srcfolder "$STAGE" -fs HFS+ -format UDZO -ov "$DMG"

"$ROOT/packaging/macos/sign_and_notarize.sh" dmg "$DMG"
echo "dmg: $DMG"
