#!/usr/bin/env bash
# .ci/mcpb.sh BINARY OS ARCH VERSION: goreleaser's post-build hook
# (goreleaser.yaml builds.hooks.post): the Claude Desktop extension (an MCP
# Bundle) of one built binary, dist/agw-proxy_VERSION_OS_ARCH.mcpb. Its
# manifest comes from internal/mcpb (go run ./internal/mcpb/manifest); the
# official CLI, @anthropic-ai/mcpb pinned in .ci/clients/package.json
# (npm ci --prefix .ci/clients), validates the manifest and packs the bundle.
# Offline; each step bounded.
set -euo pipefail
cd "$(dirname "$0")/.."
[[ $# -eq 4 ]] || { echo "usage: .ci/mcpb.sh BINARY OS ARCH VERSION" >&2; exit 2; }
bin=$1 os=$2 arch=$3 version=$4
mcpb=.ci/clients/node_modules/.bin/mcpb
[[ -x $mcpb ]] || { echo "mcpb.sh: $mcpb is missing: run npm ci --prefix .ci/clients" >&2; exit 1; }

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
entry=server/agw-proxy
[[ $os == windows ]] && entry=server/agw-proxy.exe
mkdir -p "$stage/server"
cp "$bin" "$stage/$entry"
chmod 755 "$stage/$entry"
cp LICENSE "$stage/LICENSE"
# The generator runs on this machine, whatever target the hook is for.
env -u GOOS -u GOARCH CGO_ENABLED=0 go run ./internal/mcpb/manifest -version "$version" -goos "$os" >"$stage/manifest.json"
timeout 60 "$mcpb" validate "$stage/manifest.json" >/dev/null ||
	{ echo "mcpb.sh: mcpb validate refused the $os manifest" >&2; exit 1; }
mkdir -p dist
out=dist/agw-proxy_${version}_${os}_${arch}.mcpb
timeout 120 "$mcpb" pack "$stage" "$out" >"$stage.log" 2>&1 ||
	{ cat "$stage.log" >&2; rm -f "$stage.log"; echo "mcpb.sh: mcpb pack failed for $os/$arch" >&2; exit 1; }
rm -f "$stage.log"
