#!/usr/bin/env bash
# Ensures a real Milvus engine for the test suites: milvus-lite (PyPI) in a virtualenv, serving
# gRPC on 127.0.0.1 only. Idempotent: a server already answering on the port is reused.
# Prints host:port on stdout; progress goes to stderr.
set -euo pipefail
port=${K8SM_TEST_MILVUS_PORT:-19532}
cache=${K8SM_CACHE:-$HOME/.cache/k8s-manage}
venv="$cache/milvus-venv"
data="$cache/milvus-data"
log="$cache/milvus-lite.log"

listening() { (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; }

if listening; then
  echo "127.0.0.1:$port"
  exit 0
fi
if [ ! -x "$venv/bin/milvus-lite" ]; then
  echo "milvus: installing milvus-lite 3.2.2 into $venv" >&2
  python3 -m venv "$venv" >&2
  "$venv/bin/pip" install -q --disable-pip-version-check milvus-lite==3.2.2 pymilvus==3.0.2 >&2
fi
mkdir -p "$data"
echo "milvus: starting milvus-lite on 127.0.0.1:$port (log $log)" >&2
nohup "$venv/bin/milvus-lite" server --data-dir "$data" --host 127.0.0.1 --port "$port" >"$log" 2>&1 &
for _ in $(seq 1 100); do
  listening && break
  sleep 0.2
done
if ! listening; then
  echo "milvus: milvus-lite did not start; log:" >&2
  tail -20 "$log" >&2
  exit 1
fi
echo "127.0.0.1:$port"
