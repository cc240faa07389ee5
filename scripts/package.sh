#!/usr/bin/env bash
# Builds the Debian package: package.sh [OUTDIR]
#
# dpkg-buildpackage -us -uc -b runs in a clean copy of the tree (the files git
# tracks, as they are in the working tree, and the untracked ones it does not
# ignore), so that build/ folders of the checkout never reach the package.
# Prints the path of powerview_<version>_<arch>.deb, written to OUTDIR
# (default: build-deb/ in the checkout). Needs dpkg-dev, debhelper and the
# build dependencies (scripts/deps.sh build).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$root/build-deb}
mkdir -p "$out"
out=$(cd "$out" && pwd)

work=$(mktemp -d "${TMPDIR:-/tmp}/powerview-deb.XXXXXX")
trap 'rm -rf "$work"' EXIT
src=$work/powerview
mkdir -p "$src"
# (a tracked file deleted in the working tree is left out)
while IFS= read -r -d '' f; do
	if [ -e "$root/$f" ] || [ -L "$root/$f" ]; then
		printf '%s\0' "$f"
	fi
done < <(git -C "$root" ls-files -z --cached --others --exclude-standard) \
	| tar -C "$root" --null -T - -cf - | tar -C "$src" -xf -

version=$(dpkg-parsechangelog -l "$src/debian/changelog" -S Version)
arch=$(dpkg-architecture -q DEB_HOST_ARCH)
deb=powerview_${version}_${arch}.deb
(cd "$src" && dpkg-buildpackage -us -uc -b) >"$work/build.log" 2>&1 || {
	tail -n 40 "$work/build.log" >&2
	echo "package.sh: dpkg-buildpackage failed" >&2
	exit 1
}
cp "$work/$deb" "$out/"
printf '%s\n' "$out/$deb"
