#!/usr/bin/env bash
# Ensures the schema-driven API fuzzer used by the contract fuzz test: Schemathesis (PyPI),
# pinned, in a virtualenv. Idempotent. Prints the path of its `st` command on stdout; progress
# goes to stderr.
set -euo pipefail
version=4.32.5
cache=${K8SM_CACHE:-$HOME/.cache/k8s-manage}
venv="$cache/schemathesis-$version"
if [ ! -x "$venv/bin/st" ]; then
  echo "schemathesis: installing $version into $venv" >&2
  python3 -m venv "$venv" >&2
  "$venv/bin/pip" install -q --disable-pip-version-check "schemathesis==$version" >&2
fi
echo "$venv/bin/st"
