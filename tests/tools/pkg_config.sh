#!/usr/bin/env bash
# pkg_config.sh BUILD_DIR EXAMPLE_DIR PAIR_SH
# The pkg-config way of docs/roam-gen.md: install BUILD_DIR into a temporary
# prefix, run the installed roam-gen by hand on the example's definition,
# compile the example's server and client with `pkg-config --cflags --libs
# roam` (nothing from the build tree), and run the client against the
# server. Exit status 0 only if all of that works.
set -eu
build=$1 example=$2 pair=$3
tmp=$(mktemp -d "${TMPDIR:-/tmp}/roam-pkg-config.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/prefix
cmake --install "$build" --prefix "$prefix" >"$tmp/install.log"
pcdir=$(dirname "$(find "$prefix" -name roam.pc -path '*/pkgconfig/*' | head -n1)")
[[ -d "$pcdir" ]] || { echo "pkg_config.sh: no roam.pc installed" >&2; exit 1; }
export PKG_CONFIG_PATH=$pcdir
# the flags must point into the installation, not at the configured prefix
flags=$(pkg-config --cflags --libs roam)
[[ "$flags" == *"-L$prefix/"* || "$flags" == *"-L$pcdir/"* ]] ||
  { echo "pkg_config.sh: pkg-config flags do not point into $prefix: $flags" >&2; exit 1; }
mkdir "$tmp/gen"
"$prefix/bin/roam-gen" -o "$tmp/gen" "$example/kv.rs"
[[ -f "$tmp/gen/kv.h" && -f "$tmp/gen/kv.c" ]] ||
  { echo "pkg_config.sh: roam-gen wrote no kv.h / kv.c" >&2; exit 1; }
cc=${CC:-cc}
for prog in server client; do
  # shellcheck disable=SC2086 # the flags are words
  "$cc" -std=c11 -Wall -Wextra -Werror -I"$tmp/gen" "$example/$prog.c" "$tmp/gen/kv.c" \
    $flags -o "$tmp/kv-$prog"
done
LD_LIBRARY_PATH="$prefix/lib:$prefix/lib64:${LD_LIBRARY_PATH:-}" \
  bash "$pair" "$tmp/kv-server" 127.0.0.1:0 client "$tmp/kv-client"
