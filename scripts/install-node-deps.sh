#!/usr/bin/env bash
# Install the npm packages the tests run (Azurite, the Azure Blob Storage emulator) into
# .cache/node, if missing. Pinned: 3.35.0 is the last Azurite that runs on Debian's node 20.
set -euo pipefail
cd "$(dirname "$0")/.."

azurite_version=3.35.0
prefix=.cache/node

installed=$(node -p "require('./$prefix/node_modules/azurite/package.json').version" 2>/dev/null || true)
[ "$installed" = "$azurite_version" ] && exit 0

if ! command -v npm >/dev/null 2>&1; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm
fi
echo "installing azurite@$azurite_version into $prefix"
npm install --prefix "$prefix" --no-audit --no-fund --loglevel=error "azurite@$azurite_version"
