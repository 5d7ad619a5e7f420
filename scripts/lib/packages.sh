# Sourced by scripts/test, scripts/up and scripts/bench.
#
#   ensure_packages WHO PACKAGE...
#
# Installs those of the Debian PACKAGEs that are missing (apt-get, as root).
# Node.js and npm are left alone when they are on the PATH already (some
# machines ship them outside apt). Debian's postgresql package would create
# and start a cluster of its own (15/main on port 5432); schemad starts
# throwaway clusters instead, so that is switched off before installing.
ensure_packages() {
  local who=$1 p
  shift
  local missing=()
  for p in "$@"; do
    if [[ $p == nodejs || $p == npm ]] && command -v node >/dev/null && command -v npm >/dev/null; then
      continue
    fi
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" != 0 ]; then
    echo "$who: missing Debian packages: ${missing[*]}; run as root or apt-get install them" >&2
    return 1
  fi
  echo "$who: installing ${missing[*]}"
  mkdir -p /etc/postgresql-common/createcluster.d
  echo 'create_main_cluster = false' > /etc/postgresql-common/createcluster.d/50-schemad.conf
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}
