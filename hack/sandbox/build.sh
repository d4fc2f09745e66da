#!/usr/bin/env bash
# Builds the sandbox control-plane binaries (etcd, kube-apiserver, kube-controller-manager,
# kube-scheduler, kubectl, kwok, kwokctl) from the pinned modules under hack/sandbox/modules.
#
# Binaries are cached outside the work tree, keyed by a hash of the pins, so fresh clones
# (CI) on the same machine reuse them and a change of pins rebuilds:
#   ${K8SM_SANDBOX_CACHE:-$HOME/.cache/k8s-manage/sandbox}/bin-<hash>/
# Prints the bin directory on the last line of stdout. Progress goes to stderr.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
mods="$here/modules"
cache=${K8SM_SANDBOX_CACHE:-$HOME/.cache/k8s-manage/sandbox}
k8s_version=v1.37.2

key=$(cat "$mods"/*/go.mod "$mods"/*/go.sum "$0" | sha256sum | cut -c1-16)
bin="$cache/bin-$key"
mkdir -p "$bin"

log() { printf '[sandbox-build %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

# build NAME MODULE_DIR PACKAGE [LDFLAGS]
build() {
  local name=$1 dir=$2 pkg=$3 ldflags=${4:-}
  if [ -x "$bin/$name" ]; then
    log "$name: cached"
    return
  fi
  log "$name: building $pkg (cold builds take minutes) ..."
  local start=$SECONDS
  (cd "$mods/$dir" && GOFLAGS=-mod=mod CGO_ENABLED=0 go build -trimpath -ldflags "-s -w $ldflags" -o "$bin/$name.tmp" "$pkg")
  mv "$bin/$name.tmp" "$bin/$name"
  log "$name: built in $((SECONDS - start))s"
}

ver="-X k8s.io/component-base/version.gitVersion=$k8s_version -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=37 -X k8s.io/component-base/version.gitTreeState=clean -X k8s.io/component-base/version.buildDate=2026-01-01T00:00:00Z"
ver="$ver -X k8s.io/client-go/pkg/version.gitVersion=$k8s_version -X k8s.io/client-go/pkg/version.gitMajor=1 -X k8s.io/client-go/pkg/version.gitMinor=37"

build etcd etcd go.etcd.io/etcd/server/v3
build kwok kwok sigs.k8s.io/kwok/cmd/kwok
build kwokctl kwok sigs.k8s.io/kwok/cmd/kwokctl
build kube-apiserver kubernetes k8s.io/kubernetes/cmd/kube-apiserver "$ver"
build kube-controller-manager kubernetes k8s.io/kubernetes/cmd/kube-controller-manager "$ver"
build kube-scheduler kubernetes k8s.io/kubernetes/cmd/kube-scheduler "$ver"
build kubectl kubernetes k8s.io/kubernetes/cmd/kubectl "$ver"
log "all binaries ready in $bin"
echo "$bin"
