#!/usr/bin/env bash
# Builds the Docker images the tests use, without any image registry:
#
#   1. a Debian base image, made with debootstrap (minbase variant) from the machine's own
#      Debian release and its configured apt sources, imported with `docker import`;
#   2. the tests' PostgreSQL image (scripts/docker/test-postgres/Dockerfile) from that base,
#      with Debian's postgresql package;
#   3. with the argument `rust-build`: a Rust build image (scripts/docker/rust-build/Dockerfile)
#      from that base, with gcc and this machine's own Rust toolchain (`rustc --print sysroot`),
#      which the generated project's Dockerfile builds with in the tests (BUILD_IMAGE).
#
#   DOCKER_HOST=$(scripts/docker-engine.sh) scripts/docker-images.sh [rust-build]
#
# An image that exists already is kept (the PostgreSQL image is rebuilt when its Dockerfile or
# base changed: it carries their digest as a label); QS_DOCKER_REBUILD=1 rebuilds both. Each
# step prints how long it took. The engine's data root is the cache (see scripts/docker-engine.sh).
# Needs root (debootstrap) and Debian's docker client.
#
# Tags: the base QS_DEBIAN_IMAGE (default quickscale/debian:<codename>-minbase), PostgreSQL
# QS_POSTGRES_IMAGE (default quickscale/test-postgres:local, the tag the test harness starts),
# Rust QS_RUST_BUILD_IMAGE (default quickscale/rust-build:local).
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian's client: a newer one earlier on the PATH may need plugins (buildx) that are missing.
docker=/usr/bin/docker
if [ -z "${DOCKER_HOST:-}" ]; then
  DOCKER_HOST=$(scripts/docker-engine.sh)
  export DOCKER_HOST
fi

. /etc/os-release
codename=${VERSION_CODENAME:?the machine is not a Debian release with a codename}
base=${QS_DEBIAN_IMAGE:-quickscale/debian:$codename-minbase}
postgres=${QS_POSTGRES_IMAGE:-quickscale/test-postgres:local}
rust_build=${QS_RUST_BUILD_IMAGE:-quickscale/rust-build:local}
context=scripts/docker/test-postgres
want_rust=0
for arg in "$@"; do
  case "$arg" in
    rust-build) want_rust=1 ;;
    *) echo "usage: $0 [rust-build]" >&2; exit 2 ;;
  esac
done
rebuild=${QS_DOCKER_REBUILD:-0}

say() { echo "docker-images: $*" >&2; }

exists() { "$docker" image inspect "$1" >/dev/null 2>&1; }

timed() { # WHAT COMMAND...
  local what=$1 started=$SECONDS
  shift
  "$@"
  say "$what took $((SECONDS - started)) s"
}

# The machine's apt sources for its release: "URI SUITE COMPONENT" for the release itself and
# its -updates and -security suites, read from apt's configuration (either source format).
apt_sources() {
  apt-get indextargets --format '$(REPO_URI) $(RELEASE) $(COMPONENT)' 'Identifier: Packages' |
    awk -v c="$codename" '$2 == c || $2 == c "-updates" || $2 == c "-security"' | sort -u
}

build_base() {
  local sources mirror rootfs
  sources=$(apt_sources)
  mirror=$(awk -v c="$codename" '$2 == c { print $1; exit }' <<<"$sources")
  if [ -z "$mirror" ]; then
    say "no apt source for $codename is configured on this machine"
    exit 1
  fi
  command -v debootstrap >/dev/null || PATH=$PATH:/usr/sbin
  rootfs=$(mktemp -d "${TMPDIR:-/tmp}/qs-rootfs.XXXXXX")
  # shellcheck disable=SC2064
  trap "rm -rf '$rootfs'" EXIT
  timed "debootstrap --variant=minbase $codename" \
    debootstrap --variant=minbase "$codename" "$rootfs" "$mirror" >/dev/null
  # The image's apt reads what the machine's does (release, updates, security), and keeps the
  # machine's setting on expired Release files (some mirrors serve dated snapshots).
  awk '{ print "deb " $1 " " $2 " " $3 }' <<<"$sources" >"$rootfs/etc/apt/sources.list"
  local valid_until
  valid_until=$(apt-config dump Acquire::Check-Valid-Until | sed -n 's/^Acquire::Check-Valid-Until "\(.*\)";/\1/p')
  if [ -n "$valid_until" ]; then
    echo "Acquire::Check-Valid-Until \"$valid_until\";" >"$rootfs/etc/apt/apt.conf.d/99check-valid-until"
  fi
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
  timed "docker import of $base" import_rootfs "$rootfs"
  rm -rf "$rootfs"
  trap - EXIT
}

import_rootfs() { # DIR
  tar -C "$1" -c . | "$docker" import --change 'CMD ["bash"]' - "$base" >/dev/null
}

# What the PostgreSQL image is made from: its build context and its base image's id.
recipe() {
  { tar -C "$context" -c --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner . ;
    "$docker" image inspect --format '{{.Id}}' "$base"; } | sha256sum | cut -d' ' -f1
}

build_postgres() {
  # The build's containers use the host's network: the private engine has no bridge.
  timed "docker build of $postgres" \
    "$docker" build --quiet --network host --build-arg "BASE=$base" \
      --label "org.quickscale.recipe=$1" --tag "$postgres" "$context" >/dev/null
}

# The Rust image's recipe: its Dockerfile, the base image and the toolchain's exact version.
rust_recipe() {
  { cat scripts/docker/rust-build/Dockerfile /etc/ssl/certs/ca-certificates.crt; rustc -vV; cargo -V;
    "$docker" image inspect --format '{{.Id}}' "$base"; } | sha256sum | cut -d' ' -f1
}

build_rust() {
  local sysroot context_dir
  sysroot=$(rustc --print sysroot)
  context_dir=$(mktemp -d "${TMPDIR:-/tmp}/qs-rust-build.XXXXXX")
  # shellcheck disable=SC2064
  trap "rm -rf '$context_dir'" EXIT
  cp scripts/docker/rust-build/Dockerfile "$context_dir/"
  # The machine's certificate authorities, which reach the crates' registry from here.
  cp -L /etc/ssl/certs/ca-certificates.crt "$context_dir/"
  # The compiler, Cargo and the standard library; not the documentation (share/).
  mkdir -p "$context_dir/toolchain/bin"
  cp -a "$sysroot/bin/rustc" "$sysroot/bin/cargo" "$context_dir/toolchain/bin/"
  cp -a "$sysroot/lib" "$context_dir/toolchain/"
  [ -d "$sysroot/libexec" ] && cp -a "$sysroot/libexec" "$context_dir/toolchain/"
  timed "docker build of $rust_build" \
    "$docker" build --quiet --network host --build-arg "BASE=$base" \
      --label "org.quickscale.recipe=$1" --tag "$rust_build" "$context_dir" >/dev/null
  rm -rf "$context_dir"
  trap - EXIT
}

total=$SECONDS
if [ "$rebuild" = 1 ] || ! exists "$base"; then
  build_base
else
  say "$base exists (kept)"
fi
want=$(recipe)
have=$("$docker" image inspect --format '{{ index .Config.Labels "org.quickscale.recipe" }}' \
  "$postgres" 2>/dev/null || true)
if [ "$rebuild" = 1 ] || [ "$have" != "$want" ]; then
  build_postgres "$want"
else
  say "$postgres exists and is up to date (kept)"
fi
if [ "$want_rust" = 1 ]; then
  want=$(rust_recipe)
  have=$("$docker" image inspect --format '{{ index .Config.Labels "org.quickscale.recipe" }}' \
    "$rust_build" 2>/dev/null || true)
  if [ "$rebuild" = 1 ] || [ "$have" != "$want" ]; then
    build_rust "$want"
  else
    say "$rust_build exists and is up to date (kept)"
  fi
fi
"$docker" image ls --format '{{.Repository}}:{{.Tag}} {{.Size}}' |
  grep -E "^($base|$postgres|$rust_build) " | sed 's/^/  /' >&2 || true
say "images ready in $((SECONDS - total)) s"
