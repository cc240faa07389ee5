#!/usr/bin/env bash
# Installs Debian/Ubuntu packages that are missing: deps.sh build | test
set -euo pipefail

build_pkgs=(build-essential cmake pkg-config libcurl4-openssl-dev libcjson-dev libyaml-dev
	zlib1g-dev tzdata)
test_pkgs=("${build_pkgs[@]}" libcmocka-dev bats valgrind clang python3 shellcheck time curl
	victoria-metrics influxdb openssh-server openssh-client python3-yaml python3-jinja2 caddy logrotate
	ansible ansible-lint bash-completion debhelper dpkg-dev fakeroot lintian man-db)

case "${1:-}" in
build) pkgs=("${build_pkgs[@]}") ;;
test) pkgs=("${test_pkgs[@]}") ;;
*) echo "usage: $0 build|test" >&2; exit 64 ;;
esac

missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=()
[ "$(id -u)" -eq 0 ] || sudo=(sudo)
echo "installing: ${missing[*]}" >&2
"${sudo[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get -o DPkg::Lock::Timeout=300 install -y -qq \
	--no-install-recommends "${missing[@]}" >/dev/null
