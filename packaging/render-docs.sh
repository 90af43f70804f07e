#!/usr/bin/env bash
# Renders the settings table into packaging/mailwarden.conf and the README's config reference.
# With --check, fails (and says which) when a committed file differs from the table.
set -euo pipefail
cd "$(dirname "$0")/.."
cli=${MW_BIN:-.build/debug}/mailwarden
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

"$cli" config-reference --format conf > "$tmp/mailwarden.conf"
{
  sed -n '1,/<!-- config-reference:start -->/p' README.md
  "$cli" config-reference --format markdown
  sed -n '/<!-- config-reference:end -->/,$p' README.md
} > "$tmp/README.md"

if [ "${1:-}" = "--check" ]; then
  stale=0
  for f in packaging/mailwarden.conf README.md; do
    if ! cmp -s "$f" "$tmp/$(basename "$f")"; then
      echo "$f is out of date with the settings table: run 'make docs' and commit it" >&2
      stale=1
    fi
  done
  exit $stale
fi
cp "$tmp/mailwarden.conf" packaging/mailwarden.conf
cp "$tmp/README.md" README.md
