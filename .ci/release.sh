#!/usr/bin/env bash
# .ci/release.sh: build every release artifact with goreleaser in snapshot mode
# (nothing is published) and check what a user would download.
#
# Checks, in order:
#   1. the code, keychain included, compiles for macOS and Windows (GOOS=... go vet ./...)
#   2. goreleaser.yaml is valid (goreleaser check)
#   3. goreleaser release --snapshot --clean --skip=publish succeeds
#   4. six archives: darwin/linux/windows x amd64/arm64, tar.gz (zip for Windows), each
#      holding the binary, README.md, LICENSE and configs/config.yaml (the annotated
#      example config); every binary built with CGO_ENABLED=0 and -trimpath
#   5. four Linux packages: deb and rpm x amd64, arm64; the debs install /usr/bin/agw-proxy
#      and /usr/share/doc/agw-proxy/config.yaml
#   6. the archive's binary for this machine runs, and `version` prints the snapshot
#      version, commit and build date goreleaser stamped into it
#   7. an SPDX SBOM per archive naming the agw-proxy module and Go's stdlib
#   8. checksums.txt lists every archive, package, SBOM and bundle and verifies (sha256sum -c)
#   9. six Claude Desktop extensions (MCP Bundles, .mcpb; goreleaser's post-build hook
#      .ci/mcpb.sh validates and packs each with the official mcpb CLI): each holds its
#      manifest (this version, this OS) and the binary, executable; for this machine's,
#      the command its mcp_config names, resolved by @anthropic-ai/mcpb as Claude
#      Desktop does, is the bundle's binary and runs (cmd/agw-proxy's mcpb_test.go runs
#      a whole MCP session through such a bundle)
#
# Installs goreleaser and syft (pinned below) with `go install` when missing or another
# version; reuses them otherwise; and the mcpb CLI (.ci/clients, from npm) when missing. Exits non-zero with a message on any failure.
# Usage: .ci/release.sh (from anywhere; it works in the repository holding it)
set -euo pipefail

GORELEASER_VERSION=v2.15.1 # v2.18+ needs a newer Go than this project's 1.26
SYFT_VERSION=v1.57.1       # SBOMs; reads Go build info offline
# Only used to stand in for a missing git remote, see below. Nothing is pushed.
REPO_URL=https://github.com/agw-proxy/agw-proxy.git

cd "$(dirname "$0")/.."
start=$SECONDS
fail() {
	echo "release.sh: FAIL: $*" >&2
	exit 1
}
step() { printf '==> [%3ds] %s\n' "$((SECONDS - start))" "$*"; }

for tool in go git tar unzip sha256sum dpkg-deb cmp node npm; do
	command -v "$tool" >/dev/null || fail "$tool not found (Debian: apt-get install dpkg unzip coreutils diffutils tar git)"
done

# Every archive ships these (goreleaser.yaml archives.files); fail early and clearly.
for f in README.md LICENSE configs/config.yaml; do
	[[ -f $f ]] || fail "$f is missing: every archive and package ships it"
done

# 1. Cross-platform vet: tokenstore's keychain code has per-OS paths (go-keyring uses
# /usr/bin/security on macOS, wincred on Windows); this proves they compile.
for os in darwin windows; do
	step "GOOS=$os go vet ./..."
	GOOS=$os GOARCH=amd64 CGO_ENABLED=0 go vet ./... || fail "go vet failed for GOOS=$os"
done

# 2. Tools, installed with `go install` into GOBIN once and reused afterwards: goreleaser,
# and syft, which goreleaser runs for the SBOMs. Both pinned, so artifacts do not change
# with whatever happens to be on PATH.
gobin=$(go env GOBIN)
gobin=${gobin:-$(go env GOPATH)/bin}
# tool_ok BIN MODULE VERSION: BIN runs and is VERSION of MODULE. `go version -m` reads
# what `go install` recorded; release binaries of either tool print it with --version.
tool_ok() {
	[[ -x $1 ]] || return 1
	# Output captured first: with pipefail, `cmd | grep -q` fails when grep exits early.
	local info
	info=$(go version -m "$1" 2>/dev/null || true)
	grep -Eq "^[[:space:]]+mod[[:space:]]+$2[[:space:]]+$3([[:space:]]|\$)" <<<"$info" && return 0
	info=$("$1" --version 2>/dev/null || true)
	grep -Eq "^(GitVersion|Version):[[:space:]]+v?${3#v}\$" <<<"$info"
}
# ensure_tool NAME PACKAGE MODULE VERSION: prints the path of a usable NAME.
ensure_tool() {
	local name=$1 pkg=$2 mod=$3 ver=$4 candidate
	for candidate in "$(command -v "$name" || true)" "$gobin/$name"; do
		if [[ -n $candidate ]] && tool_ok "$candidate" "$mod" "$ver"; then
			echo "$candidate"
			return
		fi
	done
	step "installing $name $ver into $gobin (minutes, once per machine)" >&2
	(cd / && GOBIN=$gobin go install "$pkg@$ver") >&2 || fail "could not install $name $ver"
	tool_ok "$gobin/$name" "$mod" "$ver" || fail "$gobin/$name does not report version $ver"
	echo "$gobin/$name"
}
goreleaser=$(ensure_tool goreleaser github.com/goreleaser/goreleaser/v2 github.com/goreleaser/goreleaser/v2 "$GORELEASER_VERSION")
syft=$(ensure_tool syft github.com/anchore/syft/cmd/syft github.com/anchore/syft "$SYFT_VERSION")
# goreleaser's sboms pipe runs "syft" from PATH.
PATH=$(dirname "$syft"):$PATH
step "using $goreleaser ($GORELEASER_VERSION) and $syft ($SYFT_VERSION)"

# A fresh CI clone may have no remote (or a detached, shallow checkout). goreleaser
# reads the commit, date and remote URL in one go; when `git ls-remote --get-url`
# fails it drops all of it and stamps commit "none" into a snapshot build. So when
# there is no remote, lend it the project's URL through git's environment config,
# for goreleaser's process only (the clone's .git/config is not touched). Only the
# URL is borrowed: release.github in goreleaser.yaml names the repository anyway, and
# --skip=publish means nothing is sent anywhere.
# Detached HEAD and shallow clones need nothing special: without a reachable tag the
# snapshot version is 0.0.1-SNAPSHOT-<commit>. --snapshot already skips the
# "validate" pipe (clean tree, tag on HEAD), so --skip=validate would be redundant.
if git rev-parse --git-dir >/dev/null 2>&1 && [[ -z $(git remote) ]]; then
	step "no git remote: lending goreleaser remote.origin.url=$REPO_URL (environment only)"
	n=${GIT_CONFIG_COUNT:-0}
	export "GIT_CONFIG_KEY_$n=remote.origin.url" "GIT_CONFIG_VALUE_$n=$REPO_URL"
	export GIT_CONFIG_COUNT=$((n + 1))
fi

# The mcpb CLI, for goreleaser's hook .ci/mcpb.sh (pinned in .ci/clients/package.json;
# .ci/run has installed it already).
if [[ ! -x .ci/clients/node_modules/.bin/mcpb ]]; then
	step "npm ci --prefix .ci/clients (the mcpb CLI)"
	timeout 300 npm ci --prefix .ci/clients --no-audit --no-fund || fail "npm ci --prefix .ci/clients failed"
fi

step "goreleaser check"
"$goreleaser" check || fail "goreleaser check: goreleaser.yaml is invalid or uses deprecated options"

# 3. The snapshot release.
step "goreleaser release --snapshot --clean --skip=publish"
"$goreleaser" release --snapshot --clean --skip=publish || fail "goreleaser release --snapshot failed"
step "snapshot built"

dist=dist
meta=$(cat "$dist/metadata.json") || fail "$dist/metadata.json missing"
field() { sed -n "s/.*\"$1\":\"\([^\"]*\)\".*/\1/p" <<<"$meta"; }
version=$(field version)
commit=$(field commit)
[[ -n $version ]] || fail "no version in $dist/metadata.json"
if git rev-parse --git-dir >/dev/null 2>&1; then
	head=$(git rev-parse HEAD)
	[[ $commit == "$head" ]] || fail "goreleaser saw commit '$commit', HEAD is $head"
	[[ $version == *-SNAPSHOT-"${head:0:7}"* ]] || fail "snapshot version '$version' does not name commit ${head:0:7}"
fi
step "snapshot version $version"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# 4. Archives.
host_os=$(go env GOHOSTOS)
host_arch=$(go env GOHOSTARCH)
host_archive=""
for os in darwin linux windows; do
	for arch in amd64 arm64; do
		base="agw-proxy_${version}_${os}_${arch}"
		bin=agw-proxy
		if [[ $os == windows ]]; then
			archive=$dist/$base.zip
			bin=agw-proxy.exe
			[[ -f $archive ]] || fail "missing archive $archive"
			list=$(unzip -Z1 "$archive") || fail "$archive is not a readable zip"
		else
			archive=$dist/$base.tar.gz
			[[ -f $archive ]] || fail "missing archive $archive"
			list=$(tar -tzf "$archive") || fail "$archive is not a readable tar.gz"
		fi
		for want in "$bin" README.md LICENSE configs/config.yaml; do
			grep -qx "$want" <<<"$list" || fail "$archive lacks $want (has: $(tr '\n' ' ' <<<"$list"))"
		done
		# The build settings Go records in every binary (readable for any target).
		settings=$(go version -m "$dist/agw-proxy_${os}_${arch}"_*/"$bin") ||
			fail "cannot read build info of the $os/$arch binary"
		grep -q 'CGO_ENABLED=0' <<<"$settings" || fail "$os/$arch binary not built with CGO_ENABLED=0"
		grep -q -- '-trimpath=true' <<<"$settings" || fail "$os/$arch binary not built with -trimpath"
		if [[ $os == "$host_os" && $arch == "$host_arch" ]]; then
			host_archive=$archive
		fi
	done
done
count=$(find "$dist" -maxdepth 1 \( -name '*.tar.gz' -o -name '*.zip' \) | wc -l)
[[ $count -eq 6 ]] || fail "expected 6 archives in $dist, found $count"
step "6 archives present, each with the binary, README.md, LICENSE and configs/config.yaml; no cgo, trimpath"

# 5. Linux packages.
for arch in amd64 arm64; do
	deb=$dist/agw-proxy_${version}_linux_${arch}.deb
	rpm=$dist/agw-proxy_${version}_linux_${arch}.rpm
	[[ -f $deb ]] || fail "missing package $deb"
	[[ -f $rpm ]] || fail "missing package $rpm"
	contents=$(dpkg-deb -c "$deb") || fail "$deb is not a readable deb"
	grep -Eq '^-rwxr-xr-x .* \./usr/bin/agw-proxy$' <<<"$contents" ||
		fail "$deb does not install an executable /usr/bin/agw-proxy:"$'\n'"$contents"
	grep -Eq '^-rw-r--r-- .* \./usr/share/doc/agw-proxy/config\.yaml$' <<<"$contents" ||
		fail "$deb does not install /usr/share/doc/agw-proxy/config.yaml:"$'\n'"$contents"
	[[ $(dpkg-deb -f "$deb" Architecture) == "$arch" ]] || fail "$deb: Architecture is not $arch"
	# rpm(8) is rarely installed on Debian CI: check the lead (magic) bytes, and the file
	# list when rpm is there.
	[[ $(head -c4 "$rpm" | od -An -tx1 | tr -d ' \n') == edabeedb ]] || fail "$rpm is not an RPM file"
	if command -v rpm >/dev/null; then
		files=$(rpm -qlp "$rpm" 2>/dev/null) || fail "$rpm is not a readable rpm"
		grep -qx /usr/bin/agw-proxy <<<"$files" || fail "$rpm does not install /usr/bin/agw-proxy"
		grep -qx /usr/share/doc/agw-proxy/config.yaml <<<"$files" || fail "$rpm does not install /usr/share/doc/agw-proxy/config.yaml"
		want_arch=x86_64
		[[ $arch == arm64 ]] && want_arch=aarch64
		[[ $(rpm -qp --qf '%{ARCH}' "$rpm" 2>/dev/null) == "$want_arch" ]] || fail "$rpm: architecture is not $want_arch"
	fi
done
count=$(find "$dist" -maxdepth 1 \( -name '*.deb' -o -name '*.rpm' \) | wc -l)
[[ $count -eq 4 ]] || fail "expected 4 Linux packages in $dist, found $count"
step "4 Linux packages present; the debs install ./usr/bin/agw-proxy and the example config"

# 6. Run the binary a user gets from the archive for this machine.
if [[ -n $host_archive ]]; then
	tar -xzf "$host_archive" -C "$tmp" agw-proxy configs/config.yaml
	out=$("$tmp/agw-proxy" version) || fail "$host_archive: 'agw-proxy version' failed"
	# The shipped example is the one the binary writes ("agw-proxy init").
	"$tmp/agw-proxy" init --example | cmp -s - "$tmp/configs/config.yaml" ||
		fail "$host_archive: configs/config.yaml differs from what 'agw-proxy init --example' prints"
	re="^agw-proxy ${version//./\\.} \\(commit ${commit:0:7}, built [0-9]{4}-[0-9]{2}-[0-9]{2}T[^,]+, go[0-9.]+, $host_os/$host_arch\\)\$"
	[[ $out =~ $re ]] || fail "'agw-proxy version' printed '$out', want version $version, commit ${commit:0:7}, a build date"
	step "$host_os/$host_arch binary runs: $out"
else
	fail "no archive for this machine ($host_os/$host_arch) to run"
fi

# 7. SBOMs.
for archive in "$dist"/*.tar.gz "$dist"/*.zip; do
	sbom=$archive.sbom.json
	[[ -f $sbom ]] || fail "missing SBOM $sbom"
	for want in '"spdxVersion": *"SPDX-' '"name": *"github.com/agw-proxy/agw-proxy"' '"name": *"stdlib"'; do
		grep -Eq "$want" "$sbom" || fail "$sbom lacks $want"
	done
done
step "6 SBOMs (SPDX) present"

# 8. Checksums.
sums=$dist/checksums.txt
[[ -f $sums ]] || fail "missing $sums"
for f in "$dist"/*.tar.gz "$dist"/*.zip "$dist"/*.deb "$dist"/*.rpm "$dist"/*.sbom.json "$dist"/*.mcpb; do
	grep -q "  ${f##*/}\$" "$sums" || fail "$sums does not list ${f##*/}"
done
(cd "$dist" && sha256sum --check --strict --quiet checksums.txt) || fail "checksums.txt does not verify"
step "checksums.txt lists all $(wc -l <"$sums") files and verifies"

# 9. Claude Desktop extensions.
for os in darwin linux windows; do
	for arch in amd64 arm64; do
		bundle=$dist/agw-proxy_${version}_${os}_${arch}.mcpb
		[[ -f $bundle ]] || fail "missing bundle $bundle"
		entry=server/agw-proxy
		[[ $os == windows ]] && entry=server/agw-proxy.exe
		list=$(unzip -Z "$bundle") || fail "$bundle is not a readable zip"
		grep -Eq "^.rwxr-xr-x .* $entry\$" <<<"$list" || fail "$bundle lacks an executable $entry:"$'\n'"$list"
		manifest=$(unzip -p "$bundle" manifest.json) || fail "$bundle lacks manifest.json"
		platform=$os
		[[ $os == windows ]] && platform=win32
		node -e '
			const [m, version, platform, entry] = [JSON.parse(process.argv[1]), ...process.argv.slice(2)];
			const ok = m.version === version && m.server.entry_point === entry &&
				m.server.mcp_config.command === "${__dirname}/" + entry &&
				JSON.stringify(m.compatibility.platforms) === JSON.stringify([platform]) &&
				m.user_config.client_secret.sensitive && m.user_config.inject_secret.sensitive;
			process.exit(ok ? 0 : 1);' "$manifest" "$version" "$platform" "$entry" ||
			fail "$bundle: manifest.json is not the $os bundle's of $version:"$'\n'"$manifest"
		if [[ $os == "$host_os" && $arch == "$host_arch" ]]; then
			ext=$tmp/mcpb/agw-proxy
			mkdir -p "$ext"
			unzip -q "$bundle" -d "$ext" || fail "cannot unpack $bundle"
			# What Claude Desktop runs: the official library fills ${__dirname} and the
			# user's entries (no secret here: cmd/agw-proxy's tests cover those).
			cmd=$(cd .ci/clients && node --input-type=module -e '
				const { getMcpConfigForManifest } = await import("@anthropic-ai/mcpb");
				const fs = await import("node:fs");
				const dir = process.argv[1];
				const manifest = JSON.parse(fs.readFileSync(dir + "/manifest.json", "utf8"));
				const c = await getMcpConfigForManifest({ manifest, extensionPath: dir, systemDirs: {}, pathSeparator: "/",
					userConfig: { gateway_url: "https://example.gateway.bedrock-agentcore.us-east-1.amazonaws.com/mcp" } });
				process.stdout.write([c.command, ...c.args].join(String.fromCharCode(10)));' "$ext") ||
				fail "$bundle: @anthropic-ai/mcpb could not resolve its mcp_config"
			command=$(head -1 <<<"$cmd")
			[[ $command == "$ext/$entry" ]] || fail "$bundle: mcp_config runs '$command', not the bundle's $ext/$entry"
			[[ $(sed -n 2p <<<"$cmd") == mcpb-serve ]] || fail "$bundle: mcp_config does not run mcpb-serve"
			out=$("$command" version) || fail "$bundle: the binary its mcp_config names does not run"
			[[ $out == "agw-proxy $version "* ]] || fail "$bundle: its binary is not $version: $out"
		fi
	done
done
count=$(find "$dist" -maxdepth 1 -name '*.mcpb' | wc -l)
[[ $count -eq 6 ]] || fail "expected 6 bundles in $dist, found $count"
step "6 Claude Desktop extensions (.mcpb), validated and packed by mcpb; this machine's runs its binary"

step "release artifacts OK (in $dist/)"
