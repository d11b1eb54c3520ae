#!/usr/bin/env bash
# Installs both peers of `vellum-bench --peers` (MediaWiki and DokuWiki on
# nginx + php-fpm, from Debian's packages) and leaves them stopped; the
# harness starts, resets and stops each itself. Run as root. Idempotent.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
for peer in mediawiki dokuwiki; do
  "$here/$peer.sh" install
  "$here/$peer.sh" stop
done
echo "installed: run 'vellum-bench --peers' (see bench/peers/README.md)" >&2
