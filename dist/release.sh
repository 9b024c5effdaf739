#!/bin/sh
# Packs built binaries into a release location: dist/release.sh OUT VERSION TARGET=BINARY...
#
# Writes to OUT, for each TARGET=BINARY pair, bgw-VERSION-TARGET.tar.gz (the binary as `bgw`,
# mode 755, and the man pages as `man/*.1`; owner 0, timestamps from SOURCE_DATE_EPOCH, so the
# same binary packs to the same bytes); then over every bgw-VERSION-*.tar.gz in OUT (builds gathered from several machines):
# SHA256SUMS, manifest.json (the release list `bgw self-update` reads), and a copy of install.sh.
# dist/build.sh calls it after building; it is separate so a Mac's builds can be added to a
# Linux-built release, and so the tests pack releases exactly as a real one is packed.
set -eu
[ $# -ge 3 ] || {
    echo "usage: dist/release.sh OUT VERSION TARGET=BINARY..." >&2
    exit 2
}
root=$(cd "$(dirname "$0")/.." && pwd)
out=$1
version=$2
shift 2
epoch=${SOURCE_DATE_EPOCH:-0}

mkdir -p "$out"
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT

for pair in "$@"; do
    target=${pair%%=*}
    bin=${pair#*=}
    [ -f "$bin" ] || {
        echo "dist: no binary at $bin for $target" >&2
        exit 1
    }
    mkdir -p "$stage/$target"
    cp "$bin" "$stage/$target/bgw"
    chmod 755 "$stage/$target/bgw"
    mkdir -p "$stage/$target/man"
    cp "$root"/man/*.1 "$stage/$target/man/"
    chmod 644 "$stage/$target"/man/*.1
    touch -d "@$epoch" "$stage/$target/bgw" "$stage/$target/man" "$stage/$target"/man/*.1 2>/dev/null || true
    archive="bgw-$version-$target.tar.gz"
    if tar --version 2>/dev/null | grep -q GNU; then
        tar --sort=name --mtime="@$epoch" --owner=0 --group=0 --numeric-owner \
            -C "$stage/$target" -cf - bgw man | gzip -n -9 >"$out/$archive"
    else
        tar -C "$stage/$target" -cf - bgw man | gzip -n -9 >"$out/$archive"
    fi
    echo "dist: $out/$archive"
done

cd "$out"
set -- bgw-"$version"-*.tar.gz
if command -v sha256sum >/dev/null; then
    sha256sum "$@" >SHA256SUMS
else
    shasum -a 256 "$@" >SHA256SUMS
fi
{
    printf '{\n  "schema": 1,\n  "releases": [\n    {\n      "version": "%s",\n      "assets": [\n' "$version"
    n=$#
    i=0
    while read -r sum name; do
        i=$((i + 1))
        sep=,
        [ "$i" -eq "$n" ] && sep=
        printf '        { "name": "%s", "url": "%s", "digest": "sha256:%s" }%s\n' \
            "$name" "$name" "$sum" "$sep"
    done <SHA256SUMS
    printf '      ]\n    }\n  ]\n}\n'
} >manifest.json
cp "$root/install.sh" install.sh
echo "dist: release $version in $out: $*"
