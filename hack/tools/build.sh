#!/usr/bin/env bash
# Builds the test tools pinned under hack/tools (today: the helm CLI, from helm.sh/helm/v4) into a
# cache outside the work tree, keyed by the pins, like hack/sandbox/build.sh:
#   ${K8SM_TOOLS_CACHE:-$HOME/.cache/k8s-manage/tools}/bin-<hash>/
# Prints the bin directory on the last line of stdout. Progress goes to stderr.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
cache=${K8SM_TOOLS_CACHE:-$HOME/.cache/k8s-manage/tools}
key=$(cat "$here"/*/go.mod "$here"/*/go.sum "$0" | sha256sum | cut -c1-16)
bin="$cache/bin-$key"
mkdir -p "$bin"

log() { printf '[tools-build %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

# build NAME MODULE_DIR PACKAGE
build() {
  local name=$1 dir=$2 pkg=$3
  if [ -x "$bin/$name" ]; then
    log "$name: cached"
    return
  fi
  log "$name: building $pkg (a cold build takes a few minutes) ..."
  local start=$SECONDS
  (cd "$here/$dir" && GOFLAGS=-mod=mod CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$bin/$name.tmp" "$pkg")
  mv "$bin/$name.tmp" "$bin/$name"
  log "$name: built in $((SECONDS - start))s"
}

build helm helm helm.sh/helm/v4/cmd/helm
echo "$bin"
