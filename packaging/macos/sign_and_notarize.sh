#!/usr/bin/env bash
# Sign Tern.app (hardened runtime, entitlements.plist) or a dmg, and notarize + staple the dmg.
# Runs only where the secrets exist; otherwise says so and leaves the file unsigned (ad-hoc).
#
#   sign_and_notarize.sh app PATH/Tern.app
#   sign_and_notarize.sh dmg PATH/Tern-….dmg
#
# Environment (GitHub secrets in release.yml):
#   MACOS_SIGN_IDENTITY  "Developer ID Application: Name (TEAMID)", in the keychain already
#   APPLE_ID, APPLE_TEAM_ID, APPLE_APP_PASSWORD   an app-specific password for notarytool
set -euo pipefail
KIND=${1:?app or dmg}; TARGET=${2:?path}
HERE=$(cd "$(dirname "$0")" && pwd)

if [ -z "${MACOS_SIGN_IDENTITY:-}" ]; then
    echo "sign: MACOS_SIGN_IDENTITY not set — $TARGET stays unsigned (ad-hoc); Gatekeeper will warn." >&2
    exit 0
fi

case "$KIND" in
app)
    # Inside out: every library and executable first, then the bundle (--deep is deprecated).
    find "$TARGET/Contents" -type f \( -name '*.so' -o -name '*.dylib' -o -perm -u+x \) -print0 |
        while IFS= read -r -d '' f; do
            if file "$f" | grep -q 'Mach-O'; then
                codesign --force --timestamp --options runtime --entitlements "$HERE/entitlements.plist" \
                    --sign "$MACOS_SIGN_IDENTITY" "$f"
            fi
        done
    codesign --force --timestamp --options runtime --entitlements "$HERE/entitlements.plist" \
        --sign "$MACOS_SIGN_IDENTITY" "$TARGET"
    codesign --verify --strict --verbose=2 "$TARGET"
    ;;
dmg)
    codesign --force --timestamp --sign "$MACOS_SIGN_IDENTITY" "$TARGET"
    if [ -n "${APPLE_ID:-}" ] && [ -n "${APPLE_TEAM_ID:-}" ] && [ -n "${APPLE_APP_PASSWORD:-}" ]; then
        xcrun notarytool submit "$TARGET" --apple-id "$APPLE_ID" --team-id "$APPLE_TEAM_ID" \
            --password "$APPLE_APP_PASSWORD" --wait
        xcrun stapler staple "$TARGET"
        spctl --assess --type open --context context:primary-signature --verbose "$TARGET"
    else
        echo "notarize: APPLE_ID / APPLE_TEAM_ID / APPLE_APP_PASSWORD not set — signed but not notarized." >&2
    fi
    ;;
*)
    echo "usage: $0 app|dmg PATH" >&2
    exit 2
    ;;
esac
