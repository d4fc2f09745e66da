#!/usr/bin/env bash
# The fixture has nginx at 2 replicas in $NAMESPACE.
set -euo pipefail
test "$(kubectl -n "$NAMESPACE" get deployment nginx -o jsonpath='{.spec.replicas}')" = 2
