#!/usr/bin/env bash
# Builds the sandbox control-plane binaries (etcd, kube-apiserver, kube-controller-manager,
# kube-scheduler, kubectl, kwok, kwokctl, metrics-server, and for tests prometheus and
# kube-state-metrics) from the pinned modules under hack/sandbox/modules.
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

# Each module's binaries are cached by a hash of that module's pins (and the flags they are built
# with), so adding or bumping one module rebuilds only its binaries; the bin directory that the
# sandbox reads links them together, keyed by all the pins.
key=$(cat "$mods"/*/go.mod "$mods"/*/go.sum "$0" | sha256sum | cut -c1-16)
bin="$cache/bin-$key"
mkdir -p "$bin"

log() { printf '[sandbox-build %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

# build NAME MODULE_DIR PACKAGE [LDFLAGS]
build() {
  local name=$1 dir=$2 pkg=$3 ldflags=${4:-}
  local mkey
  mkey=$( (cat "$mods/$dir/go.mod" "$mods/$dir/go.sum"; echo "$pkg $ldflags") | sha256sum | cut -c1-16)
  local out="$cache/$dir-$mkey"
  if [ -x "$out/$name" ]; then
    log "$name: cached"
  else
    log "$name: building $pkg (cold builds take minutes) ..."
    local start=$SECONDS
    mkdir -p "$out"
    (cd "$mods/$dir" && GOFLAGS=-mod=mod CGO_ENABLED=0 go build -trimpath -ldflags "-s -w $ldflags" -o "$out/$name.tmp" "$pkg")
    mv "$out/$name.tmp" "$out/$name"
    log "$name: built in $((SECONDS - start))s"
  fi
  ln -sfn "$out/$name" "$bin/$name"
}

ver="-X k8s.io/component-base/version.gitVersion=$k8s_version -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=37 -X k8s.io/component-base/version.gitTreeState=clean -X k8s.io/component-base/version.buildDate=2026-01-01T00:00:00Z"
ver="$ver -X k8s.io/client-go/pkg/version.gitVersion=$k8s_version -X k8s.io/client-go/pkg/version.gitMajor=1 -X k8s.io/client-go/pkg/version.gitMinor=37"
ms_version=$(sed -n 's|^\trequire sigs.k8s.io/metrics-server \(v[^ ]*\).*|\1|p; s|^require sigs.k8s.io/metrics-server \(v[^ ]*\).*|\1|p' "$mods/metrics-server/go.mod")
ms_ver="-X k8s.io/client-go/pkg/version.gitVersion=$ms_version -X k8s.io/client-go/pkg/version.gitTreeState=clean -X k8s.io/client-go/pkg/version.buildDate=2026-01-01T00:00:00Z"

build etcd etcd go.etcd.io/etcd/server/v3
build kwok kwok sigs.k8s.io/kwok/cmd/kwok
build kwokctl kwok sigs.k8s.io/kwok/cmd/kwokctl
build kube-apiserver kubernetes k8s.io/kubernetes/cmd/kube-apiserver "$ver"
build kube-controller-manager kubernetes k8s.io/kubernetes/cmd/kube-controller-manager "$ver"
build kube-scheduler kubernetes k8s.io/kubernetes/cmd/kube-scheduler "$ver"
build kubectl kubernetes k8s.io/kubernetes/cmd/kubectl "$ver"
build metrics-server metrics-server sigs.k8s.io/metrics-server/cmd/metrics-server "$ms_ver"
# Prometheus, for tests that scrape the sandbox (kwok's resource metrics), the service and a test app.
build prometheus prometheus github.com/prometheus/prometheus/cmd/prometheus
# kube-state-metrics, which those tests' Prometheus scrapes for restart counts, as in a cluster.
build kube-state-metrics kube-state-metrics k8s.io/kube-state-metrics/v2
# metrics-server's own manifests (RBAC, Service, APIService; kwokctl drops the Deployment and
# points the Service at the binary), read by kwokctl as a kustomize folder.
if [ ! -f "$bin/metrics-server-manifests/kustomization.yaml" ]; then
  src=$(cd "$mods/metrics-server" && GOFLAGS=-mod=mod go list -m -f '{{.Dir}}' sigs.k8s.io/metrics-server)
  rm -rf "$bin/metrics-server-manifests.tmp"
  cp -r "$src/manifests/base" "$bin/metrics-server-manifests.tmp"
  chmod -R u+w "$bin/metrics-server-manifests.tmp"
  mv "$bin/metrics-server-manifests.tmp" "$bin/metrics-server-manifests"
fi
log "all binaries ready in $bin"
echo "$bin"
