#!/usr/bin/env bash
# Build the sandbox images that configs/profiles.toml names, when they are missing.
#   bash workers/images/build.sh             # offline, from the machine's Debian mirror
#   bash workers/images/build.sh --registry  # docker build with the Dockerfiles here
#   bash workers/images/build.sh --force     # rebuild even if the tag exists
# The offline build needs no registry: debootstrap a minimal Debian root, add the
# non-root user `sandbox` (uid 1000) and a world-writable /sandbox, then `docker import`.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
mode=offline force=
for arg in "$@"; do
  case $arg in
    --registry) mode=registry ;;
    --offline) mode=offline ;;
    --force) force=1 ;;
    *) echo "usage: $0 [--offline|--registry] [--force]" >&2; exit 2 ;;
  esac
done

# tag  dockerfile  debian packages
images=(
  "graderq/python:3.11 python.Dockerfile python3-minimal"
  "graderq/gcc:12 gcc.Dockerfile gcc,g++,libc6-dev"
)

mirror() {
  local src
  for src in /etc/apt/sources.list.d/debian.sources /etc/apt/sources.list; do
    [ -f "$src" ] || continue
    awk '/^URIs:/ {print $2; exit} /^deb / {print $2; exit}' "$src" && return
  done
  echo http://deb.debian.org/debian
}

build_offline() {
  local tag=$1 packages=$2 root
  command -v debootstrap >/dev/null || { echo "debootstrap is missing: apt-get install debootstrap" >&2; exit 1; }
  root=$(mktemp -d /tmp/graderq-rootfs.XXXXXX)
  trap 'rm -rf "$root"' RETURN
  debootstrap --variant=minbase --include="$packages" bookworm "$root" "$(mirror)" \
    >"$root.log" 2>&1 || { tail -20 "$root.log" >&2; exit 1; }
  rm -f "$root.log"
  echo 'sandbox:x:1000:' >>"$root/etc/group"
  echo 'sandbox:x:1000:1000:sandbox:/sandbox:/bin/sh' >>"$root/etc/passwd"
  echo 'sandbox:*:19000:0:99999:7:::' >>"$root/etc/shadow"
  mkdir -m 0777 "$root/sandbox"
  rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
  tar -C "$root" -c . | docker import \
    --change 'WORKDIR /sandbox' --change 'ENV PATH=/usr/local/bin:/usr/bin:/bin' \
    --change 'CMD ["/bin/sh"]' - "$tag" >/dev/null
}

for entry in "${images[@]}"; do
  read -r tag dockerfile packages <<<"$entry"
  if [ -z "$force" ] && docker image inspect "$tag" >/dev/null 2>&1; then
    continue
  fi
  echo "[images] building $tag ($mode)"
  if [ "$mode" = registry ]; then
    docker build -q -t "$tag" -f "$here/$dockerfile" "$here" >/dev/null
  else
    build_offline "$tag" "$packages"
  fi
done
