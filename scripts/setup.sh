#!/usr/bin/env bash
# One-time (idempotent) set-up on a fresh machine: system packages, the container engine for
# the container backend's tests (rootful podman and its Docker-compatible API), the Python venv
# for the boto3 suite and the demo, and the Rust toolchain components. Safe to run again: it
# prints one line per thing it does, and nothing when everything is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

# runc, debootstrap and iptables live in sbin directories, which a non-login PATH may lack.
for d in /usr/local/sbin /usr/sbin /sbin; do
  case ":$PATH:" in *":$d:"*) ;; *) PATH="$PATH:$d" ;; esac
done
export PATH
have_pkg() { [ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null)" = installed ]; }

need_apt=()
python3 -c 'import venv, ensurepip' 2>/dev/null || need_apt+=(python3-venv)
command -v cc >/dev/null || need_apt+=(build-essential)
command -v curl >/dev/null || need_apt+=(curl)
# The /metrics test scrapes Guardrail with a real Prometheus server.
command -v prometheus >/dev/null || need_apt+=(prometheus)
# The container backend's tests: rootful podman (Docker Engine API via `podman system
# service`), runc as its OCI runtime (crun fails on this kernel's hybrid cgroups), netavark for
# its network (without it apt picks the CNI plugins), iptables for netavark's port forwarding,
# debootstrap for scripts/test-images.sh, catatonit for containers created with an init.
# Without Recommends: uidmap, slirp4netns and fuse-overlayfs serve rootless podman only;
# buildah, criu and dbus-user-session are not used.
need_ctr=()
command -v podman >/dev/null || need_ctr+=(podman)
command -v runc >/dev/null || need_ctr+=(runc)
have_pkg netavark || need_ctr+=(netavark)
have_pkg aardvark-dns || need_ctr+=(aardvark-dns)
command -v iptables >/dev/null || need_ctr+=(iptables)
command -v debootstrap >/dev/null || need_ctr+=(debootstrap)
command -v catatonit >/dev/null || need_ctr+=(catatonit) # HostConfig.Init / --init
if [ $((${#need_apt[@]} + ${#need_ctr[@]})) -gt 0 ]; then
  echo "setup: installing Debian packages: ${need_apt[*]} ${need_ctr[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  if [ ${#need_apt[@]} -gt 0 ]; then
    apt-get install -y -qq "${need_apt[@]}" >/dev/null
  fi
  if [ ${#need_ctr[@]} -gt 0 ]; then
    apt-get install -y -qq --no-install-recommends "${need_ctr[@]}" >/dev/null
  fi
fi

if ! command -v cargo >/dev/null; then
  echo "setup: cargo is missing; install Rust (rustup) first" >&2
  exit 1
fi
rustup component add rustfmt clippy >/dev/null 2>&1 || true

# Podman's settings, in a drop-in of Guardrail's own (podman 4.3 reads
# /etc/containers/containers.conf.d/*.conf after containers.conf). Without CAP_SYS_RESOURCE a
# container's rlimits cannot exceed the hard limits of whoever starts it, and podman's default
# raises RLIMIT_NOFILE/NPROC to 1048576 ("error setting rlimit type 7: operation not
# permitted"), so the defaults here stay within this shell's hard limits (the API service below
# inherits them) and within the RLIMIT_NPROC of 32768 that podman sets for itself.
cap() { if [ "$1" = unlimited ] || [ "$1" -gt "$2" ]; then echo "$2"; else echo "$1"; fi; }
nofile=$(cap "$(ulimit -Hn)" 65536)
nproc=$(cap "$(ulimit -Hu)" 4096)
conf=/etc/containers/containers.conf.d/50-guardrail.conf
conf_text="# Written by Guardrail's scripts/setup.sh; rewritten when it differs.
[containers]
default_ulimits = [\"nofile=$nofile:$nofile\", \"nproc=$nproc:$nproc\"]

[engine]
runtime = \"runc\"
cgroup_manager = \"cgroupfs\"
events_logger = \"file\""
conf_changed=0
if [ "$(cat "$conf" 2>/dev/null)" != "$conf_text" ]; then
  echo "setup: writing $conf (runc, cgroupfs, nofile=$nofile nproc=$nproc)"
  mkdir -p "$(dirname "$conf")"
  printf '%s\n' "$conf_text" > "$conf.tmp"
  mv "$conf.tmp" "$conf"
  conf_changed=1
fi

# The Docker Engine API (podman's compatible service) on a unix socket, started detached when
# nothing answers there; setup.sh restarts a service it started itself when the settings change.
sock=${GUARDRAIL_PODMAN_SOCKET:-/run/podman/podman.sock}
svc_dir=/tmp/guardrail-podman
svc_log=$svc_dir/service.log
svc_pid=$svc_dir/service$(printf %s "$sock" | tr / -).pid
api_ping() { curl -fsS --max-time 3 --unix-socket "$sock" http://d/_ping >/dev/null 2>&1; }
our_service() { # the pid of the service setup.sh started, if it still runs
  local pid
  pid=$(cat "$svc_pid" 2>/dev/null) || return 1
  [ -n "$pid" ] && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null |
    grep -qF "system service --time=0 unix://$sock" && echo "$pid"
}
if api_ping && [ $conf_changed = 1 ]; then
  if pid=$(our_service); then
    echo "setup: restarting the podman API service (pid $pid) for the new settings"
    kill "$pid"
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  else
    echo "setup: note: the podman API service on $sock was not started by setup.sh;" \
      "restart it to apply $conf" >&2
  fi
fi
if ! api_ping; then
  echo "setup: starting the Docker-compatible API: podman system service on unix://$sock (log $svc_log)"
  mkdir -p "$svc_dir" "$(dirname "$sock")"
  # Detached: its own session, no terminal, cwd / (not this checkout), output to the log.
  (cd / && exec setsid nohup podman system service --time=0 "unix://$sock") \
    </dev/null >>"$svc_log" 2>&1 &
  pid=$!
  echo "$pid" >"$svc_pid"
  deadline=$((SECONDS + 30))
  until api_ping; do
    why=
    if ! kill -0 "$pid" 2>/dev/null; then
      status=0
      wait "$pid" || status=$?
      why="podman system service exited with status $status"
    elif [ $SECONDS -ge $deadline ]; then
      why="podman system service did not answer GET /_ping on $sock within 30 s (stopped it)"
      kill "$pid" 2>/dev/null || true
    fi
    if [ -n "$why" ]; then
      echo "setup: $why; the end of $svc_log:" >&2
      tail -n 20 "$svc_log" >&2
      exit 1
    fi
    sleep 0.2
  done
fi

# The venv is rebuilt only when requirements change.
req=tests/python/requirements.txt
stamp=.venv/.requirements.sha
want=$(sha256sum "$req" | cut -d' ' -f1)
if [ ! -x .venv/bin/python ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "setup: creating .venv (boto3, awscli, pytest, moto, scikit-learn)"
  python3 -m venv .venv
  .venv/bin/pip install -q --upgrade pip
  .venv/bin/pip install -q -r "$req"
  echo "$want" > "$stamp"
fi
