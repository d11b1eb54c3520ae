# Shared by mediawiki.sh and dokuwiki.sh (sourced, not run): packages, the
# nginx and php-fpm instances each peer runs for itself, and their pid files.
#
# Each peer has its own state directory (STATE), its own nginx and php-fpm
# processes with their own configuration and pid files under STATE/run, and
# listens on 127.0.0.1 only. The distribution's own nginx and php-fpm
# services are never started or touched.

PHPV=8.2
FPM_BIN=/usr/sbin/php-fpm$PHPV

log() { printf '[%s] %s\n' "$PEER" "$*" >&2; }
die() { printf '[%s] error: %s\n' "$PEER" "$*" >&2; exit 1; }
need_root() { [ "$(id -u)" = 0 ] || die "run as root (it installs packages and runs servers as www-data)"; }

installed_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }

# apt-get install the packages that are missing; waits for a held apt lock.
apt_install() {
  local p missing=()
  for p in "$@"; do installed_pkg "$p" || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  log "apt-get install ${missing[*]}"
  local try
  for try in 1 2 3 4 5 6 7 8 9 10; do
    if DEBIAN_FRONTEND=noninteractive apt-get install -y -q -o DPkg::Lock::Timeout=120 \
        --no-install-recommends "${missing[@]}" >"$STATE_ROOT/apt.log" 2>&1; then
      return 0
    fi
    # An empty or stale package list on a fresh machine: refresh it once.
    if [ "$try" = 1 ]; then apt-get update -q >>"$STATE_ROOT/apt.log" 2>&1 || true; fi
    sleep 5
  done
  die "apt-get install failed; see $STATE_ROOT/apt.log"
}

# nginx and php-fpm first and on their own: php8.2 depends on
# "libapache2-mod-php8.2 | php8.2-fpm | ..." and MediaWiki on "apache2 | httpd";
# with nginx and php-fpm already installed apt pulls in neither apache2 nor mod_php.
install_web_stack() {
  mkdir -p "$STATE_ROOT"
  apt_install nginx "php$PHPV-fpm" "php$PHPV-cli" "php$PHPV-opcache" curl
  php -m | grep -qi '^zend opcache$' || die "PHP's opcache module is missing (php$PHPV-opcache)"
}

# php-fpm pool for this peer: a static pool (no fork churn under load),
# listening on a Unix socket that only nginx uses.
write_fpm_conf() {  # memory_limit
  mkdir -p "$RUN" "$LOG"
  chown www-data:www-data "$LOG"
  cat >"$STATE/php-fpm.conf" <<CONF
; written by bench/peers/$PEER.sh
[global]
pid = $RUN/php-fpm.pid
error_log = $LOG/php-fpm.log
daemonize = yes

[$PEER]
user = www-data
group = www-data
listen = $RUN/php-fpm.sock
listen.owner = www-data
listen.group = www-data
listen.mode = 0660
listen.backlog = 1024
pm = static
pm.max_children = $FPM_CHILDREN
pm.max_requests = 0
catch_workers_output = yes
php_admin_value[memory_limit] = $1
php_admin_flag[log_errors] = on
php_admin_value[error_log] = $LOG/php-error.log
php_admin_flag[display_errors] = off
CONF
}

# nginx for this peer; the server block's locations come from the caller
# (on stdin). No access log and no gzip: neither peer nor Vellum is asked
# to compress, and a log would add disk writes to every view.
write_nginx_conf() {  # docroot index
  mkdir -p "$RUN" "$LOG" "$STATE/nginx/tmp"
  local locations; locations="$(cat)"
  cat >"$STATE/nginx.conf" <<CONF
# written by bench/peers/$PEER.sh
user www-data;
worker_processes auto;
pid $RUN/nginx.pid;
error_log $LOG/nginx-error.log warn;
events { worker_connections 4096; }
http {
  include /etc/nginx/mime.types;
  default_type application/octet-stream;
  access_log off;
  gzip off;
  sendfile on;
  tcp_nopush on;
  keepalive_timeout 65;
  keepalive_requests 1000000;
  client_max_body_size 16m;
  client_body_buffer_size 128k;
  client_body_temp_path $STATE/nginx/tmp/body;
  fastcgi_temp_path $STATE/nginx/tmp/fastcgi;
  proxy_temp_path $STATE/nginx/tmp/proxy;
  uwsgi_temp_path $STATE/nginx/tmp/uwsgi;
  scgi_temp_path $STATE/nginx/tmp/scgi;
  fastcgi_buffers 64 16k;
  fastcgi_buffer_size 32k;
  upstream php_$PEER { server unix:$RUN/php-fpm.sock; }
  server {
    listen 127.0.0.1:$PORT;
    server_name 127.0.0.1 localhost;
    root $1;
    index $2;
$locations
  }
}
CONF
}

pid_alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

# Starts php-fpm (extra -d settings as arguments) and nginx unless running.
start_stack() {
  if pid_alive "$RUN/php-fpm.pid"; then
    log "php-fpm already running (pid $(cat "$RUN/php-fpm.pid"))"
  else
    rm -f "$RUN/php-fpm.sock"
    "$FPM_BIN" -y "$STATE/php-fpm.conf" \
      -d opcache.enable=1 -d opcache.validate_timestamps=0 -d opcache.jit=off \
      -d realpath_cache_size=4096K -d realpath_cache_ttl=600 "$@"
    local _
    for _ in $(seq 100); do pid_alive "$RUN/php-fpm.pid" && [ -S "$RUN/php-fpm.sock" ] && break; sleep 0.1; done
    pid_alive "$RUN/php-fpm.pid" || die "php-fpm did not start; see $LOG/php-fpm.log"
    log "php-fpm started (pid $(cat "$RUN/php-fpm.pid"), $FPM_CHILDREN workers)"
  fi
  if pid_alive "$RUN/nginx.pid"; then
    log "nginx already running (pid $(cat "$RUN/nginx.pid"))"
  else
    nginx -t -q -c "$STATE/nginx.conf" -p "$STATE/nginx/" || die "nginx rejected $STATE/nginx.conf"
    nginx -c "$STATE/nginx.conf" -p "$STATE/nginx/"
    for _ in $(seq 100); do pid_alive "$RUN/nginx.pid" && break; sleep 0.1; done
    pid_alive "$RUN/nginx.pid" || die "nginx did not start; see $LOG/nginx-error.log"
    log "nginx started (pid $(cat "$RUN/nginx.pid")) on 127.0.0.1:$PORT"
  fi
}

wait_answers() {  # url
  local _
  for _ in $(seq 150); do
    curl -fsS -o /dev/null "$1" 2>/dev/null && return 0
    sleep 0.2
  done
  die "$1 does not answer; see $LOG"
}

stop_pidfile() {  # name pidfile
  if pid_alive "$2"; then
    local pid _; pid="$(cat "$2")"
    kill -QUIT "$pid" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then kill -TERM "$pid" 2>/dev/null || true; sleep 0.5; fi
    log "$1 stopped (pid $pid)"
  fi
  rm -f "$2"
}

stop_stack() {
  stop_pidfile nginx "$RUN/nginx.pid"
  stop_pidfile php-fpm "$RUN/php-fpm.pid"
}

status_stack() {
  local n
  for n in nginx php-fpm; do
    if pid_alive "$RUN/$n.pid"; then echo "$n: running (pid $(cat "$RUN/$n.pid"))"; else echo "$n: stopped"; fi
  done
}

# What the benchmark harness reads (`env`): one KEY=VALUE a line.
print_env() {  # version
  printf 'URL=http://127.0.0.1:%s\n' "$PORT"
  printf 'USER=%s\nPASSWORD=%s\n' "$ADMIN_USER" "$ADMIN_PASS"
  printf 'VERSION=%s\n' "$1"
  printf 'PIDFILES=%s %s\n' "$RUN/nginx.pid" "$RUN/php-fpm.pid"
  printf 'FPM_CHILDREN=%s\n' "$FPM_CHILDREN"
  printf 'PHP=%s\n' "$(php -r 'echo PHP_VERSION;' 2>/dev/null || echo unknown)"
  printf 'NGINX=%s\n' "$(dpkg-query -W -f='${Version}' nginx 2>/dev/null || echo unknown)"
}
