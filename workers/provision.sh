#!/usr/bin/env bash
# Make this Debian machine a graderq host: Docker engine, Redis, RabbitMQ (optional),
# sandbox images and the Python environment in .venv. Idempotent; safe to re-run.
#   bash workers/provision.sh            # engine, redis, images, .venv
#   GRADERQ_WITH_RABBITMQ=1 bash ...     # also RabbitMQ
set -euo pipefail
cd "$(dirname "$0")/.."
log=${GRADERQ_PROVISION_LOG:-/tmp/graderq-provision.log}
say() { printf '[provision] %s\n' "$*"; }
sudo_() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

wait_for() {  # wait_for SECONDS DESCRIPTION COMMAND...
  local deadline=$((SECONDS + $1)) what=$2; shift 2
  until "$@" >/dev/null 2>&1; do
    if [ "$SECONDS" -ge "$deadline" ]; then say "timed out waiting for $what"; return 1; fi
    sleep 0.5
  done
}

packages=()
command -v dockerd >/dev/null || packages+=(docker.io)
command -v redis-server >/dev/null || packages+=(redis-server)
command -v debootstrap >/dev/null || packages+=(debootstrap)
# Sandbox disks: mkfs.ext4 and debugfs (e2fsprogs), on loop devices.
command -v debugfs >/dev/null || packages+=(e2fsprogs)
if [ -n "${GRADERQ_WITH_RABBITMQ:-}" ]; then
  command -v rabbitmq-server >/dev/null || packages+=(rabbitmq-server)
fi
python3 -m venv --help >/dev/null 2>&1 || packages+=(python3-venv)
if [ ${#packages[@]} -gt 0 ]; then
  say "installing ${packages[*]}"
  sudo_ apt-get update -q >>"$log" 2>&1
  sudo_ env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${packages[@]}" >>"$log" 2>&1
fi

[ -e /dev/loop-control ] || sudo_ modprobe loop || say "no loop devices: sandbox disks will fail"

if ! docker info >/dev/null 2>&1; then
  say "starting dockerd"
  # Under docker-init as a subreaper: exited containerd-shims are reaped even where
  # PID 1 does not reap orphans (as in some VMs and containers).
  reaper=()
  command -v docker-init >/dev/null && reaper=(docker-init -s --)
  sudo_ setsid "${reaper[@]}" dockerd >>/tmp/graderq-dockerd.log 2>&1 </dev/null &
  wait_for 60 "docker info" docker info
fi

# Each sandbox of a profile with network has a network of its own (bridges gqsb0,
# gqsb1..., made and removed by graderq); the host refuses new connections from them,
# so no host service (broker, result backend, Docker API) is reachable from a sandbox.
for table in iptables ip6tables; do
  command -v "$table" >/dev/null || continue
  rule=(INPUT -i gqsb+ -m conntrack --ctstate NEW -j DROP)
  sudo_ "$table" -C "${rule[@]}" 2>/dev/null || sudo_ "$table" -I "${rule[@]}" || true
done

if ! redis-cli -h 127.0.0.1 ping >/dev/null 2>&1; then
  say "starting redis-server on 127.0.0.1:6379"
  sudo_ redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save '' \
    --logfile /tmp/graderq-redis.log
  wait_for 20 "redis" redis-cli -h 127.0.0.1 ping
fi

if [ -n "${GRADERQ_WITH_RABBITMQ:-}" ] && ! rabbitmq-diagnostics -q ping >/dev/null 2>&1; then
  say "starting rabbitmq-server"
  # Loopback only: sandboxes must never reach the broker.
  sudo_ env RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 ERL_EPMD_ADDRESS=127.0.0.1 \
    setsid rabbitmq-server >>/tmp/graderq-rabbitmq.log 2>&1 </dev/null &
  wait_for 120 "rabbitmq" rabbitmq-diagnostics -q ping
fi

bash workers/images/build.sh  # every sandbox image, all 15 languages (skips those present)

if [ ! -x .venv/bin/python ] || [ pyproject.toml -nt .venv/.installed ]; then
  say "creating .venv"
  python3 -m venv .venv
  .venv/bin/pip install -q --upgrade pip >>"$log" 2>&1
  .venv/bin/pip install -q -e '.[dev]' >>"$log" 2>&1
  touch .venv/.installed
fi
say "ready"
