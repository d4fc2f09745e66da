#!/usr/bin/env bash
# Passes when the approved change reached the cluster: nginx wants 3 replicas.
set -euo pipefail
test "$(kubectl -n "$NAMESPACE" get deployment nginx -o jsonpath='{.spec.replicas}')" = 3
