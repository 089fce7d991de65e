#!/usr/bin/env bash
# Make Debian's Prometheus binaries available without installing the package (no system
# service, no root needed once cached): `apt-get download prometheus` + `dpkg -x` into
# $TGI_CACHE_DIR/prometheus (default .cache/prometheus, git-ignored). Idempotent.
#
#   ensure-promtool.sh              print the path of promtool
#   ensure-promtool.sh prometheus   print the path of the prometheus server binary
#
# Diagnostics go to stderr; stdout carries only the path, so callers can use $(...).
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
REPO=$(cd "$SCRIPT_DIR/../.." && pwd -P)
CACHE=$(realpath -m "${TGI_CACHE_DIR:-$REPO/.cache}")/prometheus
# Debian 12's package (2.42), the version the rule tests were written against.
PKG=prometheus
WANT=${1:-promtool}
case $WANT in
  promtool | prometheus) ;;
  *) echo "usage: ensure-promtool.sh [promtool|prometheus]" >&2; exit 2 ;;
esac

BIN=$CACHE/root/usr/bin/$WANT
if [[ -x $BIN && -f $CACHE/.complete ]]; then
  echo "$BIN"
  exit 0
fi

command -v apt-get >/dev/null || { echo "ensure-promtool: apt-get not found (Debian/Ubuntu needed)" >&2; exit 1; }
mkdir -p "$CACHE"
exec 8>"$CACHE/.fetch.lock"
flock -w 600 8 || { echo "ensure-promtool: could not lock $CACHE" >&2; exit 1; }
if [[ -x $BIN && -f $CACHE/.complete ]]; then echo "$BIN"; exit 0; fi

debs=$CACHE/debs
mkdir -p "$debs"
# As root, apt hands downloads to its sandbox user, who may not write into the cache.
sandbox=()
[[ $EUID -eq 0 ]] && sandbox=(-o APT::Sandbox::User=root)
download() { (cd "$debs" && apt-get download -q "${sandbox[@]}" "$PKG" >&2); }
if ! ls "$debs"/"$PKG"_*.deb >/dev/null 2>&1; then
  echo "ensure-promtool: downloading the Debian package '$PKG' into $debs ..." >&2
  if ! download; then
    # A fresh machine may have no package lists yet; refreshing them needs root.
    if [[ $EUID -eq 0 ]]; then
      apt-get update -q >&2 && download
    else
      echo "ensure-promtool: apt-get download failed; as root run: apt-get update" >&2
      exit 1
    fi
  fi
fi
deb=$(ls -1 "$debs"/"$PKG"_*.deb | sort -V | tail -n 1)
tmp=$CACHE/root.tmp.$$
rm -rf "$tmp"
dpkg -x "$deb" "$tmp"
rm -rf "$CACHE/root"
mv "$tmp" "$CACHE/root"
basename "$deb" >"$CACHE/.complete"
[[ -x $BIN ]] || { echo "ensure-promtool: $deb has no usr/bin/$WANT" >&2; exit 1; }
echo "ensure-promtool: $("$CACHE/root/usr/bin/promtool" --version 2>&1 | head -n 1)" >&2
echo "$BIN"
