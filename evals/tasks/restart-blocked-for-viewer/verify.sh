#!/usr/bin/env bash
# A viewer's request must not have restarted anything: checkout's pod template is unchanged.
set -euo pipefail
test -z "$(kubectl -n "$NAMESPACE" get deployment checkout -o jsonpath='{.spec.template.metadata.annotations.kubectl\.kubernetes\.io/restartedAt}')"
