#!/usr/bin/env bash
# A Docker engine for the tests: prints the DOCKER_HOST to use, starting a private one if none
# answers.
#
#   export DOCKER_HOST=$(scripts/docker-engine.sh)    # start (or find) an engine
#   scripts/docker-engine.sh stop                     # stop the private engine, if we started one
#   scripts/docker-engine.sh status                   # says whether an engine answers
#
# An engine that already answers (at $DOCKER_HOST, or the system's socket) is used as it is.
# Otherwise Debian's docker.io (and debootstrap, for scripts/docker-images.sh) is installed
# with apt when missing, and a private dockerd is started with everything of its own under
# QS_DOCKER_DIR (default: quickscale-docker in the temporary folder): data root, exec root,
# pid file, socket and log. It needs no registry. Its storage driver is overlay2 where the
# kernel allows it, otherwise vfs (QS_DOCKER_STORAGE_DRIVER chooses). It touches neither
# iptables nor a bridge, so it cannot disturb the machine's network or another engine:
# containers run with the host's network (`--network host`).
#
# The data root keeps the images between runs (scripts/docker-images.sh skips those that exist),
# so a folder outside the checkout serves as CI's cache; it works as well when empty.
#
# Running it twice is harmless: the second run finds the engine the first one started.
set -euo pipefail

dir=${QS_DOCKER_DIR:-${TMPDIR:-/tmp}/quickscale-docker}
socket=$dir/docker.sock
pidfile=$dir/dockerd.pid
log=$dir/dockerd.log
private_host=unix://$socket
# Debian's client: a newer one earlier on the PATH may need plugins (buildx) that are missing.
docker_cli=/usr/bin/docker

say() { echo "docker-engine: $*" >&2; }

sudo_if_needed() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

answers() { # HOST
  [ -x "$docker_cli" ] || return 1
  DOCKER_HOST=$1 timeout 10 "$docker_cli" version --format '{{.Server.Version}}' >/dev/null 2>&1
}

private_pid() {
  [ -s "$pidfile" ] || return 1
  local pid
  pid=$(cat "$pidfile")
  kill -0 "$pid" 2>/dev/null || return 1
  echo "$pid"
}

install_packages() {
  local missing=()
  [ -x /usr/sbin/dockerd ] && [ -x "$docker_cli" ] || missing+=(docker.io)
  command -v debootstrap >/dev/null || [ -x /usr/sbin/debootstrap ] || missing+=(debootstrap)
  [ ${#missing[@]} -eq 0 ] && return 0
  say "installing ${missing[*]} (Debian's packages)"
  local started=$SECONDS
  if ! sudo_if_needed env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
      --no-install-recommends "${missing[@]}" >&2; then
    sudo_if_needed apt-get update -qq >&2
    sudo_if_needed env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
      --no-install-recommends "${missing[@]}" >&2
  fi
  say "installed in $((SECONDS - started)) s"
}

# Whether the kernel mounts overlayfs on the data root's file system (what overlay2 needs).
overlay_works() {
  local probe
  probe=$(mktemp -d "$dir/overlay-probe.XXXXXX")
  mkdir -p "$probe"/{lower,upper,work,merged}
  local ok=1
  if sudo_if_needed mount -t overlay overlay \
      -o "lowerdir=$probe/lower,upperdir=$probe/upper,workdir=$probe/work" "$probe/merged" \
      2>/dev/null; then
    ok=0
    sudo_if_needed umount "$probe/merged"
  fi
  rm -rf "$probe"
  return $ok
}

storage_driver() {
  if [ -n "${QS_DOCKER_STORAGE_DRIVER:-}" ]; then
    echo "$QS_DOCKER_STORAGE_DRIVER"
  elif [ -s "$dir/storage-driver" ]; then
    # The images in the data root belong to the driver that made them.
    cat "$dir/storage-driver"
  elif overlay_works; then
    echo overlay2
  else
    echo vfs
  fi
}

start() {
  if [ -n "${DOCKER_HOST:-}" ] && [ "$DOCKER_HOST" != "$private_host" ] && answers "$DOCKER_HOST"; then
    say "an engine answers at DOCKER_HOST"
    echo "$DOCKER_HOST"
    return
  fi
  if [ -S /var/run/docker.sock ] && answers unix:///var/run/docker.sock; then
    say "the system's engine answers"
    echo unix:///var/run/docker.sock
    return
  fi
  mkdir -p "$dir"
  if private_pid >/dev/null && answers "$private_host"; then
    say "the private engine answers (pid $(private_pid), $dir)"
    echo "$private_host"
    return
  fi
  install_packages
  # Installing docker.io starts the system's engine where systemd runs.
  if [ -S /var/run/docker.sock ] && answers unix:///var/run/docker.sock; then
    say "the system's engine answers"
    echo unix:///var/run/docker.sock
    return
  fi
  # A stale pid file or socket from an engine that died.
  if pid=$(private_pid); then
    say "the private engine (pid $pid) does not answer; restarting it"
    stop
  fi
  rm -f "$socket" "$pidfile"
  local driver
  driver=$(storage_driver)
  echo "$driver" > "$dir/storage-driver"
  say "starting a private dockerd (storage driver $driver) in $dir"
  local started=$SECONDS
  # setsid and no inherited descriptors: the engine outlives this script and holds no pipe of
  # its caller open.
  sudo_if_needed setsid /usr/sbin/dockerd \
    --data-root "$dir/data" \
    --exec-root "$dir/run" \
    --pidfile "$pidfile" \
    --host "$private_host" \
    --storage-driver "$driver" \
    --iptables=false \
    --ip-masq=false \
    --bridge=none \
    </dev/null >>"$log" 2>&1 &
  local deadline=$((SECONDS + 60))
  until answers "$private_host"; do
    if [ $SECONDS -ge $deadline ]; then
      say "dockerd did not answer within 60 s; its log ($log) ends with:"
      tail -n 20 "$log" >&2
      exit 1
    fi
    sleep 0.5
  done
  if [ "$(id -u)" -ne 0 ]; then
    sudo chmod 666 "$socket"
  fi
  say "the private engine answers after $((SECONDS - started)) s (pid $(private_pid))"
  echo "$private_host"
}

stop() {
  local pid
  if ! pid=$(private_pid); then
    say "no private engine runs ($dir)"
    return 0
  fi
  say "stopping the private engine (pid $pid)"
  # Its containers go with it (the tests' watchdogs may not have removed theirs yet), so that
  # the data root keeps only images.
  # Until none is left: one a watchdog is already removing is refused ("removal in progress"),
  # and stopping the engine in the middle of that removal would leave it dead in the data root.
  local containers deadline=$((SECONDS + 60))
  while containers=$(DOCKER_HOST=$private_host timeout 20 "$docker_cli" ps -aq 2>/dev/null) &&
      [ -n "$containers" ] && [ $SECONDS -lt $deadline ]; do
    # shellcheck disable=SC2086
    DOCKER_HOST=$private_host timeout 60 "$docker_cli" rm -f -v $containers >/dev/null 2>&1 || sleep 0.5
  done
  sudo_if_needed kill -TERM "$pid"
  # dockerd stops its containers (up to 15 s) and its containerd before it exits.
  local deadline=$((SECONDS + 40))
  while kill -0 "$pid" 2>/dev/null; do
    if [ $SECONDS -ge $deadline ]; then
      say "dockerd (pid $pid) did not stop within 40 s; killing it"
      sudo_if_needed kill -KILL "$pid" 2>/dev/null || true
      break
    fi
    sleep 0.5
  done
  rm -f "$pidfile" "$socket"
  # The network namespace dockerd leaves mounted, so that the folder can be deleted.
  if grep -q " $dir/run/netns/default " /proc/mounts 2>/dev/null; then
    sudo_if_needed umount "$dir/run/netns/default" || true
  fi
  say "stopped"
}

status() {
  if [ -n "${DOCKER_HOST:-}" ] && answers "$DOCKER_HOST"; then
    echo "an engine answers at $DOCKER_HOST"
  elif [ -S /var/run/docker.sock ] && answers unix:///var/run/docker.sock; then
    echo "the system's engine answers"
  elif private_pid >/dev/null && answers "$private_host"; then
    echo "the private engine answers at $private_host (pid $(private_pid))"
  else
    echo "no engine answers"
    return 1
  fi
}

case "${1:-start}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *)
    echo "usage: $0 [start|stop|status]" >&2
    exit 2
    ;;
esac
