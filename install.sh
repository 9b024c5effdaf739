#!/bin/sh
# Installs bgw: curl -fsSL https://github.com/bgw-dev/bgw/releases/latest/download/install.sh | sh
#
# Downloads the build for this OS and CPU from the release location, checks its sha256 against
# the release's SHA256SUMS, and puts `bgw` in ~/.local/bin. Never needs root.
#   BGW_INSTALL_URL   the release location (a mirror, a local copy) [default below]
#   BGW_INSTALL_DIR   where the binary goes [default: ~/.local/bin]
#   --no-completions  do not install the bash, zsh and fish completions (`sh -s -- --no-completions`)
# Everything runs from main() at the end, so a download cut short runs nothing.
set -eu

BGW_DEFAULT_URL="https://github.com/bgw-dev/bgw/releases/latest/download"

say() {
    printf 'bgw-install: %s\n' "$*"
}

fail() {
    printf 'bgw-install: error: %s\n' "$*" >&2
    exit 1
}

# The release target for this machine; Linux builds are static (musl), so any distribution works.
detect_target() {
    os=$(uname -s)
    arch=$(uname -m)
    case $arch in
        x86_64 | amd64) arch=x86_64 ;;
        aarch64 | arm64) arch=aarch64 ;;
        *) fail "bgw has no build for the $arch CPU; build it from source: cargo install --git https://github.com/bgw-dev/bgw" ;;
    esac
    case $os in
        Linux) echo "$arch-unknown-linux-musl" ;;
        Darwin) echo "$arch-apple-darwin" ;;
        *) fail "bgw has no build for $os; build it from source: cargo install --git https://github.com/bgw-dev/bgw" ;;
    esac
}

# download URL FILE, with curl or else wget.
download() {
    if command -v curl >/dev/null 2>&1; then
        curl -fsSL --retry 2 -o "$2" "$1" || fail "could not download $1"
    elif command -v wget >/dev/null 2>&1; then
        wget -q -O "$2" "$1" || fail "could not download $1"
    else
        fail "neither curl nor wget is installed; install one of them and run this again"
    fi
}

sha256_of() {
    if command -v sha256sum >/dev/null 2>&1; then
        sha256sum "$1" | cut -d ' ' -f 1
    elif command -v shasum >/dev/null 2>&1; then
        shasum -a 256 "$1" | cut -d ' ' -f 1
    elif command -v openssl >/dev/null 2>&1; then
        openssl dgst -sha256 "$1" | sed 's/^.*= *//'
    else
        fail "no sha256 tool (sha256sum, shasum or openssl) to check the download with"
    fi
}

# A JSON string's content: backslashes and quotes escaped.
json_escape() {
    printf '%s' "$1" | sed -e 's/\\/\\\\/g' -e 's/"/\\"/g'
}

# The installed bgw writes its completion scripts where each shell looks for a user's own:
# bash-completion's user dir, a zsh function dir (which zsh searches once it is on fpath), and
# fish's completions dir (fish reads ~/.local/share only through XDG_DATA_DIRS, so not by default).
# The man pages go where man-db looks for a user's own bin dir's pages: ~/.local/share/man
# beside ~/.local/bin (`man bgw-logs` works once that bin dir is on PATH).
install_man() {
    [ -d "$1" ] || return 0
    mandir=${XDG_DATA_HOME:-$HOME/.local/share}/man/man1
    if mkdir -p "$mandir" 2>/dev/null && cp "$1"/*.1 "$mandir"/ 2>/dev/null; then
        say "man pages: $mandir (man bgw, man bgw-logs, ...)"
    else
        say "could not write the man pages to $mandir; bgw works without them"
    fi
}

install_completions() {
    data=${XDG_DATA_HOME:-$HOME/.local/share}
    bash_file=${BASH_COMPLETION_USER_DIR:-$data/bash-completion}/completions/bgw
    zsh_file=$data/zsh/site-functions/_bgw
    fish_file=${XDG_CONFIG_HOME:-$HOME/.config}/fish/completions/bgw.fish
    for pair in "bash=$bash_file" "zsh=$zsh_file" "fish=$fish_file"; do
        shell=${pair%%=*}
        file=${pair#*=}
        # A failure here leaves bgw installed: say so and go on.
        if mkdir -p "${file%/*}" 2>/dev/null && "$1" completions "$shell" >"$file.new" 2>/dev/null; then
            mv -f "$file.new" "$file"
            say "$shell completions: $file"
        else
            rm -f "$file.new" 2>/dev/null || true
            say "could not write the $shell completions to $file (\`bgw completions $shell\` prints them)"
        fi
    done
    case ":${FPATH:-}:" in
        *":$data/zsh/site-functions:"*) ;;
        *) case ${SHELL:-} in
            */zsh) say "  for zsh, add to ~/.zshrc before compinit: fpath=($data/zsh/site-functions \$fpath)" ;;
        esac ;;
    esac
}

main() {
    completions=yes
    for arg in "$@"; do
        case $arg in
            --no-completions) completions=no ;;
            *) fail "unknown option $arg (the one option is --no-completions)" ;;
        esac
    done
    url=${BGW_INSTALL_URL:-$BGW_DEFAULT_URL}
    url=${url%/}
    dir=${BGW_INSTALL_DIR:-${HOME:?HOME is not set}/.local/bin}
    target=$(detect_target)

    tmp=$(mktemp -d 2>/dev/null || mktemp -d -t bgw-install)
    trap 'rm -rf "$tmp"' EXIT INT TERM

    download "$url/SHA256SUMS" "$tmp/SHA256SUMS"
    line=$(grep -E "[[:space:]]\*?bgw-[^[:space:]]+-$target\.tar\.gz\$" "$tmp/SHA256SUMS" | head -n 1 || true)
    [ -n "$line" ] || fail "the release at $url has no build for $target"
    expected=$(printf '%s\n' "$line" | cut -d ' ' -f 1)
    archive=$(printf '%s\n' "$line" | sed 's/^[^[:space:]]*[[:space:]]*\*\{0,1\}//')
    version=${archive#bgw-}
    version=${version%-"$target".tar.gz}

    say "downloading bgw $version for $target"
    download "$url/$archive" "$tmp/$archive"
    actual=$(sha256_of "$tmp/$archive")
    if [ "$actual" != "$expected" ]; then
        fail "$archive does not match its sha256 in SHA256SUMS (expected $expected, got $actual); nothing was installed"
    fi
    mkdir "$tmp/unpacked"
    tar -xzf "$tmp/$archive" -C "$tmp/unpacked" || fail "could not unpack $archive"
    [ -f "$tmp/unpacked/bgw" ] || fail "$archive holds no bgw binary"

    mkdir -p "$dir" 2>/dev/null || fail "cannot create $dir; choose another place with BGW_INSTALL_DIR"
    [ -w "$dir" ] || fail "cannot write to $dir; choose another place with BGW_INSTALL_DIR"
    # Copy beside the target, then rename: a running bgw keeps its old file, never a half-written one.
    cp "$tmp/unpacked/bgw" "$dir/.bgw.new"
    chmod 755 "$dir/.bgw.new"
    mv -f "$dir/.bgw.new" "$dir/bgw"
    bin=$(cd "$dir" && pwd -P)/bgw

    # The receipt tells `bgw self-update` that this copy is the installer's to replace, and from where.
    config=${XDG_CONFIG_HOME:-$HOME/.config}/bgw
    mkdir -p "$config"
    printf '{\n  "binary": "%s",\n  "url": "%s",\n  "version": "%s"\n}\n' \
        "$(json_escape "$bin")" "$(json_escape "$url")" "$(json_escape "$version")" >"$config/install.json"

    say "installed bgw $version to $bin"
    install_man "$tmp/unpacked/man"
    if [ "$completions" = yes ]; then
        install_completions "$bin"
    fi
    case ":${PATH:-}:" in
        *":$dir:"* | *":$dir/:"*) ;;
        *)
            say "$dir is not on your PATH; add it with:"
            case ${SHELL:-} in
                */zsh) say "  echo 'export PATH=\"$dir:\$PATH\"' >> ~/.zshrc && exec zsh" ;;
                */fish) say "  fish_add_path $dir" ;;
                *) say "  echo 'export PATH=\"$dir:\$PATH\"' >> ~/.bashrc && . ~/.bashrc" ;;
            esac
            ;;
    esac
    say "next: bgw keys add openai --env OPENAI_API_KEY, then bgw run --model openai/gpt-5"
}

main "$@"
