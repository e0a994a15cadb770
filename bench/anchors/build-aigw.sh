#!/usr/bin/env bash
# Builds Envoy AI Gateway's ext_proc (cmd/extproc of github.com/envoyproxy/ai-gateway, tag v1.1.0) for
# `npm run bench -- --anchors`, the way AIGW's Makefile builds release binaries: CGO_ENABLED=0 and the version stamped
# with -ldflags (the ext_proc refuses a filter config whose "version" differs; the bench reads the stamp back).
#
# It is not on npm and this script downloads no source: fetch the public repository yourself, e.g.
#   git clone --branch v1.1.0 --depth 1 https://github.com/envoyproxy/ai-gateway /tmp/aigw-src
# (v1.1.0 = commit c217da8a539570ba3f6014a60c2687c29a945f1f), then run
#   AIGW_SRC=/tmp/aigw-src bench/anchors/build-aigw.sh
# Needs Go >= the go.mod's (1.26.4 for v1.1.0); Go modules come from the Go module proxy.
# Env: AIGW_SRC (default /tmp/aigw-src), AIGW_EXTPROC output (default /tmp/aigw/extproc, where the bench looks),
#      AIGW_VERSION (default v1.1.0-0-gc217da8: `git describe --tags --long` of v1.1.0, which the ext_proc reports as
#      "v1.1.0"), GO (default: go on PATH, else /usr/local/go/bin/go).
set -euo pipefail
SRC=${AIGW_SRC:-/tmp/aigw-src}
OUT=${AIGW_EXTPROC:-/tmp/aigw/extproc}
VER=${AIGW_VERSION:-v1.1.0-0-gc217da8}
GO=${GO:-$(command -v go || echo /usr/local/go/bin/go)}
[ -f "$SRC/go.mod" ] && [ -d "$SRC/cmd/extproc" ] || { echo "build-aigw.sh: no AIGW source at $SRC (no go.mod or cmd/extproc); see the header of $0" >&2; exit 1; }
[ -x "$GO" ] || { echo "build-aigw.sh: no Go toolchain ($GO); install Go >= 1.26 or set GO" >&2; exit 1; }
mkdir -p "$(dirname "$OUT")"
cd "$SRC"
CGO_ENABLED=0 "$GO" build -ldflags "-X github.com/envoyproxy/ai-gateway/internal/version.version=$VER" -o "$OUT" ./cmd/extproc
"$GO" version -m "$OUT" | grep -E 'go1|ldflags|CGO_ENABLED'
echo "built $OUT"
