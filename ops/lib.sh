# Shared by the ops scripts: where things are, and how to get what they need on a fresh machine.
# shellcheck shell=bash
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

VERSION=0.1.0-SNAPSHOT
GATEWAY_JAR="$ROOT/gateway/target/gateway-$VERSION-cli.jar"
ENROLEE_JAR="$ROOT/enrolee/target/enrolee-$VERSION-cli.jar"
SOFTHSM_LIB=/usr/lib/softhsm/libsofthsm2.so

log() { printf '%s\n' "ops: $*" >&2; }

# The newest JDK under /usr/lib/jvm runs the build, the tests and the gateway, unless JAVA_HOME
# says otherwise: the code is built for Java 17, and JDK 25 adds the TLS exporter that channel
# binding (tls-exporter, RFC 9266) needs.
if [ -z "${JAVA_HOME:-}" ]; then
  best=0
  for jdk in /usr/lib/jvm/*/; do
    [ -x "$jdk/bin/javac" ] && [ -f "$jdk/release" ] || continue
    major=$(sed -n 's/^JAVA_VERSION="\([0-9]*\).*/\1/p' "$jdk/release")
    if [ -n "$major" ] && [ "$major" -gt "$best" ]; then best=$major; JAVA_HOME=${jdk%/}; fi
  done
  if [ "$best" -gt 0 ]; then export JAVA_HOME; export PATH="$JAVA_HOME/bin:$PATH"; fi
fi

# Installs the Debian packages the gateway, its tests and the demo use, when they are missing.
ensure_packages() {
  local missing=()
  [ -e "$SOFTHSM_LIB" ] && command -v softhsm2-util >/dev/null || missing+=(softhsm2)
  command -v pkcs11-tool >/dev/null || missing+=(opensc)
  command -v openssl >/dev/null || missing+=(openssl)
  command -v curl >/dev/null || missing+=(curl)
  command -v mvn >/dev/null || missing+=(maven)
  command -v java >/dev/null || missing+=(openjdk-17-jdk-headless)
  if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" -ne 0 ]; then
      log "missing packages: ${missing[*]} (run as root, or install them: apt-get install ${missing[*]})"
      exit 1
    fi
    log "installing ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
}

# Builds the two executable jars unless they are newer than every source file.
ensure_built() {
  if [ -f "$GATEWAY_JAR" ] && [ -f "$ENROLEE_JAR" ] \
     && [ -z "$(cd "$ROOT" && find pom.xml policy-engine/pom.xml hsm-adapter/pom.xml gateway/pom.xml enrolee/pom.xml \
               policy-engine/src/main hsm-adapter/src/main gateway/src/main enrolee/src/main \
               -type f -newer "$GATEWAY_JAR" -print -quit)" ]; then
    return
  fi
  log "building (mvn package, tests skipped; ops/test runs them)"
  (cd "$ROOT" && mvn -q -B -Dstyle.color=never -DskipTests -pl gateway,enrolee -am package)
}

# The local SoftHSM2 token under var/: created once, with random PINs in owner-only files.
export SOFTHSM2_CONF="$ROOT/var/softhsm2.conf"
ensure_token() (
  if [ -f "$SOFTHSM2_CONF" ] && softhsm2-util --show-slots 2>/dev/null | grep -q 'Label:.*mef-ca'; then
    return
  fi
  log "creating the SoftHSM2 token 'mef-ca' under var/tokens"
  cd "$ROOT"
  mkdir -p var/tokens var/secrets
  chmod 700 var/secrets
  cat > "$SOFTHSM2_CONF" <<CONF
directories.tokendir = $ROOT/var/tokens
objectstore.backend = file
log.level = ERROR
slots.removable = false
CONF
  umask 077
  openssl rand -hex 16 > var/secrets/hsm-user.pin
  openssl rand -hex 16 > var/secrets/hsm-so.pin
  # softhsm2-util takes PINs only as arguments; this runs once, on a local development token.
  softhsm2-util --init-token --free --label mef-ca \
    --pin "$(cat var/secrets/hsm-user.pin)" --so-pin "$(cat var/secrets/hsm-so.pin)" >/dev/null
)

# The JVM settings of the gateway server ('mefgate serve' from ops/mefgate and ops/run, and the
# gateway of 'ops/bench e2e'), measured in docs/bench/README.md "Memory and startup":
#   -Xms64m -Xmx384m        a bounded heap: the gateway keeps little (the ledger is on disk), and an
#                           unbounded default (1/4 of RAM) lets the heap, so RSS, grow with the machine
#   G1, 20 ms pause goal    pause time over throughput: a device waits on every pause
#   ExitOnOutOfMemoryError  a gateway out of memory stops (its supervisor starts a clean one) rather
#                           than limping on with threads dead
#   AppCDS (JDK 19+)        the classes of a start, archived at the first start's exit next to the jar
#                           and mapped by the following starts (about a second less to ready); the JVM
#                           makes it anew when the jar or the JDK changes; delete it to make it anew
# MEF_JAVA_OPTS is appended: a later option wins (e.g. MEF_JAVA_OPTS=-Xmx1g).
GATEWAY_CDS_ARCHIVE="$ROOT/gateway/target/mefgate-serve.jsa"
gateway_server_opts() {
  local opts=(-Xms64m -Xmx384m -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:+ExitOnOutOfMemoryError)
  # The version of the java that mefgate runs (the one on PATH, which JAVA_HOME need not name).
  local major
  major=$(sed -n 's/^JAVA_VERSION="\([0-9]*\).*/\1/p' "$(dirname "$(dirname "$(readlink -f "$(command -v java)")")")/release" 2>/dev/null || true)
  [ -n "$major" ] || major=$(java -version 2>&1 | sed -n '1s/.*version "\([0-9]*\).*/\1/p')
  if [ "${major:-0}" -ge 19 ]; then
    opts+=(-XX:+AutoCreateSharedArchive "-XX:SharedArchiveFile=$GATEWAY_CDS_ARCHIVE")
  fi
  # shellcheck disable=SC2206 # MEF_JAVA_OPTS is a list of options, split on spaces like JAVA_OPTS
  opts+=(${MEF_JAVA_OPTS:-})
  printf '%s\n' "${opts[@]}"
}

# 'serve' runs with the server settings above, in place of the shell (exec) so that signals reach
# the JVM; the other commands (init, admin ..., --help) are short CLI runs.
mefgate() {
  local arg skip=false
  case " $* " in *" --help "*|*" -h "*) java -jar "$GATEWAY_JAR" "$@"; return ;; esac
  for arg in "$@"; do
    if $skip; then skip=false; continue; fi
    case "$arg" in
      --config) skip=true ;;
      -*) ;;
      serve)
        local opts
        mapfile -t opts < <(gateway_server_opts)
        exec java "${opts[@]}" -jar "$GATEWAY_JAR" "$@" ;;
      *) break ;;
    esac
  done
  java -jar "$GATEWAY_JAR" "$@"
}
enrolee() { java -jar "$ENROLEE_JAR" "$@"; }
