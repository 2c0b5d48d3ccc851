#!/usr/bin/env bats
# image_cli.bats: berth-image import / save / load / mount / rm / gc on a temporary root, and
# interop with skopeo's docker-archive reader and writer.

setup() {
  IT_DIR=$(cd "$(dirname "$BATS_TEST_FILENAME")" && pwd)
  BI=${BERTH_IMAGE_BIN:-$(dirname "${RUNTIME_DEFAULT:-$IT_DIR/../../build/cmd/berth-runtime}")/berth-image}
  [[ -x $BI ]] || skip "berth-image not built"
  [[ $EUID -eq 0 ]] || skip "needs root (overlay mounts)"
  T=$(mktemp -d "${BERTH_IT_TMPDIR:-/tmp}/berth-image-it.XXXXXX")
  "$IT_DIR/make-bundle.sh" "$T/bundle" true >/dev/null 3>&-
  tar -C "$T/bundle/rootfs" -c . >"$T/rootfs.tar"
}

teardown() {
  [[ -n ${T:-} ]] || return 0
  if mountpoint -q "$T/mnt" 2>/dev/null; then umount "$T/mnt"; fi
  rm -rf "$T"
}

@test "import with --change, ls, inspect shows the config" {
  run "$BI" --root "$T/root" import -c 'CMD ["sh","-c","echo hi"]' -c 'ENV A=b' -c 'WORKDIR /tmp' \
    "$T/rootfs.tar" test/busybox:1
  [[ $status -eq 0 ]] || { echo "$output"; false; }
  [[ $output =~ ^sha256:[0-9a-f]{64}$ ]]
  run "$BI" --root "$T/root" ls
  [[ $output == *"test/busybox"*"1"* ]]
  run "$BI" --root "$T/root" inspect test/busybox:1
  [[ $(jq -r '.[0].Config.Cmd | join(" ")' <<<"$output") == "sh -c echo hi" ]]
  [[ $(jq -r '.[0].Config.WorkingDir' <<<"$output") == /tmp ]]
  [[ $(jq -r '.[0].Config.Env[]' <<<"$output") == *"A=b"* ]]
}

@test "save -> skopeo reads it; load into a fresh root; the snapshot mounts" {
  "$BI" --root "$T/root" import "$T/rootfs.tar" test/busybox:1 >/dev/null
  "$BI" --root "$T/root" save -o "$T/save.tar" test/busybox:1
  run skopeo inspect "docker-archive:$T/save.tar"
  [[ $status -eq 0 ]] || { echo "$output"; false; }
  [[ $(jq -r '.Layers | length' <<<"$output") == 1 ]]
  run "$BI" --root "$T/root2" load -i "$T/save.tar"
  [[ $output == "Loaded image: test/busybox:1" ]]
  [[ $("$BI" --root "$T/root" inspect test/busybox:1 | jq -r '.[0].Id') == \
     $("$BI" --root "$T/root2" inspect test/busybox:1 | jq -r '.[0].Id') ]]
  mkdir "$T/mnt"
  "$BI" --root "$T/root2" mount test/busybox:1 "$T/mnt"
  [[ -x $T/mnt/bin/busybox ]]
  "$BI" --root "$T/root2" umount "$T/mnt"
}

@test "load a docker-archive written by skopeo" {
  "$BI" --root "$T/root" import "$T/rootfs.tar" test/busybox:1 >/dev/null
  "$BI" --root "$T/root" save -o "$T/save.tar" test/busybox:1
  skopeo copy -q "docker-archive:$T/save.tar" "oci:$T/layout:x" >/dev/null
  skopeo copy -q "oci:$T/layout:x" "docker-archive:$T/skopeo.tar:other/name:2" >/dev/null
  run "$BI" --root "$T/root3" load -i "$T/skopeo.tar"
  [[ $status -eq 0 ]] || { echo "$output"; false; }
  [[ $output == *"other/name:2"* ]]
  run "$BI" --root "$T/root3" ls
  [[ $output == *"other/name"* ]]
}

@test "rm + gc leave no blobs and no snapshots" {
  "$BI" --root "$T/root" import "$T/rootfs.tar" test/busybox:1 >/dev/null
  run "$BI" --root "$T/root" rm test/busybox:1
  [[ $output == *"Untagged: test/busybox:1"* && $output == *"Deleted: sha256:"* ]]
  "$BI" --root "$T/root" gc >/dev/null
  [[ -z $(ls -A "$T/root/content/blobs/sha256" 2>/dev/null) ]]
  [[ -z $(find "$T/root/snapshots" -mindepth 1 -maxdepth 1 -type d -regex '.*/[0-9]+' 2>/dev/null) ]]
}

@test "load refuses a hostile archive and writes nothing outside its root" {
  mkdir -p "$T/evil"
  printf '[{"Config":"../../x.json","RepoTags":["a:b"],"Layers":["../l.tar"]}]' >"$T/evil/manifest.json"
  tar -C "$T/evil" -cf "$T/evil.tar" manifest.json
  run "$BI" --root "$T/root" load -i "$T/evil.tar"
  [[ $status -ne 0 ]]
  [[ ! -e $T/x.json && ! -e $T/root/../x.json ]]
}
