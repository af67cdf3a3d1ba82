#!/usr/bin/env bash
# Build the sandbox images that configs/profiles.toml names, when they are missing.
#   bash workers/images/build.sh               # every image, from the machine's Debian mirror
#   bash workers/images/build.sh --registry    # the base from debian:bookworm-slim (a registry)
#   bash workers/images/build.sh --force       # rebuild even if the tag exists
#   bash workers/images/build.sh graderq/java:17 ...   # only these (and what they build on)
#   bash workers/images/build.sh --list        # "tag dockerfile" of every image
#
# One shared base, graderq/base:bookworm: offline, debootstrap a minimal Debian root, add
# the non-root user `sandbox` (uid 1000) and a world-writable /sandbox, `docker import`
# it; with --registry, base.Dockerfile makes the same from debian:bookworm-slim. Every
# language image is its Dockerfile here, `FROM` the base (or another image of this list),
# installing Debian packages with apt-get from the base's mirror: `docker build`'s RUN
# reaches the mirror over Docker's default bridge, and no registry is needed. The base's
# layers are stored once, whatever the number of images on it.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
base=graderq/base:bookworm
mode=offline force= list= wanted=()
for arg in "$@"; do
  case $arg in
    --registry) mode=registry ;;
    --offline) mode=offline ;;
    --force) force=1 ;;
    --list) list=1 ;;
    -*) echo "usage: $0 [--offline|--registry] [--force] [--list] [TAG...]" >&2; exit 2 ;;
    *) wanted+=("$arg") ;;
  esac
done

# tag  dockerfile (the base is built by debootstrap offline, by base.Dockerfile otherwise)
images=(
  "$base base.Dockerfile"
  "graderq/python:3.11 python.Dockerfile"
  "graderq/gcc:12 gcc.Dockerfile"
  "graderq/java:17 java.Dockerfile"
  "graderq/kotlin:1.3 kotlin.Dockerfile"
  "graderq/nodejs:18 nodejs.Dockerfile"
  "graderq/go:1.19 go.Dockerfile"
  "graderq/rust:1.63 rust.Dockerfile"
  "graderq/mono:6.8 mono.Dockerfile"
  "graderq/php:8.2 php.Dockerfile"
  "graderq/ruby:3.1 ruby.Dockerfile"
  "graderq/haskell:9.0 haskell.Dockerfile"
  "graderq/pascal:3.2 pascal.Dockerfile"
  "graderq/bash:5.2 bash.Dockerfile"
  "graderq/sqlite:3.40 sqlite.Dockerfile"
)

if [ -n "$list" ]; then printf '%s\n' "${images[@]}"; exit 0; fi

. "$here/mirror.sh"

dockerfile_of() {  # dockerfile_of TAG: the Dockerfile of a tag of the list, or nothing
  local entry tag file
  for entry in "${images[@]}"; do
    read -r tag file <<<"$entry"
    [ "$tag" = "$1" ] && { echo "$file"; return; }
  done
}

build_base_offline() {
  local root
  command -v debootstrap >/dev/null || { echo "debootstrap is missing: apt-get install debootstrap" >&2; exit 1; }
  root=$(mktemp -d /tmp/graderq-rootfs.XXXXXX)
  debootstrap --variant=minbase bookworm "$root" "$(mirror)" \
    >"$root.log" 2>&1 || { tail -20 "$root.log" >&2; rm -rf "$root"; exit 1; }
  rm -f "$root.log"
  echo 'sandbox:x:1000:' >>"$root/etc/group"
  echo 'sandbox:x:1000:1000:sandbox:/sandbox:/bin/sh' >>"$root/etc/passwd"
  echo 'sandbox:*:19000:0:99999:7:::' >>"$root/etc/shadow"
  mkdir -m 0777 "$root/sandbox"
  rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
  tar -C "$root" -c . | docker import \
    --change 'WORKDIR /sandbox' --change 'ENV PATH=/usr/local/bin:/usr/bin:/bin' \
    --change 'ENV HOME=/sandbox' --change 'CMD ["/bin/sh"]' - "$base" >/dev/null
  rm -rf "$root"
}

declare -A done_=()
build() {  # build TAG: build it (after what it is FROM) unless present
  local tag=$1 file from started
  [ -n "${done_[$tag]:-}" ] && return
  done_[$tag]=1
  file=$(dockerfile_of "$tag")
  [ -n "$file" ] || { echo "[images] unknown image $tag (see $0 --list)" >&2; exit 2; }
  if [ "$tag" != "$base" ] || [ "$mode" = registry ]; then
    from=$(awk 'toupper($1) == "FROM" {print $2; exit}' "$here/$file")
    [ -n "$(dockerfile_of "$from")" ] && build "$from"
  fi
  # --force rebuilds the images asked for, never what they are FROM.
  if { [ -z "$force" ] || [ -z "${named[$tag]:-}" ]; } && docker image inspect "$tag" >/dev/null 2>&1; then
    return
  fi
  echo "[images] building $tag ($mode)"
  started=$SECONDS
  if [ "$tag" = "$base" ] && [ "$mode" = offline ]; then
    build_base_offline
  else
    docker build -q -t "$tag" -f "$here/$file" "$here" >/tmp/graderq-image-build.log 2>&1 \
      || { tail -30 /tmp/graderq-image-build.log >&2; exit 1; }
  fi
  echo "[images] built $tag in $((SECONDS - started)) s"
}

if [ ${#wanted[@]} -eq 0 ]; then
  for entry in "${images[@]}"; do read -r tag _ <<<"$entry"; wanted+=("$tag"); done
fi
declare -A named=()
for tag in "${wanted[@]}"; do named[$tag]=1; done
for tag in "${wanted[@]}"; do build "$tag"; done
