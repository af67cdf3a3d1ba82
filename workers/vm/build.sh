#!/usr/bin/env bash
# Build the cgroup-v2 test VM (Debian 12, systemd, docker.io, the sandbox images, the
# project's Python dependencies) from the Debian mirror and PyPI, once. Cached outside
# the checkout; rebuilt when this script, the guest's boot stub, the project's dependencies or the sandbox image
# recipes change (the images' IDs).
#   bash workers/vm/build.sh           # build if missing or stale
#   bash workers/vm/build.sh --force   # rebuild
# (guest/graderq-vm-run is not in the image: run.sh sends it with each run.)
# Output in $GRADERQ_VM_CACHE (default /var/cache/graderq-vm): disk.img (raw ext4),
# vmlinuz, initrd.img, key. Needs root, debootstrap, e2fsprogs (mkfs.ext4 -d), qemu, and
# the host's Docker engine holding the sandbox images (bash workers/images/build.sh).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
checkout=$(cd "$here/../.." && pwd)
cache=${GRADERQ_VM_CACHE:-/var/cache/graderq-vm}
python=${GRADERQ_VM_HOST_PYTHON:-$checkout/.venv/bin/python}
[ -x "$python" ] || python=python3
images=(graderq/python:3.11 graderq/gcc:12)
say() { printf '[vm-build] %s\n' "$*" >&2; }

requirements() {  # the project's dependencies, from pyproject.toml
  "$python" - "$checkout/pyproject.toml" <<'PY'
import sys, tomllib
project = tomllib.load(open(sys.argv[1], "rb"))["project"]
extras = project.get("optional-dependencies", {})
for req in project["dependencies"] + extras.get("worker", []) + extras.get("dev", []):
    if not req.startswith("graderq"):
        print(req)
# pip runs on the host's Python: a dependency of redis for Python < 3.11.3 (the guest has
# Debian 12's 3.11.2) would be left out.
print("async-timeout")
PY
}
key() {
  cat "$here"/build.sh "$here"/guest/graderq-vm-boot "$here"/guest/graderq-vm.service
  requirements
  docker image inspect --format '{{.Id}}' "${images[@]}" 2>/dev/null
}
wanted=$(key | sha256sum | cut -c1-16)
if [ "${1:-}" != --force ] && [ -f "$cache/key" ] && [ "$(cat "$cache/key")" = "$wanted" ] \
  && [ -f "$cache/disk.img" ]; then
  exit 0
fi
started=$SECONDS

packages=()
command -v qemu-system-x86_64 >/dev/null || packages+=(qemu-system-x86)
command -v debootstrap >/dev/null || packages+=(debootstrap)
command -v mkfs.ext4 >/dev/null || packages+=(e2fsprogs)
if [ ${#packages[@]} -gt 0 ]; then
  say "installing ${packages[*]}"
  apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${packages[@]}" >/dev/null
fi
bash "$checkout/workers/images/build.sh"
wanted=$(key | sha256sum | cut -c1-16)  # the images may be new

. "$checkout/workers/images/mirror.sh"

mkdir -p "$cache"
work=$(mktemp -d "$cache/build.XXXXXX")
root=$work/root
daemon_pid=
cleanup() {
  if [ -n "$daemon_pid" ]; then kill "$daemon_pid" 2>/dev/null || true; wait "$daemon_pid" 2>/dev/null || true; fi
  umount "$root/proc" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

say "debootstrap bookworm (a few minutes)"
include=systemd-sysv,udev,dbus,kmod,linux-image-amd64,docker.io,python3,python3-venv,e2fsprogs,mount,util-linux,procps,iproute2,ca-certificates
debootstrap --variant=minbase --include="$include" bookworm "$root" "$(mirror)" \
  >"$work/debootstrap.log" 2>&1 || { tail -30 "$work/debootstrap.log" >&2; exit 1; }

say "configuring the guest"
echo graderq-vm >"$root/etc/hostname"
echo '/dev/vda / ext4 rw,noatime 0 1' >"$root/etc/fstab"
printf '9p\n9pnet\n9pnet_virtio\nloop\n' >"$root/etc/modules-load.d/graderq.conf"
install -m 0755 "$here/guest/graderq-vm-boot" "$root/usr/local/sbin/graderq-vm-boot"
install -m 0644 "$here/guest/graderq-vm.service" "$root/etc/systemd/system/graderq-vm.service"
ln -sf /etc/systemd/system/graderq-vm.service "$root/etc/systemd/system/multi-user.target.wants/graderq-vm.service"
# The runner starts Docker itself (after choosing its cgroup driver); nothing else is needed.
rm -f "$root/etc/systemd/system/multi-user.target.wants/docker.service" \
  "$root/etc/systemd/system/sockets.target.wants/docker.socket"
for unit in apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer fstrim.timer \
  systemd-timesyncd.service getty@tty1.service serial-getty@ttyS0.service; do
  ln -sf /dev/null "$root/etc/systemd/system/$unit"
done
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*

say "python environment (the project's dependencies, from PyPI)"
chroot "$root" python3 -m venv --without-pip /opt/graderq/venv
site=$(echo "$root"/opt/graderq/venv/lib/python3*/site-packages)
requirements >"$work/requirements.txt"
"$python" -m pip install -q --no-compile --target "$site" -r "$work/requirements.txt" \
  >"$work/pip.log" 2>&1 || { tail -30 "$work/pip.log" >&2; exit 1; }
ln -sf python3 "$root/opt/graderq/venv/bin/python"
cat >"$root/opt/graderq/venv/bin/graderq" <<'PY'
#!/opt/graderq/venv/bin/python
from graderq.cli import main

main()
PY
chmod 0755 "$root/opt/graderq/venv/bin/graderq"

say "sandbox images into the guest's Docker data root"
# A throw-away daemon of the host writes the guest's /var/lib/docker (overlay2, as the
# guest's daemon uses): seconds, where docker load under emulation takes minutes.
sock=$work/docker.sock
unshare --net dockerd --data-root "$root/var/lib/docker" --exec-root "$work/exec" \
  --pidfile "$work/docker.pid" -H "unix://$sock" --bridge none --iptables=false \
  --storage-driver overlay2 >"$work/dockerd.log" 2>&1 </dev/null &
daemon_pid=$!
for _ in $(seq 120); do docker -H "unix://$sock" info >/dev/null 2>&1 && break; sleep 0.5; done
docker save "${images[@]}" | docker -H "unix://$sock" load -q >/dev/null
kill "$daemon_pid"; wait "$daemon_pid" || true; daemon_pid=
rm -rf "$root"/var/lib/docker/{network,containerd,runtimes,tmp,swarm,buildkit}

say "kernel and disk image"
cp "$(ls "$root"/boot/vmlinuz-* | tail -1)" "$work/vmlinuz"
cp "$(ls "$root"/boot/initrd.img-* | tail -1)" "$work/initrd.img"
chmod 0644 "$work/vmlinuz" "$work/initrd.img"
mkfs.ext4 -q -F -L graderq-vm -d "$root" "$work/disk.img" 6G
mv -f "$work/vmlinuz" "$work/initrd.img" "$work/disk.img" "$cache/"
echo "$wanted" >"$cache/key"
say "built in $((SECONDS - started)) s: $cache"
