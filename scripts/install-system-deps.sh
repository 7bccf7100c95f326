#!/usr/bin/env bash
# Install the Debian packages the tests use (real clients, the reference registry, PostgreSQL,
# Redis and OpenStack Swift servers for throwaway instances), if missing.
set -euo pipefail

packages=(docker-registry skopeo umoci podman buildah apache2-utils docker.io wrk curl postgresql redis-server chromium
  swift-proxy swift-account swift-container swift-object memcached nginx-light valgrind containerd)
# A command on PATH, or a path: Debian keeps PostgreSQL's server programs off PATH.
commands=(docker-registry skopeo umoci podman buildah htpasswd dockerd wrk curl /usr/lib/postgresql/15/bin/initdb redis-server chromium
  swift-proxy-server swift-account-server swift-container-server swift-object-server memcached nginx valgrind ctr)

missing=()
for i in "${!commands[@]}"; do
  probe=${commands[$i]}
  if [[ $probe == /* ]]; then
    [ -x "$probe" ] || missing+=("${packages[$i]}")
  else
    command -v "$probe" >/dev/null 2>&1 || missing+=("${packages[$i]}")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "missing Debian packages: ${missing[*]} (run as root or install them: apt-get install ${missing[*]})" >&2
  exit 1
fi
echo "installing Debian packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends -o DPkg::Lock::Timeout=300 "${missing[@]}" >/dev/null
