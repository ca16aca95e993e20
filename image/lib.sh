# Shared by image/build and tests/system/image-*: skip banner, tool installs, binfmt and
# mirror detection. Source it; it defines functions only.
# shellcheck shell=bash

# skip NAME REASON-LINES…: a loud banner, then exit 3 (callers treat 3 as "skipped").
skip() {
  local name=$1
  shift
  {
    printf '\n%s\n' "########################################################################"
    printf '##  SKIP: %s did NOT run\n' "$name"
    for line in "$@"; do printf '##    %s\n' "$line"; done
    printf '##  Nothing of the Raspberry Pi image was built or checked by this step.\n'
    printf '%s\n\n' "########################################################################"
  } >&2
  echo "SKIP: $name did NOT run (see the banner)" >&2
  exit 3
}

installed() { [ "$(dpkg-query -W -f='${db:Status-Abbrev}' "$1" 2>/dev/null)" = "ii " ]; }

# need_pkgs NAME PKG…: installs the Debian packages that are missing (no recommends); skips
# NAME when that is impossible.
need_pkgs() {
  local name=$1 missing=() p
  shift
  for p in "$@"; do installed "$p" || missing+=("$p"); done
  [ ${#missing[@]} -gt 0 ] || return 0
  command -v apt-get >/dev/null || skip "$name" "missing packages ${missing[*]} and no apt-get"
  echo "=== installing ${missing[*]}" >&2
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
      --no-install-recommends "${missing[@]}" >/dev/null; } ||
    skip "$name" "apt-get install ${missing[*]} failed (no network or no Debian mirror?)"
}

# binfmt_ok: aarch64 ELF files run on this x86_64 host through binfmt_misc, also inside a
# chroot or container (the F flag: the kernel keeps the interpreter open). Tries to mount
# binfmt_misc and enable qemu-aarch64 first; prints why not on failure.
binfmt_ok() {
  local f=/proc/sys/fs/binfmt_misc/qemu-aarch64
  [ "$(uname -m)" = aarch64 ] && return 0
  if [ ! -e /proc/sys/fs/binfmt_misc/status ]; then
    mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc 2>/dev/null || true
  fi
  if [ ! -e "$f" ] || ! grep -qx enabled "$f"; then
    command -v update-binfmts >/dev/null && update-binfmts --enable qemu-aarch64 >/dev/null 2>&1 || true
  fi
  if [ ! -e /proc/sys/fs/binfmt_misc/status ]; then
    echo "binfmt_misc is not mounted at /proc/sys/fs/binfmt_misc and cannot be mounted here"
    echo "(a container without it?); aarch64 programs cannot run on this x86_64 machine."
    return 1
  fi
  if [ ! -e "$f" ] || ! grep -qx enabled "$f"; then
    echo "qemu-aarch64 is not registered in binfmt_misc: install qemu-user-static and"
    echo "binfmt-support, then: update-binfmts --enable qemu-aarch64"
    return 1
  fi
  if ! grep -q '^flags:.*F' "$f"; then
    echo "qemu-aarch64 is registered without the F (fix-binary) flag: it would not work inside"
    echo "a chroot or container. Use qemu-user-static's registration (update-binfmts --enable)."
    return 1
  fi
  return 0
}

# The Debian mirror this machine uses (deb822 or one-line sources), else deb.debian.org;
# the same choice as tests/system/nspawn-e2e.
debian_mirror() {
  local m
  m=$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null |
    awk '/^URIs:/ { for (i = 2; i <= NF; i++) print $i }' | grep -v -- '-security' | head -1)
  [ -n "$m" ] || m=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
    awk '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i ~ /^https?:/) { print $i; break } }' |
    grep -v -- '-security' | head -1)
  echo "${m:-http://deb.debian.org/debian}"
}

# Partition layout shared by build and checks (MiB).
BOOT_START_MIB=4
BOOT_SIZE_MIB=256
ROOT_START_MIB=$((BOOT_START_MIB + BOOT_SIZE_MIB))
IMAGE_NAME=dkgd-pi-arm64
