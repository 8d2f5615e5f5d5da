#!/bin/sh
# tools/deps.sh [build|test|static|ci] - make sure the Debian packages collie needs
# are installed. As root it installs what is missing (and says so); as
# anyone else it prints the exact apt-get line and exits 1.
set -eu

build_pkgs="meson ninja-build pkg-config libinih-dev libjansson-dev musl-tools"
test_pkgs="libcriterion-dev libseccomp-dev bats tini dumb-init"
ci_pkgs="util-linux procps"

case "${1:-build}" in
build) want="$build_pkgs" ;;
test) want="$build_pkgs $test_pkgs" ;;
static) want="$build_pkgs" ;;
ci) want="$build_pkgs $test_pkgs $ci_pkgs" ;;
*) echo "usage: tools/deps.sh [build|test|static|ci]" >&2; exit 2 ;;
esac

missing=""
for p in $want; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" = 0 ]; then
	echo "collie: installing missing Debian packages:$missing" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq >&2 || true
	# shellcheck disable=SC2086
	apt-get install -y -qq --no-install-recommends $missing >&2
else
	echo "collie: these Debian packages are missing:$missing" >&2
	echo "collie: install them with:  sudo apt-get install$missing" >&2
	exit 1
fi
