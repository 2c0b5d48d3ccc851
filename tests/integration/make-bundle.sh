#!/usr/bin/env bash
# make-bundle.sh DIR [ARG...]: build an OCI bundle in DIR from Debian's busybox-static.
#
# DIR/rootfs gets /bin/busybox plus a symlink per applet, /etc/passwd and /etc/group (root, user
# 1000, nobody 65534) and empty mount points; DIR/config.json comes from `$RUNTIME spec` (runc if
# RUNTIME is unset) with process.args = ARG... (default: /bin/true), terminal false and a writable
# root. The rootfs is extracted from a tarball cached under $BERTH_IT_CACHE (default
# ~/.cache/berth-it), keyed on the busybox binary and this script, so a bundle costs one tar and
# one `spec` run.
set -euo pipefail

usage() { echo "usage: $0 DIR [ARG...]" >&2; exit 2; }
[[ $# -ge 1 ]] || usage
dir=$1
shift
[[ $# -gt 0 ]] || set -- /bin/true

busybox=${BUSYBOX:-/bin/busybox}
runtime=${RUNTIME:-runc}
[[ -x $busybox ]] || { echo "$0: $busybox missing (apt-get install busybox-static)" >&2; exit 1; }
command -v jq >/dev/null || { echo "$0: jq missing" >&2; exit 1; }

cache_dir=${BERTH_IT_CACHE:-${XDG_CACHE_HOME:-${HOME:-/root}/.cache}/berth-it}
# Key: busybox identity (inode, size, mtime) + a hash of this script, so an upgrade of
# busybox-static or an edit of the layout below rebuilds the tarball (copies of the script share).
self=${BASH_SOURCE[0]}
read -r script_hash _ < <(sha256sum "$self")
tarball=$cache_dir/rootfs-$(stat -L -c '%i-%s-%Y' "$busybox")-${script_hash:0:12}.tar

build_tarball() {
  mkdir -p "$cache_dir"
  local tmp
  tmp=$(mktemp -d "$cache_dir/.build.XXXXXX")
  # shellcheck disable=SC2064
  trap "rm -rf '$tmp'" RETURN
  local r=$tmp/rootfs
  mkdir -p "$r"/{bin,etc,proc,sys,dev,tmp,root,home/user,var/tmp,mnt,run}
  chmod 1777 "$r/tmp" "$r/var/tmp"
  chmod 700 "$r/root"
  cp "$busybox" "$r/bin/busybox"
  chmod 755 "$r/bin/busybox"
  local applet
  for applet in $("$busybox" --list); do
    [[ $applet == busybox ]] || ln -s busybox "$r/bin/$applet"
  done
  cat >"$r/etc/passwd" <<'PASSWD'
root:x:0:0:root:/root:/bin/sh
user:x:1000:1000:user:/home/user:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
PASSWD
  cat >"$r/etc/group" <<'GROUP'
root:x:0:
user:x:1000:
nogroup:x:65534:
GROUP
  chown 1000:1000 "$r/home/user"
  tar --numeric-owner -C "$r" -cf "$tmp/rootfs.tar" .
  mv -f "$tmp/rootfs.tar" "$tarball"  # atomic: concurrent callers see a whole tarball or none
  # Drop tarballs of older layouts nobody used for a month.
  find "$cache_dir" -maxdepth 1 -name 'rootfs-*.tar' -atime +30 -delete 2>/dev/null || true
}

[[ -f $tarball ]] || build_tarball

mkdir -p "$dir"
rm -rf "$dir/rootfs" "$dir/config.json"
mkdir "$dir/rootfs"
tar --numeric-owner -C "$dir/rootfs" -xpf "$tarball"

"$runtime" spec --bundle "$dir" >/dev/null
# process.args via --arg: jq 1.6 would parse a positional "-c" as its own option.
jq_args=() list=""
for ((i = 1; i <= $#; i++)); do
  jq_args+=(--arg "a$i" "${!i}")
  list+="${list:+,}\$a$i"
done
jq "${jq_args[@]}" ".process.args = [$list]
     | .process.terminal = false
     | .root.path = \"rootfs\"
     | .root.readonly = false" <"$dir/config.json" >"$dir/config.json.new"
mv "$dir/config.json.new" "$dir/config.json"
