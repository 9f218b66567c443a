#!/usr/bin/env bash
# tandem's one entry point for people and CI.
#   ./build.sh               install what is missing, type-check, bundle into dist/tandem.js
#   ./build.sh check          format, lint (Biome), layer rules (dependency-cruiser), dead code (knip)
#   ./build.sh test [FILTER]  build and check, then run the uvu suite (network tests need root)
#   ./build.sh lab [ARGS]     build, then run `tandem lab` (root): the failover demo
#   ./build.sh bench [ARGS]   build, then run the benchmarks in bench/
#   ./build.sh bundle | keygen | image --board FILE   OTA bundle, signing keys, appliance image
set -euo pipefail
cd "$(dirname "$0")"

# Debian packages the build and the tests use. libpcap-dev builds the pcap addon; the rest are the
# interop peers (keepalived, FRR, ucarp), the broker and the wire checkers the tests drive
# (tshark; python3-scapy decodes HSRP); prometheus (and curl for its HTTP API) scrapes the metrics
# test's lab; snmpd and snmp (snmpwalk) are the SNMP test's AgentX master and client;
# conntrackd and conntrack replicate connection tracking (state_sync); nftables and libnftables1
# carry accept_mode and the cluster data path (drivers/linux/nftables.ts loads libnftables.so.1);
# gcc (cc) builds the stand-in BSD libc of test/unit/driver-bsd-koffi-symbols.test.ts; rt-tests
# (cyclictest) measures the host's own wake-up latency during the bench soak.
APT_PACKAGES=(libpcap-dev iproute2 keepalived frr ucarp tshark tcpdump mosquitto mosquitto-clients
              openssl stress-ng rt-tests libcap2-bin util-linux python3 python3-scapy make g++ prometheus curl
              snmpd snmp conntrackd conntrack nftables libnftables1 gcc)

log() { printf '[build] %s\n' "$*" >&2; }

install_apt() {
  local missing=()
  for p in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" -ne 0 ]; then
    log "missing Debian packages: ${missing[*]} (run as root to install them)"
    return 0
  fi
  log "installing ${missing[*]}"
  echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
  DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
}

install_npm() {
  if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    log "npm ci"
    npm ci --no-audit --no-fund >/dev/null
  fi
}

build() {
  install_apt
  install_npm
  log "type-check"
  npx tsc --noEmit -p .
  log "bundle"
  rm -f dist/*.js dist/*.js.map   # code-split chunks of an older build (dist/keys stays)
  npx tsup --silent
  chmod +x dist/tandem.js
}

# The formatter, the linter and the layer rules (.dependency-cruiser.cjs, docs/architecture.md).
check() {
  log "format and lint (biome)"
  npx biome ci --reporter=summary .
  log "layers (dependency-cruiser)"
  npx depcruise --config .dependency-cruiser.cjs --output-type err firmware drivers ota lab
  # knip.json: no unused file, export or dependency; exported types stay (module interfaces), and
  # an export kept on purpose for use on a box says so with a @public tag.
  log "dead code (knip)"
  npx knip --no-progress
}

cmd="${1:-build}"
[ $# -gt 0 ] && shift
case "$cmd" in
  build) build ;;
  check) build; check ;;
  test)  build; check; exec node --import tsx test/run.ts "$@" ;;
  lab)   build; exec node --import tsx lab/cli.ts "$@" ;;
  bench) build; exec node --import tsx bench/run.ts "$@" ;;
  bundle|keygen|image) build; exec node --import tsx ota/build-cli.ts "$cmd" "$@" ;;
  *) echo "usage: ./build.sh [build|check|test [FILTER]|lab|bench|bundle|keygen|image]" >&2; exit 2 ;;
esac
