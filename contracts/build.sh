#!/usr/bin/env bash
# Rebuilds the committed artifacts in build/ from src/ with solc's default
# settings (no optimizer, default EVM version), using solc-js from npm:
#   bash contracts/build.sh
set -euo pipefail
cd "$(dirname "$0")"
SOLC_VERSION=0.8.28
for src in src/*.sol; do
  npx --yes -p "solc@${SOLC_VERSION}" solcjs --bin --abi --base-path src -o build "$src"
done
# solc-js names outputs <file>_sol_<Contract>; keep plain names.
for f in build/*_sol_*; do
  mv "$f" "build/${f##*_sol_}"
done
