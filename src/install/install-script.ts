import { shellQuote } from "../domain/shell-words.js";

/**
 * The agent installer served at GET /install.sh (POSIX sh):
 *
 *     curl -fsSL https://HOST/install.sh | sudo sh -s -- --token TOKEN
 *
 * Pure: the control plane renders it with its own URL and the SHA-256 of the agent
 * bundle it serves, which the script checks before installing anything. The whole
 * body is one function called on the last line, so a truncated download runs nothing.
 * The join token is never printed; it lives only in an env file of mode 0600.
 */

/** The image the agent runs in on hosts without Node.js ≥ 20 (`--image` changes it). */
export const defaultAgentImage = "node:20-alpine";

export interface InstallScriptParams {
  /** The control plane's URL: where the bundle is downloaded from and the agent joins. */
  url: string;
  /** Hex SHA-256 of the bundle at `${url}/v1/agent/bundle`. */
  bundleSha256: string;
  image?: string;
}

export function renderInstallScript(params: InstallScriptParams): string {
  if (!/^[0-9a-f]{64}$/.test(params.bundleSha256)) throw new Error("bundleSha256 must be 64 hex digits");
  const url = shellQuote(params.url.replace(/\/+$/, ""));
  // For comments: printable ASCII only, so that no value can end a comment line.
  const shownUrl = params.url.replace(/\/+$/, "").replace(/[^\x20-\x7e]/g, "");
  const image = shellQuote(params.image ?? defaultAgentImage);
  // Shell expansions are written \${…} here so that the template literal leaves them alone.
  return `#!/bin/sh
# Installs the shoal agent on this Docker host, from the control plane at ${shownUrl}.
#
#   curl -fsSL ${shownUrl}/install.sh | sudo sh -s -- --token TOKEN
#
# The join token (GET /v1/swarm/join-tokens) may instead be given as SHOAL_JOIN_TOKEN.
# Run it again to upgrade (the agent restarts only if something changed);
# --uninstall removes everything it installed. --help lists the options.
# It also installs the shoal-agent command (shoal-agent leave [-f] leaves the cluster).
# Everything is in one function, called on the last line with a closing marker that it
# checks: a truncated download runs nothing.

_shoal_install() {
  set -eu
  url=${url}
  bundle_sha256=${params.bundleSha256}
  image=${image}
  token=\${SHOAL_JOIN_TOKEN:-}
  docker_socket=/var/run/docker.sock
  addr=
  machine_id=
  runtime=auto
  prefix=
  insecure=0
  uninstall=0
  stage=
  complete=0

  say() { printf 'shoal-agent: %s\\n' "$*"; }
  die() { printf 'shoal-agent: error: %s\\n' "$*" >&2; exit 1; }
  need() { [ "$2" -ge 2 ] && [ "$3" != --end-of-script ] || die "$1 needs a value"; }
  usage() {
    cat <<'USAGE'
Usage: install.sh [--token TOKEN] [options]     (or SHOAL_JOIN_TOKEN=TOKEN)

  --token TOKEN          the worker or manager join token (kept from the last install when omitted)
  --url URL              the control plane (default: the one that served this script)
  --docker-socket PATH   the Docker Engine socket (default /var/run/docker.sock)
  --addr IP              the address other hosts reach this one at (default: the agent's guess)
  --machine-id ID        this machine's stable id (default /etc/machine-id)
  --runtime MODE         node (this host's Node.js >= 20), container (a Node image on Docker) or auto
  --image IMAGE          the image for --runtime container (default node:20-alpine)
  --prefix DIR           install under DIR instead of /, run without systemd (for tests)
  --insecure             allow a plain http:// control plane URL (loopback always is)
  --uninstall            stop the agent and remove everything this script installed
  --stage DIR            download and check the agent, write the files it would install to DIR, stop there
USAGE
  }

  while [ $# -gt 0 ]; do
    case $1 in
      --token) need "$1" $# "\${2:-}"; token=$2; shift 2 ;;
      --url) need "$1" $# "\${2:-}"; url=$2; shift 2 ;;
      --docker-socket) need "$1" $# "\${2:-}"; docker_socket=$2; shift 2 ;;
      --addr) need "$1" $# "\${2:-}"; addr=$2; shift 2 ;;
      --machine-id) need "$1" $# "\${2:-}"; machine_id=$2; shift 2 ;;
      --runtime) need "$1" $# "\${2:-}"; runtime=$2; shift 2 ;;
      --image) need "$1" $# "\${2:-}"; image=$2; shift 2 ;;
      --prefix) need "$1" $# "\${2:-}"; prefix=\${2%/}; shift 2 ;;
      --insecure) insecure=1; shift ;;
      --uninstall) uninstall=1; shift ;;
      --stage) need "$1" $# "\${2:-}"; stage=$2; shift 2 ;;
      --end-of-script) [ $# -eq 1 ] || die "--end-of-script is not an option"; complete=1; shift ;;
      -h|--help) usage; return 0 ;;
      *) die "unknown option $1 (see --help)" ;;
    esac
  done
  [ "$complete" = 1 ] || die "this script is incomplete (a truncated download?); nothing was done"
  case $runtime in auto|node|container) ;; *) die "--runtime must be auto, node or container" ;; esac

  bin_dir=$prefix/opt/shoal-agent
  etc_dir=$prefix/etc/shoal-agent
  state_dir=$prefix/var/lib/shoal-agent
  env_file=$etc_dir/agent.env
  unit_file=$prefix/etc/systemd/system/shoal-agent.service
  cli_file=$prefix/usr/local/bin/shoal-agent
  pid_file=$prefix/run/shoal-agent.pid
  log_file=$prefix/var/log/shoal-agent.log
  container=shoal-agent

  if [ -z "$prefix" ] && [ -z "$stage" ] && [ "$(id -u)" != 0 ]; then die "run it as root: curl -fsSL URL/install.sh | sudo sh -s -- --token TOKEN"; fi
  if [ -z "$prefix" ] && [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then manager=systemd; else manager=supervisor; fi

  supervisor_pid() {
    [ -f "$pid_file" ] || return 1
    pid=$(cat "$pid_file")
    kill -0 "$pid" 2>/dev/null || return 1
    # Not some other process that got the pid since.
    if [ -r "/proc/$pid/cmdline" ]; then grep -q "$bin_dir/supervise" "/proc/$pid/cmdline" || return 1; fi
    echo "$pid"
  }
  stop_supervisor() {
    if pid=$(supervisor_pid); then
      kill -TERM "$pid"
      i=0
      while kill -0 "$pid" 2>/dev/null && [ $i -lt 60 ]; do sleep 1; i=$((i + 1)); done
    fi
    rm -f "$pid_file"
  }
  start_supervisor() {
    mkdir -p "$(dirname "$pid_file")" "$(dirname "$log_file")"
    if command -v setsid >/dev/null 2>&1; then
      setsid "$bin_dir/supervise" >>"$log_file" 2>&1 </dev/null &
    else
      nohup "$bin_dir/supervise" >>"$log_file" 2>&1 </dev/null &
    fi
    echo $! >"$pid_file"
  }

  if [ "$uninstall" = 1 ]; then
    if [ -f "$unit_file" ]; then
      systemctl disable --now shoal-agent.service >/dev/null 2>&1 || :
      rm -f "$unit_file"
      systemctl daemon-reload >/dev/null 2>&1 || :
    fi
    stop_supervisor
    if grep -q '^SHOAL_RUNTIME=container' "$env_file" 2>/dev/null && command -v docker >/dev/null 2>&1; then
      docker -H "unix://$docker_socket" rm -f "$container" >/dev/null 2>&1 || :
    fi
    rm -rf "$bin_dir" "$etc_dir" "$state_dir" "$log_file" "$cli_file"
    say "removed. Containers of its tasks keep running; remove the node on the control plane (DELETE /v1/nodes/ID)."
    return 0
  fi

  url=\${url%/}
  hostport=\${url#*://}
  host=\${hostport%%[:/]*}
  case \${hostport%%/*} in *@*) die "refusing $url: user info (user@host) in the control plane URL is not supported" ;; esac
  case $hostport in \\[::1\\]|\\[::1\\]:*|\\[::1\\]/*) host=::1 ;; esac
  loopback=0
  case $host in
    localhost|::1) loopback=1 ;;
    127.*) case $host in *[!0-9.]*) ;; *) loopback=1 ;; esac ;;
  esac
  case $url in
    https://*) proto='=https' ;;
    http://*)
      [ "$loopback" = 1 ] || [ "$insecure" = 1 ] || die "refusing $url: not https (pass --insecure to allow plain http)"
      proto='=http,https' ;;
    *) die "the control plane URL must start with https:// (got $url)" ;;
  esac

  if [ -z "$token" ]; then token=$(sed -n 's/^SHOAL_JOIN_TOKEN=//p' "$env_file" 2>/dev/null || :); fi
  [ -n "$token" ] || die "give the join token (GET /v1/swarm/join-tokens): --token TOKEN, or SHOAL_JOIN_TOKEN in the environment"
  # The env file is read by systemd, docker --env-file and sh alike: only characters all three take as they are.
  # The image also goes into the unit's and the supervisor's command lines.
  for value in "$url" "$token" "$docker_socket" "$addr" "$machine_id" "$prefix" "$image"; do
    case $value in *[!]A-Za-z0-9_./:@%+=,[-]*) die "unexpected characters in an option value (a token, URL, path or id)" ;; esac
  done

  node_bin=
  if [ "$runtime" != container ]; then
    if node_bin=$(command -v node 2>/dev/null) && "$node_bin" -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 20 ? 0 : 1)' 2>/dev/null; then
      runtime=node
    elif [ "$runtime" = node ]; then
      die "--runtime node needs Node.js 20 or later on this host"
    else
      runtime=container
    fi
  fi
  docker_bin=
  if [ "$runtime" = container ]; then
    docker_bin=$(command -v docker 2>/dev/null) || die "this host has neither Node.js >= 20 nor the docker CLI"
  fi

  fetch() {
    if command -v curl >/dev/null 2>&1; then curl -fsSL --proto "$proto" --proto-redir "$proto" -o "$2" "$1"
    elif command -v wget >/dev/null 2>&1; then wget -q -O "$2" "$1"
    else die "needs curl or wget"; fi
  }
  sha256() {
    if command -v sha256sum >/dev/null 2>&1; then sha256sum "$1" | cut -d ' ' -f 1
    elif command -v shasum >/dev/null 2>&1; then shasum -a 256 "$1" | cut -d ' ' -f 1
    elif command -v openssl >/dev/null 2>&1; then openssl dgst -sha256 -r "$1" | cut -d ' ' -f 1
    else die "needs sha256sum, shasum or openssl to check the download"; fi
  }

  umask 077
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  fetch "$url/v1/agent/bundle" "$tmp/shoal-agent.mjs" || die "could not download the agent from $url/v1/agent/bundle"
  got=$(sha256 "$tmp/shoal-agent.mjs")
  [ "$got" = "$bundle_sha256" ] || die "the downloaded agent's SHA-256 is $got, not $bundle_sha256: refusing to install it"

  # What to run, as seen from where it runs (this host, or the container).
  if [ "$runtime" = node ]; then
    agent_socket=$docker_socket
    agent_state=$state_dir
    agent_cli="$node_bin $bin_dir/shoal-agent.mjs"
    command="$agent_cli run"
  else
    agent_socket=/var/run/docker.sock
    agent_state=/var/lib/shoal-agent
    machine_mount=
    if [ -z "$machine_id" ] && [ -r /etc/machine-id ]; then machine_mount="-v /etc/machine-id:/etc/machine-id:ro"; fi
    # Tasks' secrets: a tmpfs directory of this host, at the same path inside (the engine bind-mounts it from there).
    secrets_dir=/dev/shm/shoal-agent/secrets
    if [ "$(stat -f -c %T /run 2>/dev/null)" = tmpfs ]; then secrets_dir=/run/shoal-agent/secrets; fi
    container_args="--network host --env-file $env_file -v $docker_socket:/var/run/docker.sock -v $bin_dir:/opt/shoal-agent:ro -v $state_dir:/var/lib/shoal-agent -v $secrets_dir:$secrets_dir $machine_mount $image node /opt/shoal-agent/shoal-agent.mjs"
    command="$docker_bin -H unix://$docker_socket run --rm --name $container $container_args run"
    agent_cli="$docker_bin -H unix://$docker_socket run --rm $container_args"
  fi
  {
    echo "SHOAL_RUNTIME=$runtime"
    echo "SHOAL_URL=$url"
    echo "SHOAL_JOIN_TOKEN=$token"
    echo "SHOAL_AGENT_STATE_DIR=$agent_state"
    echo "DOCKER_SOCKET=$agent_socket"
    if [ -n "$addr" ]; then echo "SHOAL_AGENT_ADDR=$addr"; fi
    if [ -n "$machine_id" ]; then echo "SHOAL_MACHINE_ID=$machine_id"; fi
    if [ "$runtime" = container ]; then echo "SHOAL_AGENT_SECRETS_DIR=$secrets_dir"; fi
  } >"$tmp/agent.env"

  {
    echo "[Unit]"
    echo "Description=shoal agent: runs this Docker host's tasks"
    echo "Documentation=$url/docs"
    echo "After=network-online.target docker.service"
    echo "Wants=network-online.target"
    echo ""
    echo "[Service]"
    echo "Type=simple"
    echo "EnvironmentFile=$env_file"
    if [ "$runtime" = container ]; then echo "ExecStartPre=-$docker_bin -H unix://$docker_socket rm -f $container"; fi
    echo "ExecStart=$command"
    echo "Restart=on-failure"
    echo "RestartSec=5"
    echo "TimeoutStopSec=30"
    echo ""
    echo "[Install]"
    echo "WantedBy=multi-user.target"
  } >"$tmp/shoal-agent.service"
  {
    echo "#!/bin/sh"
    echo "# Written by shoal's install.sh: runs the agent, restarts it when it fails (systemd's Restart=on-failure), stops it on TERM."
    echo "set -a; . $env_file; set +a"
    if [ "$runtime" = container ]; then echo "$docker_bin -H unix://$docker_socket rm -f $container >/dev/null 2>&1"; fi
    echo 'child='
    echo 'trap '"'"'if [ -n "$child" ]; then kill -TERM "$child" 2>/dev/null; wait "$child"; fi; exit 0'"'"' TERM INT'
    echo 'delay=1'
    echo 'while :; do'
    echo '  started=$(date +%s)'
    echo "  $command &"
    echo '  child=$!'
    echo '  if wait "$child"; then exit 0; fi'
    echo '  child='
    echo '  if [ $(($(date +%s) - started)) -ge 60 ]; then delay=1; fi'
    echo '  echo "shoal-agent exited with an error; restarting in $delay s" >&2'
    echo '  sleep "$delay" & child=$!; wait "$child" || :; child='
    echo '  if [ "$delay" -lt 30 ]; then delay=$((delay * 2)); fi'
    echo 'done'
  } >"$tmp/supervise"
  {
    echo "#!/bin/sh"
    echo "# Written by shoal's install.sh: the agent's own commands with the installed settings (shoal-agent leave [-f])."
    echo "set -a; . $env_file; set +a"
    echo "exec $agent_cli"' "$@"'
  } >"$tmp/shoal-agent"
  if [ -n "$stage" ]; then
    mkdir -p "$stage"
    cp "$tmp/shoal-agent.mjs" "$tmp/agent.env" "$tmp/shoal-agent.service" "$tmp/supervise" "$tmp/shoal-agent" "$stage/"
    say "staged in $stage ($runtime runtime); nothing installed"
    return 0
  fi

  changed=0
  put() { # staged file, destination, mode
    if ! cmp -s "$1" "$2"; then
      mkdir -p "$(dirname "$2")"
      cp "$1" "$2.new"
      chmod "$3" "$2.new"
      mv -f "$2.new" "$2"
      changed=1
    fi
  }
  mkdir -p "$state_dir"
  chmod 700 "$state_dir"
  put "$tmp/shoal-agent.mjs" "$bin_dir/shoal-agent.mjs" 644
  put "$tmp/agent.env" "$env_file" 600
  chmod 700 "$etc_dir"
  if [ "$manager" = systemd ]; then put "$tmp/shoal-agent.service" "$unit_file" 644; else put "$tmp/supervise" "$bin_dir/supervise" 755; fi
  cli_changed=$changed
  put "$tmp/shoal-agent" "$cli_file" 755
  changed=$cli_changed
  if [ "$runtime" = container ] && ! "$docker_bin" -H "unix://$docker_socket" image inspect "$image" >/dev/null 2>&1; then
    "$docker_bin" -H "unix://$docker_socket" pull "$image" >/dev/null || die "could not pull $image"
  fi

  how="$runtime runtime, $manager"
  if [ "$manager" = systemd ]; then
    systemctl daemon-reload
    systemctl enable shoal-agent.service >/dev/null 2>&1
    if [ "$changed" = 1 ]; then
      systemctl restart shoal-agent.service
      say "installed and started ($how; systemctl status shoal-agent)"
    elif systemctl is-active --quiet shoal-agent.service; then
      say "up to date and running ($how)"
    else
      systemctl start shoal-agent.service
      say "up to date; started ($how)"
    fi
  else
    if supervisor_pid >/dev/null; then
      if [ "$changed" = 1 ]; then
        stop_supervisor
        start_supervisor
        say "upgraded and restarted ($how; log: $log_file)"
      else
        say "up to date and running ($how)"
      fi
    else
      start_supervisor
      say "installed and started ($how; log: $log_file)"
    fi
  fi
}

_shoal_install "$@" --end-of-script
`;
}
