#!/usr/bin/env bash
# Installs shipit on a GitHub Actions runner, for the setup-shipit action (action.yml beside it
# or above it runs this file; `shipit init` writes both from src/init/templates/).
#
#   install-shipit.sh download   the release asset for this runner from the repository named by
#                                INPUT_REPOSITORY (at INPUT_VERSION, or the latest release),
#                                checked against the .sha256 published beside it. When that
#                                release (or its asset for this runner) does not exist, it says
#                                `build=true` and where the source is, and installs nothing.
#   install-shipit.sh build      cargo builds shipit from SHIPIT_SOURCE into SHIPIT_TARGET_DIR
#                                (the action caches both between runs) and installs it.
#
# Either way shipit ends up in $RUNNER_TEMP/shipit/bin, on $GITHUB_PATH, and `version=` goes to
# $GITHUB_OUTPUT. A checksum that does not match stops here: nothing is installed, nothing is
# built instead.
#
# Inputs come from the environment, never from ${{ }} in a script: INPUT_VERSION, INPUT_REPOSITORY,
# GH_TOKEN (read the release; sent in a header file, never in argv), GITHUB_API_URL, RUNNER_OS,
# RUNNER_ARCH, RUNNER_TEMP, GITHUB_ACTION_PATH, GITHUB_PATH, GITHUB_OUTPUT.
set -euo pipefail

fail() {
  echo "::error title=shipit::$1"
  exit 1
}

case "${RUNNER_OS:-}/${RUNNER_ARCH:-}" in
  Linux/X64) target=x86_64-unknown-linux-gnu ;;
  Linux/ARM64) target=aarch64-unknown-linux-gnu ;;
  macOS/X64) target=x86_64-apple-darwin ;;
  macOS/ARM64) target=aarch64-apple-darwin ;;
  *) fail "shipit has no build for ${RUNNER_OS:-?}/${RUNNER_ARCH:-?}" ;;
esac

work="${RUNNER_TEMP:?RUNNER_TEMP is not set}/shipit"
bin="${work}/bin"

# Installs the binary given and says so to the runner.
install_binary() {
  mkdir -p "${bin}"
  install -m 0755 "$1" "${bin}/shipit"
  echo "${bin}" >>"${GITHUB_PATH}"
  local installed
  installed="$("${bin}/shipit" --version)"
  echo "installed ${installed}"
  echo "version=${installed#shipit }" >>"${GITHUB_OUTPUT}"
}

if [[ "${1:-download}" == build ]]; then
  source_dir="${SHIPIT_SOURCE:?SHIPIT_SOURCE is not set}"
  target_dir="${SHIPIT_TARGET_DIR:?SHIPIT_TARGET_DIR is not set}"
  command -v cargo >/dev/null ||
    fail "building shipit from source needs cargo: add a Rust toolchain step before this action, or publish a release"
  echo "building shipit from ${source_dir}"
  cargo build --release --locked --bin shipit --manifest-path "${source_dir}/Cargo.toml" --target-dir "${target_dir}"
  install_binary "${target_dir}/release/shipit"
  exit 0
fi

# Where the release comes from: the input, else the repository this action was fetched from
# (remote actions are checked out under _actions/OWNER/REPO/REF; github.action_repository is not
# promised inside a composite action, actions/runner#2525).
repo="${INPUT_REPOSITORY:-}"
if [[ -z "${repo}" && "${GITHUB_ACTION_PATH:-}" == */_actions/*/*/* ]]; then
  rest="${GITHUB_ACTION_PATH#*/_actions/}"
  repo="$(cut -d/ -f1-2 <<<"${rest}")"
fi
repo="${repo:-${GITHUB_REPOSITORY:-}}"
if [[ ! "${repo}" =~ ^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$ ]]; then
  fail "input repository must look like owner/name (the repository whose releases hold shipit)"
fi

version="${INPUT_VERSION:-latest}"
version="${version#v}"
if [[ "${version}" == latest ]]; then
  release="releases/latest"
elif [[ "${version}" =~ ^[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.]+)?$ ]]; then
  release="releases/tags/v${version}"
else
  fail "input version must be latest or a version such as 0.1.0"
fi

api="${GITHUB_API_URL:-https://api.github.com}"
api="${api%/}"
# Plain HTTP only to this machine (a test's fake release server); anything else must be HTTPS.
if [[ "${api}" == https://* ]]; then
  proto="=https"
elif [[ "${api}" =~ ^http://(127\.0\.0\.1|localhost)(:[0-9]+)?(/|$) ]]; then
  proto="=http"
else
  fail "GITHUB_API_URL must be an https:// URL"
fi

asset="shipit-${target}.tar.xz"
rm -rf "${work}"
mkdir -p "${work}/download"
cd "${work}/download"
headers="${work}/headers"
(
  umask 077
  : >"${headers}"
  if [[ -n "${GH_TOKEN:-}" ]]; then
    printf 'Authorization: Bearer %s\n' "${GH_TOKEN}" >"${headers}"
  fi
)
fetch() { # curl options... URL
  curl --proto "${proto}" --proto-redir "=https" -sS --retry 3 -H "@${headers}" "$@"
}

echo "looking for ${asset} in ${repo} (${release#releases/})"
status="$(fetch -o release.json -w '%{http_code}' -H 'Accept: application/vnd.github+json' \
  "${api}/repos/${repo}/${release}")" || fail "cannot reach ${api} to read the release of ${repo}"

needs_build() {
  rm -f "${headers}"
  local source_dir="${GITHUB_ACTION_PATH:-}"
  if [[ -f "${source_dir}/Cargo.toml" ]] && grep -q '^name = "shipit"$' "${source_dir}/Cargo.toml"; then
    echo "$1: building shipit from its source at ${source_dir}"
    {
      echo "build=true"
      echo "source=${source_dir}"
      echo "target-dir=${RUNNER_TEMP}/shipit-build"
    } >>"${GITHUB_OUTPUT}"
    exit 0
  fi
  fail "$1, and there is no shipit source at ${source_dir:-the action folder} to build from: publish a release with ${asset}, or use the action from shipit's repository (uses: ${repo}@REF), which builds from its source"
}

case "${status}" in
  200) ;;
  404) needs_build "${repo} has no release ${version}" ;;
  *) fail "reading the release ${version} of ${repo} answered HTTP ${status}" ;;
esac

# The API URLs of the archive and its checksum, from the release's asset list.
read -r archive_url checksum_url < <(python3 - "${asset}" <<'PY'
import json, sys
name = sys.argv[1]
assets = {a.get("name"): a.get("url") for a in json.load(open("release.json")).get("assets", [])}
print(assets.get(name) or "-", assets.get(name + ".sha256") or "-")
PY
) || fail "the release ${version} of ${repo} is not a release document"
if [[ "${archive_url}" == - ]]; then
  needs_build "the release ${version} of ${repo} has no ${asset}"
fi
if [[ "${checksum_url}" == - ]]; then
  fail "the release ${version} of ${repo} has ${asset} but no ${asset}.sha256: refusing to install an archive that cannot be checked"
fi
fetch -fL -H 'Accept: application/octet-stream' -o "${asset}" "${archive_url}" || fail "cannot download ${asset}"
fetch -fL -H 'Accept: application/octet-stream' -o "${asset}.sha256" "${checksum_url}" || fail "cannot download ${asset}.sha256"
rm -f "${headers}"

# The archive must match the checksum published next to it; a mismatch stops here.
if command -v sha256sum >/dev/null; then
  check=(sha256sum -c "${asset}.sha256")
else
  check=(shasum -a 256 -c "${asset}.sha256")
fi
if ! "${check[@]}"; then
  rm -f "${asset}"
  fail "the checksum of ${asset} does not match ${asset}.sha256 of ${repo} ${version}: refusing to install it"
fi

tar -xf "${asset}"
echo "build=false" >>"${GITHUB_OUTPUT}"
install_binary "shipit-${target}/shipit"
