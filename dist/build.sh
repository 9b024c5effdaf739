#!/bin/sh
# Release builds: dist/build.sh [TARGET...]
#
# Builds bgw for each target (default: x86_64 and aarch64 Linux, musl, fully static), and
# writes the release location to dist/out/ (or $BGW_DIST_OUT):
#   bgw-VERSION-TARGET.tar.gz   the stripped binary
#   SHA256SUMS                  one line per archive, as `sha256sum` prints it
#   manifest.json               the list `bgw self-update` reads (self_update's manifest format)
#   install.sh                  the installer, served from the same place
# Upload the directory's files to the release location as they are.
#
# Reproducible: the same source and toolchain give the same bytes (no paths of this machine
# in the binary, archive timestamps from the last commit); check with `sha256sum` twice.
#
# Targets and what they need on a Debian/Ubuntu host (the script adds rustup targets itself):
#   x86_64-unknown-linux-musl    gcc (on an x86_64 host it compiles ring's C and assembly)
#   aarch64-unknown-linux-musl   apt-get install gcc-aarch64-linux-gnu (and qemu-user to run it)
#   x86_64-apple-darwin, aarch64-apple-darwin
#                                only on a Mac (Apple's SDK cannot be fetched here):
#                                xcode-select --install, then dist/build.sh aarch64-apple-darwin
#                                x86_64-apple-darwin; the binaries are linked only to macOS's
#                                own libSystem, which every Mac has.
set -eu
cd "$(dirname "$0")/.."
root=$(pwd)
version=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n 1)
out=${BGW_DIST_OUT:-dist/out}
targets=${*:-x86_64-unknown-linux-musl aarch64-unknown-linux-musl}

SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || echo 0)}
export SOURCE_DATE_EPOCH
cargo_home=${CARGO_HOME:-$HOME/.cargo}
# No build-machine paths in the binary (panic locations, debug strings), so builds compare equal.
export RUSTFLAGS="--remap-path-prefix=$root=/bgw --remap-path-prefix=$cargo_home=/cargo ${RUSTFLAGS:-}"

built=

for target in $targets; do
    rustup target add "$target" >/dev/null 2>&1 || true
    case $target in
        x86_64-unknown-linux-musl)
            # ring's C and assembly need only freestanding headers: the host's gcc will do when
            # Debian's musl-tools (musl-gcc) is not installed.
            if [ "$(uname -m)" = x86_64 ] && ! command -v x86_64-linux-musl-gcc >/dev/null; then
                export CC_x86_64_unknown_linux_musl="${CC_x86_64_unknown_linux_musl:-gcc}"
            fi
            ;;
        aarch64-unknown-linux-musl)
            if ! command -v aarch64-linux-gnu-gcc >/dev/null; then
                echo "dist: $target needs aarch64-linux-gnu-gcc: apt-get install gcc-aarch64-linux-gnu" >&2
                exit 1
            fi
            # ring's C and assembly, and the final link against Rust's own static musl.
            export CC_aarch64_unknown_linux_musl=aarch64-linux-gnu-gcc
            export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_MUSL_LINKER=aarch64-linux-gnu-gcc
            ;;
        *-apple-darwin)
            if [ "$(uname -s)" != Darwin ]; then
                echo "dist: $target builds only on macOS (Apple's SDK); skipped" >&2
                continue
            fi
            ;;
    esac
    cargo build --release --locked --target "$target" --target-dir target/dist
    bin=target/dist/$target/release/bgw
    case $target in
        *-linux-musl)
            # A static binary: ldd must not find an interpreter or a library to load.
            if command -v ldd >/dev/null && ldd "$bin" 2>&1 | grep -q '=>'; then
                echo "dist: $bin links shared libraries:" >&2
                ldd "$bin" >&2
                exit 1
            fi
            ;;
    esac
    size=$(wc -c <"$bin")
    if [ "$size" -gt 15000000 ]; then
        echo "dist: $bin is $size bytes, over the 15 MB budget" >&2
        exit 1
    fi
    built="$built $target=$bin"
done

[ -n "$built" ] || { echo "dist: nothing was built" >&2; exit 1; }
# shellcheck disable=SC2086 # one word per target=binary pair
dist/release.sh "$out" "$version" $built
