#!/usr/bin/env bash
# Regenerates the Connect/protobuf code in gen/ from proto/ (make generate).
# Installs what it needs into the repository's ignored .cache: buf from npm
# (@bufbuild/buf ships the binary), and protoc-gen-go and
# protoc-gen-connect-go at the versions go.mod names.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
tools="$root/.cache/tools"
mkdir -p "$tools/bin"
export PATH="$tools/bin:$tools/node_modules/.bin:$PATH"
buf_version=1.75.0
if [[ "$(buf --version 2>/dev/null)" != "$buf_version" ]]; then
  (cd "$tools" && npm install --silent --no-save "@bufbuild/buf@$buf_version")
fi
mod() { (cd "$root" && go list -m -f '{{.Version}}' "$1"); }
GOBIN="$tools/bin" go install "google.golang.org/protobuf/cmd/protoc-gen-go@$(mod google.golang.org/protobuf)"
GOBIN="$tools/bin" go install "connectrpc.com/connect/cmd/protoc-gen-connect-go@$(mod connectrpc.com/connect)"
cd "$root"
buf lint
buf generate
echo "generate: gen/ is up to date with proto/"
