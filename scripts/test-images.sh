#!/usr/bin/env bash
# Builds the container images the container backend's tests run, without a registry (podman
# import of root filesystems made here), and caches them between runs (scripts/setup.sh
# installs podman and debootstrap):
#
#   localhost/guardrail-test/model-server:latest
#       target/debug/guardrail-model-server (build it first) with exactly the libraries `ldd`
#       lists; ENTRYPOINT the binary, ENV MODEL_SERVER_HOST=0.0.0.0 and NO_COLOR=1 (plain
#       logs), EXPOSE 8080. Rebuilt when the binary's sha256 differs from the image's label
#       guardrail.binary-sha256.
#   localhost/guardrail-test/model:v1, localhost/guardrail-test/model:v2
#       the model server with ENV MODEL_VERSION=v1 / v2: two "versions" of a model for the
#       deployment, rollback and kill tests in container mode (GUARDRAIL_TEST_BACKEND=container).
#       Rebuilt whenever the model-server image changes (label guardrail.base).
#   localhost/guardrail-test/python-sklearn:bookworm
#       Debian bookworm minbase + python3-sklearn (Python 3.11, scikit-learn 1.2.1, numpy
#       1.24.2) by debootstrap, compilers and -dev packages purged, docs and caches removed.
#       Built only when missing (or made by an older recipe); the trimmed root filesystem is kept
#       as a tarball under ${XDG_CACHE_HOME:-~/.cache}/guardrail/, so a wiped podman storage
#       re-imports it in seconds.
#
# scripts/test-images.sh [--check | --rebuild]
#   --check: only report; exits 1 when an image is missing or stale.
#   --rebuild: rebuild both from scratch (debootstrap again, replacing the cached tarball).
# Each build step is bounded in time and fails loudly with the reason.
# Environment: GUARDRAIL_MODEL_SERVER_BIN (default target/debug/guardrail-model-server),
# GUARDRAIL_DEBIAN_MIRROR (default http://deb.debian.org/debian),
# GUARDRAIL_DEBOOTSTRAP_TIMEOUT (seconds, default 1200).
set -euo pipefail
cd "$(dirname "$0")/.."
for d in /usr/local/sbin /usr/sbin /sbin; do
  case ":$PATH:" in *":$d:"*) ;; *) PATH="$PATH:$d" ;; esac
done
export PATH

check=0
rebuild=0
case "${1:-}" in
  "") ;;
  --check) check=1 ;;
  --rebuild) rebuild=1 ;;
  *) echo "usage: scripts/test-images.sh [--check | --rebuild]" >&2; exit 2 ;;
esac

MS_IMAGE=localhost/guardrail-test/model-server:latest
SK_IMAGE=localhost/guardrail-test/python-sklearn:bookworm
# Bump a recipe when what goes into its image changes: images of another recipe are rebuilt.
MS_RECIPE=2
SK_RECIPE=1
bin=${GUARDRAIL_MODEL_SERVER_BIN:-target/debug/guardrail-model-server}
cache=${XDG_CACHE_HOME:-$HOME/.cache}/guardrail
sk_tar=$cache/python-sklearn-bookworm-r$SK_RECIPE.tar
mirror=${GUARDRAIL_DEBIAN_MIRROR:-http://deb.debian.org/debian}
debootstrap_timeout=${GUARDRAIL_DEBOOTSTRAP_TIMEOUT:-1200}

t0=$SECONDS
say() { echo "test-images: [$((SECONDS - t0)) s] $*"; }
die() { echo "test-images: error: $*" >&2; exit 1; }
label() { # label IMAGE KEY: the label's value, empty when the image or the label is missing
  local v
  v=$(podman image inspect --format "{{index .Labels \"$2\"}}" "$1" 2>/dev/null) || return 0
  [ "$v" = "<no value>" ] || echo "$v"
}
image_id() { podman image inspect --format '{{.Id}}' "$1" 2>/dev/null || true; }
image_size() { podman image inspect --format '{{.Size}}' "$1" 2>/dev/null | awk '{printf "%.0f MB", $1/1e6}'; }
# After retagging, drop the image the tag used to name, unless something still uses it.
drop_old() { # drop_old OLD_ID IMAGE
  [ -n "$1" ] && [ "$1" != "$(image_id "$2")" ] && podman rmi "$1" >/dev/null 2>&1 || true
}

command -v podman >/dev/null || die "podman is missing: run scripts/setup.sh"

ms_state() { # prints current | stale | missing | nobinary
  [ -f "$bin" ] || { echo nobinary; return; }
  local want have
  want=$(sha256sum "$bin" | cut -d' ' -f1)
  have=$(label "$MS_IMAGE" guardrail.binary-sha256)
  if [ -z "$(image_id "$MS_IMAGE")" ]; then echo missing
  elif [ "$have" = "$want" ] && [ "$(label "$MS_IMAGE" guardrail.recipe)" = "$MS_RECIPE" ]; then
    echo current
  else echo stale; fi
}
sk_state() {
  if [ -z "$(image_id "$SK_IMAGE")" ]; then echo missing
  elif [ "$(label "$SK_IMAGE" guardrail.recipe)" = "$SK_RECIPE" ]; then echo current
  else echo stale; fi
}

if [ $check = 1 ]; then
  ok=0
  s=$(ms_state)
  case $s in
    current) say "$MS_IMAGE: current ($(image_size "$MS_IMAGE"), binary $bin)" ;;
    nobinary) say "$MS_IMAGE: cannot tell, $bin is missing"; ok=1 ;;
    *) say "$MS_IMAGE: $s (binary $bin)"; ok=1 ;;
  esac
  for v in v1 v2; do
    if [ "$(label localhost/guardrail-test/model:$v guardrail.base)" = "$(image_id "$MS_IMAGE")" ]; then
      say "localhost/guardrail-test/model:$v: current"
    else
      say "localhost/guardrail-test/model:$v: missing or stale"; ok=1
    fi
  done
  s=$(sk_state)
  case $s in
    current) say "$SK_IMAGE: current ($(image_size "$SK_IMAGE"))" ;;
    *) say "$SK_IMAGE: $s"; ok=1 ;;
  esac
  if [ -f "$sk_tar" ]; then
    say "cached root filesystem: $sk_tar ($(du -m "$sk_tar" | cut -f1) MB)"
  else
    say "cached root filesystem: none ($sk_tar)"
  fi
  exit $ok
fi

# One build at a time on a machine (two checkouts may run their tests at once).
mkdir -p "$cache"
exec 9>"$cache/test-images.lock"
flock -w 1800 9 || die "another scripts/test-images.sh held $cache/test-images.lock for 30 min"

# debootstrap mounts /proc and /sys in its target (and leaves them when killed): never delete
# through a mount.
umount_under() {
  awk -v d="$1/" 'index($2, d) == 1 {print $2}' /proc/mounts | sort -r |
    while read -r m; do umount -l "$m" 2>/dev/null || true; done
}
work=
cleanup() {
  [ -n "$work" ] && [ -d "$work" ] || return 0
  umount_under "$work"
  rm -rf --one-file-system "$work"
  work=
}
trap cleanup EXIT
new_work() { work=$(mktemp -d "$cache/build.XXXXXX"); }

# --- localhost/guardrail-test/model-server:latest -------------------------------------------
build_model_server() {
  local s sha old root lib
  s=$(ms_state)
  [ $rebuild = 0 ] || [ $s = nobinary ] || s=rebuild
  case $s in
    current) say "$MS_IMAGE is current ($(image_size "$MS_IMAGE"))"; return ;;
    nobinary) die "$bin is missing: cargo build -p guardrail-model-server --bin guardrail-model-server" ;;
  esac
  sha=$(sha256sum "$bin" | cut -d' ' -f1)
  say "building $MS_IMAGE ($s) from $bin (sha256 ${sha:0:12}…)"
  old=$(image_id "$MS_IMAGE")
  new_work
  root=$work/root
  mkdir -p "$root/usr/local/bin" "$root/etc" "$root/opt/ml/model" "$root/proc" "$root/sys" \
    "$root/dev" "$root/tmp"
  chmod 1777 "$root/tmp"
  cp "$bin" "$root/usr/local/bin/guardrail-model-server"
  # Exactly what ldd lists ("name => /path (addr)" and the loader "/path (addr)"), at the
  # paths it names; the loader finds them there without an ld.so.cache.
  local ldd_out
  ldd_out=$(ldd "$bin" 2>&1) || ldd_out=
  if [ -n "$ldd_out" ]; then
    if grep -q 'not found' <<<"$ldd_out"; then
      die "ldd $bin: a library is missing:
$ldd_out"
    fi
    for lib in $(echo "$ldd_out" | awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\// {print $1}'); do
      mkdir -p "$root$(dirname "$lib")"
      cp -L "$lib" "$root$lib"
    done
  fi
  printf 'root:x:0:0:root:/root:/usr/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n' >"$root/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
  tar -C "$root" --numeric-owner -c . |
    timeout 300 podman import \
      --change 'ENTRYPOINT ["/usr/local/bin/guardrail-model-server"]' \
      --change 'ENV MODEL_SERVER_HOST=0.0.0.0' \
      --change 'ENV NO_COLOR=1' \
      --change 'EXPOSE 8080' \
      --change "LABEL guardrail.binary-sha256=$sha" \
      --change "LABEL guardrail.recipe=$MS_RECIPE" \
      --message "guardrail-model-server $sha" \
      - "$MS_IMAGE" >"$work/import.log" 2>&1 ||
    die "podman import of $MS_IMAGE failed or took over 300 s: $(tail -n 5 "$work/import.log")"
  [ "$(label "$MS_IMAGE" guardrail.binary-sha256)" = "$sha" ] ||
    die "$MS_IMAGE was imported without its label guardrail.binary-sha256"
  drop_old "$old" "$MS_IMAGE"
  cleanup
  say "built $MS_IMAGE ($(image_size "$MS_IMAGE"))"
}

# --- localhost/guardrail-test/model:v1 and :v2 ---------------------------------------------
build_model_versions() {
  local v image base
  base=$(image_id "$MS_IMAGE")
  for v in v1 v2; do
    image=localhost/guardrail-test/model:$v
    [ "$(label "$image" guardrail.base)" = "$base" ] && continue
    new_work
    printf 'FROM %s\nENV MODEL_VERSION=%s\nLABEL guardrail.base=%s\n' "$MS_IMAGE" "$v" "$base" \
      >"$work/Containerfile"
    timeout 120 podman build -q --pull=never -t "$image" -f "$work/Containerfile" "$work" \
      >"$work/build.log" 2>&1 ||
      die "podman build of $image failed or took over 120 s: $(tail -n 5 "$work/build.log")"
    cleanup
    say "built $image"
  done
}

# --- localhost/guardrail-test/python-sklearn:bookworm ---------------------------------------
# Purged after debootstrap: python3-scipy depends on pythran, which pulls in gcc, g++, boost and
# the -dev packages (~800 MB); nothing imports them at run time.
SK_PURGE='^(.*-dev|binutils.*|cpp(-[0-9]+)?|g\+\+(-[0-9]+)?|gcc(-[0-9]+)?|lib(asan|tsan|lsan|ubsan|hwasan|itm|cc1-|isl|mpc|mpfr|ctf|gprofng|jansson|binutils|js-)[^ ]*|python3-(pythran|beniget|gast|ply)|rpcsvc-proto|libc-dev-bin)$'

debootstrap_rootfs() { # debootstrap_rootfs DIR: a trimmed root filesystem in DIR
  local root=$1 log=$cache/debootstrap.log pid status=0 last=$SECONDS
  command -v debootstrap >/dev/null || die "debootstrap is missing: run scripts/setup.sh"
  say "debootstrap bookworm minbase + python3-sklearn from $mirror (1-3 min; log $log)"
  timeout --kill-after=30 "$debootstrap_timeout" debootstrap --variant=minbase \
    --arch="$(dpkg --print-architecture)" --include=python3-sklearn \
    bookworm "$root" "$mirror" >"$log" 2>&1 &
  pid=$!
  while kill -0 "$pid" 2>/dev/null; do
    sleep 1
    if [ $((SECONDS - last)) -ge 20 ]; then
      last=$SECONDS
      say "  ... $(grep -E '^[IWE]:' "$log" | tail -n 1)"
    fi
  done
  wait "$pid" || status=$?
  if [ $status -ne 0 ]; then
    echo "test-images: the end of $log:" >&2
    tail -n 25 "$log" >&2
    [ $status = 124 ] || [ $status = 137 ] &&
      die "debootstrap took over $debootstrap_timeout s (GUARDRAIL_DEBOOTSTRAP_TIMEOUT)"
    die "debootstrap failed with status $status (is $mirror reachable?)"
  fi
  umount_under "$root"
  local purge
  purge=$(chroot "$root" dpkg-query -W -f='${Package}\n' | { grep -E "$SK_PURGE" || true; } |
    tr '\n' ' ')
  say "trimming: purging $(wc -w <<<"$purge") build-only packages, docs, caches"
  if [ -n "${purge// /}" ]; then
    # shellcheck disable=SC2086 # one word per package
    timeout 300 chroot "$root" dpkg --purge --force-depends $purge >>"$log" 2>&1 ||
      die "purging build-only packages failed (see $log)"
  fi
  rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/cache/apt/*.bin \
    "$root"/var/lib/apt/lists/* "$root"/usr/share/doc/* "$root"/usr/share/man/* \
    "$root"/usr/share/info/* "$root"/usr/share/locale/* "$root"/usr/share/lintian \
    "$root"/var/log/* "$root"/var/cache/debconf/*-old "$root"/var/lib/dpkg/*-old \
    "$root"/dev/* "$root"/etc/resolv.conf "$root"/etc/hostname "$root"/tmp/*
  # What the tests rely on must still work after the purge.
  chroot "$root" python3 -c '
import numpy, scipy, sklearn
from sklearn.linear_model import LogisticRegression
X = numpy.arange(40.0).reshape(20, 2); y = (X[:, 0] > 19).astype(int)
assert LogisticRegression().fit(X, y).score(X, y) > 0.9
print("python", __import__("sys").version.split()[0], "scikit-learn", sklearn.__version__,
      "numpy", numpy.__version__, "scipy", scipy.__version__)' >"$work/versions" 2>>"$log" ||
    die "scikit-learn does not work in the trimmed root filesystem (see $log)"
  say "  $(cat "$work/versions")"
}

build_python_sklearn() {
  local s old
  s=$(sk_state)
  [ $rebuild = 0 ] || s=rebuild
  if [ "$s" = current ]; then
    say "$SK_IMAGE is current ($(image_size "$SK_IMAGE"))"
    return
  fi
  old=$(image_id "$SK_IMAGE")
  if [ ! -f "$sk_tar" ] || [ $rebuild = 1 ]; then
    new_work
    debootstrap_rootfs "$work/root"
    say "writing the cached root filesystem $sk_tar"
    tar -C "$work/root" --numeric-owner -cf "$work/rootfs.tar" . ||
      die "cannot write $work/rootfs.tar"
    rm -f "$cache"/python-sklearn-bookworm-r*.tar
    mv "$work/rootfs.tar" "$sk_tar"
    cleanup
  fi
  say "importing $SK_IMAGE ($s) from $sk_tar"
  timeout 600 podman import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV LANG=C.UTF-8' \
    --change 'CMD ["python3"]' \
    --change "LABEL guardrail.recipe=$SK_RECIPE" \
    --message "Debian bookworm minbase + python3-sklearn, trimmed" \
    "$sk_tar" "$SK_IMAGE" >"$cache/import.log" 2>&1 ||
    die "podman import of $SK_IMAGE failed or took over 600 s (remove $sk_tar to rebuild it):" \
      "$(tail -n 5 "$cache/import.log")"
  drop_old "$old" "$SK_IMAGE"
  say "built $SK_IMAGE ($(image_size "$SK_IMAGE"))"
}

build_model_server
build_model_versions
build_python_sklearn
# Earlier builds of these images that nothing uses any more (untagged, with our label).
for id in $(podman images -q --filter dangling=true --filter label=guardrail.recipe 2>/dev/null); do
  podman rmi "$id" >/dev/null 2>&1 || true
done
