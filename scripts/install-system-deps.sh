#!/usr/bin/env bash
# Install the Debian packages the tests use (real clients, the reference registry), if missing.
set -euo pipefail

packages=(docker-registry skopeo umoci podman buildah apache2-utils docker.io wrk curl)
commands=(docker-registry skopeo umoci podman buildah htpasswd dockerd wrk curl)

missing=()
for i in "${!commands[@]}"; do
  command -v "${commands[$i]}" >/dev/null 2>&1 || missing+=("${packages[$i]}")
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
