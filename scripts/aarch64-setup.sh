#!/usr/bin/env bash
# Install what the AArch64 cross build and its qemu-user test run need (Debian 12, as root).
# Idempotent: safe to run again; every step checks before it changes anything.
#
#   1. the arm64 dpkg architecture and `apt-get update`;
#   2. host packages: the aarch64 cross gcc/g++, qemu-user, binfmt-support, cmake;
#   3. libc6, libgcc-s1, libstdc++6 for arm64 through apt (Multi-Arch: same, same versions as the
#      host's, they sit beside the amd64 ones in /usr/lib/aarch64-linux-gnu), so the guest's own
#      ld.so finds its libc: qemu needs neither -L nor QEMU_LD_PREFIX (mixing the cross libc in
#      /usr/aarch64-linux-gnu with libc6:arm64 hangs in pthread_create). Refuses any apt
#      transaction that would remove a package;
#   4. Criterion for arm64 is NOT installed through apt: libcriterion-dev:arm64 drags
#      pkg-config:arm64 (conflicts with the host's), and libcriterion3:arm64 needs
#      libnanomsg5:arm64 1.1.5+dfsg-1.1 while the host has the binNMU 1.1.5+dfsg-1.1+b1, so apt
#      would REMOVE the amd64 Criterion the x86 suite needs. Instead libcriterion-dev,
#      libcriterion3 and their runtime closure (libgit2, nanomsg, ffi, ssl, ...) are downloaded
#      with `apt-get download` and unpacked with `dpkg -x` into a private sysroot,
#      $SMX_AARCH64_DEPS (default /opt/smx-aarch64). cmake/toolchain-aarch64.cmake puts it on
#      CMAKE_FIND_ROOT_PATH and links executables with an RPATH to its lib dir;
#   5. binfmt_misc: mounted and qemu-aarch64 registered, because Criterion re-executes the test
#      binary for every test, and that exec of an aarch64 ELF must go through qemu too.
#
# Environment: SMX_AARCH64_DEPS (private sysroot), SMX_SKIP_APT=1 (skip steps 1-3, e.g. offline).
set -euo pipefail

DEPS="${SMX_AARCH64_DEPS:-/opt/smx-aarch64}"
TRIPLE=aarch64-linux-gnu
export DEBIAN_FRONTEND=noninteractive

log() { printf '[aarch64-setup] %s\n' "$*"; }
die() { printf '[aarch64-setup] error: %s\n' "$*" >&2; exit 1; }

if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then exec sudo -E bash "$0" "$@"; fi
  die "must run as root"
fi

HOST_PKGS=(gcc-aarch64-linux-gnu g++-aarch64-linux-gnu libc6-dev-arm64-cross binutils-aarch64-linux-gnu
           qemu-user binfmt-support cmake make)
ARM64_PKGS=(libc6:arm64 libgcc-s1:arm64 libstdc++6:arm64)
# Unpacked privately: the dev package itself (headers, libcriterion.so) and the runtime closure.
PRIVATE_ROOTS=(libcriterion3:arm64)
PRIVATE_EXTRA=(libcriterion-dev:arm64)

# ---- 1-3: apt ----
if [ "${SMX_SKIP_APT:-0}" != 1 ]; then
  if ! dpkg --print-foreign-architectures | grep -qx arm64; then
    log "dpkg --add-architecture arm64"
    dpkg --add-architecture arm64
  fi
  log "apt-get update"
  # A broken third-party source must not stop us if Debian's own lists came in.
  apt-get update -q || log "warning: apt-get update reported errors; continuing"
  missing=()
  for p in "${HOST_PKGS[@]}" "${ARM64_PKGS[@]}"; do
    st=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
    [ "$st" = installed ] || missing+=("$p")
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    removals=$(apt-get install -s --no-install-recommends "${missing[@]}" | awk '/^Remv/ {print $2}' | tr '\n' ' ')
    [ -z "$removals" ] || die "installing ${missing[*]} would remove: $removals; refusing"
    log "apt-get install ${missing[*]}"
    apt-get install -y -q --no-install-recommends "${missing[@]}"
  else
    log "apt packages already installed"
  fi
fi

# ---- 4: private Criterion sysroot ----
# Runtime closure of Criterion, minus what apt installed for arm64 above.
mapfile -t closure < <(apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts \
    --no-breaks --no-replaces --no-enhances "${PRIVATE_ROOTS[@]}" | grep -v '^ ' | grep ':arm64$' | sort -u)
pkgs=()
for p in "${closure[@]}" "${PRIVATE_EXTRA[@]}"; do
  case " ${ARM64_PKGS[*]} gcc-12-base:arm64 " in *" $p "*) continue ;; esac
  pkgs+=("$p")
done
[ "${#pkgs[@]}" -gt 1 ] || die "cannot resolve libcriterion3:arm64 (apt-get update with arm64 first)"
manifest=$(apt-cache policy "${pkgs[@]}" | awk '/^[^ ].*:$/ {p = substr($0, 1, length($0) - 1)}
                                               /^  Candidate:/ {print p "=" $2}' | sort)
[ "$(printf '%s\n' "$manifest" | grep -c '=(none)$')" -eq 0 ] || die "no candidate for: $manifest"
if [ -f "$DEPS/.manifest" ] && [ "$(cat "$DEPS/.manifest")" = "$manifest" ] \
   && [ -f "$DEPS/usr/include/criterion/criterion.h" ] && [ -e "$DEPS/usr/lib/$TRIPLE/libcriterion.so" ]; then
  log "private sysroot $DEPS up to date (${#pkgs[@]} packages)"
else
  log "unpacking ${#pkgs[@]} arm64 packages into $DEPS: ${pkgs[*]}"
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  # As root, apt-get download warns that it runs unsandboxed: harmless.
  ( cd "$tmp" && apt-get download -q $(printf '%s\n' "$manifest") 2>&1 | grep -v '^W: Download is performed unsandboxed' ) || true
  n=$(ls "$tmp"/*.deb 2>/dev/null | wc -l)
  [ "$n" -eq "${#pkgs[@]}" ] || die "downloaded $n of ${#pkgs[@]} packages"
  rm -rf "$DEPS.new"
  mkdir -p "$DEPS.new"
  for deb in "$tmp"/*.deb; do dpkg -x "$deb" "$DEPS.new"; done
  # Some bookworm packages still ship /lib/<triple>: merge into usr/lib (as usrmerge does) so
  # one directory holds every library (one RPATH entry, one -rpath-link).
  if [ -d "$DEPS.new/lib" ] && [ ! -L "$DEPS.new/lib" ]; then
    mkdir -p "$DEPS.new/usr/lib"
    cp -a "$DEPS.new/lib/." "$DEPS.new/usr/lib/"
    rm -rf "$DEPS.new/lib"
    ln -s usr/lib "$DEPS.new/lib"
  fi
  [ -f "$DEPS.new/usr/include/criterion/criterion.h" ] || die "criterion.h missing after unpack"
  [ -e "$DEPS.new/usr/lib/$TRIPLE/libcriterion.so" ] || die "libcriterion.so missing after unpack"
  printf '%s\n' "$manifest" > "$DEPS.new/.manifest"
  rm -rf "$DEPS"
  mv "$DEPS.new" "$DEPS"
fi

# ---- 5: binfmt_misc ----
# Without it (an unprivileged container cannot mount or register it) the Criterion suites cannot
# run under qemu: scripts/aarch64-test.sh detects that, says so and runs the other checks. So a
# failure here is reported loudly but does not fail the setup.
BINFMT=/proc/sys/fs/binfmt_misc
binfmt_setup() {
  if [ ! -e "$BINFMT/register" ]; then
    log "mounting binfmt_misc"
    mount -t binfmt_misc binfmt_misc "$BINFMT" || { log "cannot mount binfmt_misc (container without privileges?)"; return 1; }
  fi
  [ "$(cat "$BINFMT/status")" = enabled ] || echo 1 > "$BINFMT/status" || return 1
  local entry="" e interp
  for e in "$BINFMT"/qemu-aarch64 "$BINFMT"/qemu-aarch64-static; do
    [ -f "$e" ] && entry=$e && break
  done
  if [ -n "$entry" ]; then
    [ "$(head -n1 "$entry")" = enabled ] || echo 1 > "$entry" || return 1
    log "binfmt: $(basename "$entry") $(head -n1 "$entry"), $(grep '^interpreter' "$entry")"
    return 0
  fi
  if command -v update-binfmts >/dev/null 2>&1 && [ -f /usr/share/binfmts/qemu-aarch64 ]; then
    log "update-binfmts --enable qemu-aarch64"
    update-binfmts --enable qemu-aarch64 || true
  fi
  if [ ! -f "$BINFMT/qemu-aarch64" ]; then
    interp=/usr/libexec/qemu-binfmt/aarch64-binfmt-P
    [ -x "$interp" ] || interp=$(command -v qemu-aarch64)
    log "registering qemu-aarch64 -> $interp through $BINFMT/register"
    # Magic/mask of an ELF64 little-endian EM_AARCH64 executable or shared object. P: qemu
    # receives the original argv[0] (qemu 7.2 and the Debian aarch64-binfmt-P wrapper handle it).
    printf '%s' ":qemu-aarch64:M::\\x7f\\x45\\x4c\\x46\\x02\\x01\\x01\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x02\\x00\\xb7\\x00:\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\x00\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xfe\\xff\\xff\\xff:$interp:P" \
      > "$BINFMT/register" || return 1
  fi
  [ -f "$BINFMT/qemu-aarch64" ] || { log "qemu-aarch64 binfmt registration failed"; return 1; }
  log "binfmt: qemu-aarch64 $(head -n1 "$BINFMT/qemu-aarch64")"
}
binfmt_ok=1
binfmt_setup || binfmt_ok=0

# ---- check: a dynamically linked aarch64 program runs under qemu (and directly, through binfmt) ----
probe=$(mktemp -d)
printf '#include <stdio.h>\nint main(void){puts("aarch64 ok");return 0;}\n' > "$probe/p.c"
$TRIPLE-gcc -O1 -o "$probe/p" "$probe/p.c"
out=$(qemu-aarch64 "$probe/p" 2>&1) || { rm -rf "$probe"; die "qemu-aarch64 cannot run an aarch64 binary: $out"; }
log "check: $out (qemu-aarch64, guest libc from libc6:arm64)"
if [ "$binfmt_ok" = 1 ] && out=$("$probe/p" 2>&1); then
  log "check: $out (direct exec through binfmt)"
else
  log "WARNING: binfmt_misc for aarch64 is NOT available: direct exec of an aarch64 binary fails."
  log "WARNING: the Criterion suites cannot run under qemu here; scripts/aarch64-test.sh will say so"
  log "WARNING: and run smx-validate (every kernel, full corpus) instead."
fi
rm -rf "$probe"
log "done; private sysroot: $DEPS"
