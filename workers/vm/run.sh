#!/usr/bin/env bash
# Run COMMAND inside a throw-away cgroup-v2 Docker host: a Debian 12 VM under QEMU
# (software emulation), systemd and docker.io, the checkout shared over 9p.
#   bash workers/vm/run.sh python -m pytest tests/integration/test_sandbox_accounting.py
# COMMAND runs from the checkout's root with the project's Python environment first on
# PATH; its output comes back on stdout and its exit code is this script's (125: the VM
# failed before or around COMMAND). The VM image is built first if missing
# (workers/vm/build.sh). The disk is used with -snapshot: each run starts from the
# image as built. The VM has no network device at all.
#   GRADERQ_VM_CGROUP_DRIVER=cgroupfs   Docker's cgroup driver in the VM (default systemd)
#   GRADERQ_VM_TIMEOUT=SECONDS          kill the VM after this long (default 1500)
#   GRADERQ_VM_CACHE=DIR                where the image is (default /var/cache/graderq-vm)
set -euo pipefail
[ $# -gt 0 ] || { echo "usage: $0 COMMAND..." >&2; exit 2; }
here=$(cd "$(dirname "$0")" && pwd)
checkout=$(cd "$here/../.." && pwd)
cache=${GRADERQ_VM_CACHE:-/var/cache/graderq-vm}
driver=${GRADERQ_VM_CGROUP_DRIVER:-systemd}
timeout=${GRADERQ_VM_TIMEOUT:-1500}
case $driver in systemd | cgroupfs) ;; *) echo "GRADERQ_VM_CGROUP_DRIVER: systemd or cgroupfs" >&2; exit 2 ;; esac
case $checkout in *[[:space:]]*) echo "the checkout's path must not contain spaces" >&2; exit 2 ;; esac

bash "$here/build.sh"
run=$(mktemp -d /tmp/graderq-vm-run.XXXXXX)
qemu_pid= tail_pid=
cleanup() {
  [ -n "$qemu_pid" ] && kill "$qemu_pid" 2>/dev/null
  [ -n "$tail_pid" ] && kill "$tail_pid" 2>/dev/null
  rm -rf "$run"
}
trap cleanup EXIT
cp "$here/guest/graderq-vm-run" "$run/guest-run"
printf '%q ' "$@" >"$run/command"
echo >>"$run/command"
: >"$run/output"

started=$SECONDS
booted=$(date +%s)
qemu-system-x86_64 -accel tcg,thread=multi -cpu max -smp 2 -m "${GRADERQ_VM_MEMORY:-3072}" \
  -nodefaults -display none -no-reboot -nic none \
  -kernel "$cache/vmlinuz" -initrd "$cache/initrd.img" \
  -append "root=/dev/vda rw console=ttyS0 quiet systemd.unified_cgroup_hierarchy=1 apparmor=0 mitigations=off graderq.src=$checkout graderq.driver=$driver" \
  -drive "file=$cache/disk.img,format=raw,if=virtio,snapshot=on" \
  -virtfs "local,path=$checkout,mount_tag=src,security_model=none" \
  -virtfs "local,path=$run,mount_tag=run,security_model=none" \
  -serial "file:$run/console.log" </dev/null &
qemu_pid=$!
tail -n +1 -f "$run/output" --pid "$qemu_pid" &
tail_pid=$!
deadline=$((SECONDS + timeout))
while kill -0 "$qemu_pid" 2>/dev/null; do
  if [ "$SECONDS" -ge "$deadline" ]; then
    echo "[vm] timed out after $timeout s: killing the VM" >&2
    kill "$qemu_pid"
    break
  fi
  sleep 1
done
wait "$qemu_pid" 2>/dev/null || true
qemu_pid=
wait "$tail_pid" 2>/dev/null || true
tail_pid=
if [ -f "$run/ready" ]; then
  ready=$(($(cat "$run/ready") - booted))
  echo "[vm] Docker ready ${ready} s after boot; command and shutdown took $((SECONDS - started - ready)) s" >&2
fi
if [ ! -f "$run/rc" ]; then
  echo "[vm] the VM stopped without an exit code; its console:" >&2
  tail -40 "$run/console.log" >&2
  exit 125
fi
exit "$(cat "$run/rc")"
