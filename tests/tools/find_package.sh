#!/usr/bin/env bash
# find_package.sh BUILD_DIR EXAMPLE_DIR PAIR_SH
# Install BUILD_DIR into a temporary prefix, configure and build the example
# alone against it with find_package(roam) and roam_generate(), and run its
# client against its server. Exit status 0 only if all of that works.
set -eu
build=$1 example=$2 pair=$3
tmp=$(mktemp -d "${TMPDIR:-/tmp}/roam-find-package.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
cmake --install "$build" --prefix "$tmp/prefix" >"$tmp/install.log"
# roam-gen must come from the installation, not from PATH or the build
cmake -S "$example" -B "$tmp/build" -DCMAKE_PREFIX_PATH="$tmp/prefix" >"$tmp/configure.log" ||
  { cat "$tmp/configure.log" >&2; exit 1; }
cmake --build "$tmp/build" -j2 >"$tmp/build.log" 2>&1 || { cat "$tmp/build.log" >&2; exit 1; }
grep -q "$tmp/prefix/bin/roam-gen" "$tmp/build.log" "$tmp/build"/CMakeFiles/*/build.make 2>/dev/null ||
  grep -rq "$tmp/prefix/bin/roam-gen" "$tmp/build" ||
  { echo "find_package.sh: the example did not use the installed roam-gen" >&2; exit 1; }
LD_LIBRARY_PATH="$tmp/prefix/lib:$tmp/prefix/lib64:${LD_LIBRARY_PATH:-}" \
  bash "$pair" "$tmp/build/kv-server" 127.0.0.1:0 client "$tmp/build/kv-client"
