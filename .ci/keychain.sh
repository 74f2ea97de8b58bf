#!/usr/bin/env bash
# Runs the real-keychain test suite (build tag "keychain") against a Linux
# Secret Service: gnome-keyring on a private D-Bus session bus, unlocked with
# a throwaway password, in a fresh HOME so no old login.keyring with another
# password gets in the way.
#
#   bash .ci/keychain.sh                 # the tokenstore suite
#   bash .ci/keychain.sh ./cmd/...       # other packages with keychain tests
#
# Installs gnome-keyring, dbus and libsecret-tools with apt when missing
# (root or sudo needed). Linux only.
set -euo pipefail

cd "$(dirname "$0")/.."
pkgs=("$@")
[ ${#pkgs[@]} -gt 0 ] || pkgs=(./tokenstore/...)

if [ "$(uname -s)" != Linux ]; then
	echo "keychain.sh: the real-keychain suite runs on Linux only; skipped" >&2
	exit 0
fi

need=()
command -v gnome-keyring-daemon >/dev/null || need+=(gnome-keyring)
command -v dbus-run-session >/dev/null || need+=(dbus)
command -v dbus-send >/dev/null || need+=(dbus)
command -v secret-tool >/dev/null || need+=(libsecret-tools)
if [ ${#need[@]} -gt 0 ]; then
	sudo=
	[ "$(id -u)" = 0 ] || sudo=sudo
	echo "keychain.sh: installing ${need[*]}" >&2
	export DEBIAN_FRONTEND=noninteractive
	$sudo apt-get update -qq
	$sudo apt-get install -y -qq --no-install-recommends gnome-keyring dbus libsecret-tools >/dev/null
fi

# Keep Go's caches where they are: a fresh HOME would otherwise mean a cold
# build cache and no module cache.
export GOPATH="$(go env GOPATH)" GOCACHE="$(go env GOCACHE)" GOMODCACHE="$(go env GOMODCACHE)"

home=$(mktemp -d)
trap 'rm -rf "$home"' EXIT

# The inner script runs on the private session bus. gnome-keyring-daemon
# returns before it owns org.freedesktop.secrets; a client asking at once
# would make D-Bus start a second, locked daemon, so wait for the name.
HOME="$home" XDG_RUNTIME_DIR="$home" XDG_DATA_HOME="$home/.local/share" \
	dbus-run-session -- bash -euo pipefail -c '
	printf %s ci-keychain-pass | gnome-keyring-daemon --unlock --components=secrets >/dev/null
	for _ in $(seq 100); do
		if dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
			org.freedesktop.DBus.NameHasOwner string:org.freedesktop.secrets 2>/dev/null | grep -q "boolean true"; then
			exec go test -race -count=1 -tags keychain ${KEYCHAIN_TEST_FLAGS:-} "$@"
		fi
		sleep 0.1
	done
	echo "keychain.sh: org.freedesktop.secrets has no owner after 10s" >&2
	exit 1
' keychain.sh "${pkgs[@]}"
