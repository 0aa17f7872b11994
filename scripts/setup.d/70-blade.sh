#!/usr/bin/env bash
# The real ChaosBlade CLI for host-mode drills and the `realblade` tests: `blade` 1.8.0 built from
# the source snapshot in ../shared/thirdparty (the Go module proxy refuses the CLI's own module),
# plus `chaos_os` and its spec YAML from chaosblade-exec-os v1.8.0 (a module the proxy serves), and
# the Kubernetes spec YAML from chaosblade-operator v1.8.0: without it `blade create k8s` does not
# exist (blade registers its k8s targets from that file only).
#
# Cached by version outside the clone, so a fresh clone on the same machine (CI) reuses it:
#   ${MQDRILL_TESTBED_CACHE:-$HOME/.cache/mqdrill/testbed}/blade-1.8.0/
#     blade   bin/chaos_os   yaml/chaosblade-os-spec-1.8.0.yaml   yaml/chaosblade-k8s-spec-1.8.0.yaml
#     (blade's layout; data and logs land here too)
# The YAML's version must equal the Ver baked into blade, or every OS target silently vanishes
# from `blade create`; the step checks that `blade create process kill -h` knows `--signal`.
# MQDRILL_BLADE_SOURCE names another copy of the snapshot; builds run under `nice -n 19`.
set -euo pipefail
export PATH="$PATH:/usr/local/go/bin"
version=1.8.0
root="${MQDRILL_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
out="${MQDRILL_TESTBED_CACHE:-$HOME/.cache/mqdrill/testbed}/blade-$version"
stamp="$out/.built-$version"

k8s_spec="yaml/chaosblade-k8s-spec-$version.yaml"
pkg=github.com/chaosblade-io

# The k8s spec is generated from the operator's experiment models (its build/spec.go), in a copy
# of the module: only that module is fetched (its full graph names modules the proxy refuses).
k8s_spec_into() {
  local dest="$1" tmp opdir
  tmp="$(mktemp -d)"
  opdir="$(cd "$tmp" && GOFLAGS=-mod=mod go mod download -json "$pkg/chaosblade-operator@v$version" \
           | sed -n 's/^\s*"Dir": "\(.*\)",$/\1/p')"
  [ -d "$opdir" ] || { echo "70-blade: could not fetch $pkg/chaosblade-operator@v$version" >&2; rm -rf "$tmp"; return 1; }
  cp -r "$opdir" "$tmp/op" && chmod -R u+w "$tmp/op"
  (cd "$tmp/op" && GOFLAGS=-mod=mod nice -n 19 go run -ldflags "-X $pkg/chaosblade-operator/version.Version=$version" \
     build/spec.go "$dest/$k8s_spec") 2>&1 | grep -v "parse java spec failed" || true
  chmod -R u+w "$tmp" 2>/dev/null; rm -rf "$tmp"
  [ -s "$dest/$k8s_spec" ] || { echo "70-blade: generating $k8s_spec failed" >&2; return 1; }
}

if [ -x "$out/blade" ] && [ -x "$out/bin/chaos_os" ] && [ -f "$stamp" ]; then
  if [ ! -s "$out/$k8s_spec" ]; then
    # a cache from before the k8s spec was part of this step: add only the spec (about 1 CPU-minute)
    command -v go >/dev/null || { echo "70-blade: Go missing: apt-get install -y golang-go (Go >= 1.25)" >&2; exit 1; }
    echo "70-blade: adding $k8s_spec to $out"
    k8s_spec_into "$out"
  fi
  echo "70-blade: blade $version present in $out"
  exit 0
fi
command -v go >/dev/null || { echo "70-blade: Go missing: apt-get install -y golang-go (Go >= 1.25)" >&2; exit 1; }

src="${MQDRILL_BLADE_SOURCE:-}"
if [ -z "$src" ]; then
  for candidate in "$root/../shared/thirdparty/chaosblade-v$version" "$root/../../shared/thirdparty/chaosblade-v$version" \
                   "/work/shared/thirdparty/chaosblade-v$version"; do
    if [ -f "$candidate/go.mod" ]; then src="$candidate"; break; fi
  done
fi
if [ -z "$src" ] || [ ! -f "$src/go.mod" ]; then
  echo "70-blade: the chaosblade v$version source snapshot is missing; set MQDRILL_BLADE_SOURCE to a checkout of" \
       "github.com/chaosblade-io/chaosblade at tag v$version" >&2
  exit 1
fi

started=$(date +%s)
work="$(mktemp -d)"
trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT
# The snapshot is read-only input: build in a copy. GOFLAGS=-mod=mod lets go.sum fill itself in.
cp -r "$src" "$work/chaosblade"
ldflags="-s -w -X $pkg/chaosblade/version.Ver=$version"
for exec in chaosblade-exec-os chaosblade-exec-cri chaosblade-exec-jvm chaosblade-operator; do
  ldflags="$ldflags -X $pkg/$exec/version.BladeVersion=$version"
done
stage="$work/out"
mkdir -p "$stage/bin" "$stage/yaml"
echo "70-blade: building blade $version from $src"
(cd "$work/chaosblade" && CGO_ENABLED=0 GOFLAGS=-mod=mod nice -n 19 go build -ldflags "$ldflags" -o "$stage/blade" ./cli)

echo "70-blade: building chaos_os and its spec from $pkg/chaosblade-exec-os@v$version"
osdir="$(cd "$work" && GOFLAGS=-mod=mod go mod download -json "$pkg/chaosblade-exec-os@v$version" \
         | sed -n 's/^\s*"Dir": "\(.*\)",$/\1/p')"
[ -d "$osdir" ] || { echo "70-blade: could not fetch $pkg/chaosblade-exec-os@v$version from the Go module proxy" >&2; exit 1; }
cp -r "$osdir" "$work/exec-os" && chmod -R u+w "$work/exec-os"
osflags="-s -w -X $pkg/chaosblade-exec-os/version.BladeVersion=$version"
(cd "$work/exec-os" && CGO_ENABLED=0 GOFLAGS=-mod=mod nice -n 19 go build -ldflags "$osflags" -o "$stage/bin/chaos_os" main.go)
(cd "$work/exec-os" && GOFLAGS=-mod=mod nice -n 19 go run -ldflags "$osflags" build/spec.go "$stage/yaml/chaosblade-os-spec-$version.yaml")

echo "70-blade: generating $k8s_spec from $pkg/chaosblade-operator@v$version"
k8s_spec_into "$stage"

# The OS targets exist only when the YAML matches blade's Ver: check before caching.
if ! "$stage/blade" create process kill -h 2>&1 | grep -q -- "--signal"; then
  echo "70-blade: the built blade does not list the OS targets (spec YAML and Ver disagree)" >&2
  exit 1
fi
if ! "$stage/blade" create k8s pod-pod delete -h 2>&1 | grep -q -- "--kubeconfig"; then
  echo "70-blade: the built blade does not list the k8s targets ($k8s_spec and Ver disagree)" >&2
  exit 1
fi
mkdir -p "$(dirname "$out")"
rm -rf "$out.new" && mv "$stage" "$out.new"
rm -rf "$out" && mv "$out.new" "$out"
echo "$(( $(date +%s) - started ))s" > "$stamp"
echo "70-blade: blade $version built in $(cat "$stamp") into $out"
