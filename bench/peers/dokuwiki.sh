#!/usr/bin/env bash
# DokuWiki (Debian's package, 2022-07-31 "Igor") on nginx + php-fpm 8.2 with
# opcache, flat files with DokuWiki's own render cache, on 127.0.0.1:8082: a
# peer for `vellum-bench --peers`.
#
# Usage (as root): bench/peers/dokuwiki.sh COMMAND
#   install    apt-get install what is missing, make the wiki's own data
#              directory (a copy of Debian's empty one), settings, an admin
#              account, (re)start the servers. Idempotent.
#   reset      stop, put back an empty data directory, start
#   start | stop | restart | status
#   settle     bin/indexer.php: index any page the API left unindexed
#   installed  exit 0 when `install` has been run on this machine
#   env        what the harness reads: URL, USER, PASSWORD, VERSION, PIDFILES
# Environment: DW_PORT (8082), DW_FPM_CHILDREN (8), VELLUM_PEERS_STATE
#   (/var/lib/vellum-peers)
set -euo pipefail

PEER=dokuwiki
PORT="${DW_PORT:-8082}"
FPM_CHILDREN="${DW_FPM_CHILDREN:-8}"
STATE_ROOT="${VELLUM_PEERS_STATE:-/var/lib/vellum-peers}"
STATE="$STATE_ROOT/dokuwiki"
RUN="$STATE/run"
LOG="$STATE/log"
DATA="$STATE/data"
SKELETON=/var/lib/dokuwiki/data   # Debian's empty data directory
DOCROOT=/usr/share/dokuwiki
CONF=/etc/dokuwiki
OUR_CONF="$CONF/local.protected.php"  # read after local.php; the config manager leaves it alone
USERS=/var/lib/dokuwiki/acl/users.auth.php
ACL=/var/lib/dokuwiki/acl/acl.auth.php
ADMIN_USER=vellumbench
ADMIN_PASS="${DW_ADMIN_PASS:-vellum-bench-peer-2026}"
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

configured() { [ -f "$OUR_CONF" ] && grep -q 'bench/peers/dokuwiki.sh' "$OUR_CONF" && [ -d "$DATA/pages" ]; }

install_packages() {
  install_web_stack
  apt_install dokuwiki php-xml php-mbstring php-intl
}

fresh_data() {
  rm -rf "$DATA"
  mkdir -p "$DATA"
  cp -a "$SKELETON/." "$DATA/"
  chown -R www-data:www-data "$DATA"
}

write_settings() {
  cat >"$OUR_CONF" <<PHP
<?php
// Written by bench/peers/dokuwiki.sh.
\$conf['savedir']     = '$DATA';
\$conf['title']       = 'BenchWiki';
\$conf['userewrite']  = 1;      // nice URLs, /area:topic:page (nginx rewrites to doku.php?id=)
\$conf['useslash']    = 0;
\$conf['updatecheck'] = 0;
\$conf['useacl']      = 1;
\$conf['superuser']   = '@admin';
\$conf['remote']      = 1;      // the XML-RPC API, which the harness creates pages through
\$conf['remoteuser']  = '@admin';
\$conf['cachetime']   = 86400;  // the render cache (DokuWiki's default)
\$conf['gzip_output'] = 0;      // like the others: nothing is compressed
\$conf['send404']     = 1;
PHP
  chmod 644 "$OUR_CONF"
  # The benchmark's account, in group admin (DokuWiki's plain-file
  # authentication accepts bcrypt hashes).
  if ! grep -q "^$ADMIN_USER:" "$USERS"; then
    local hash; hash="$(php -r 'echo password_hash($argv[1], PASSWORD_BCRYPT);' "$ADMIN_PASS")"
    printf '%s:%s:Vellum Bench:bench@localhost:admin,user\n' "$ADMIN_USER" "$hash" >>"$USERS"
    log "added the account $ADMIN_USER (group admin)"
  fi
  # Anyone may read; only accounts (group user) edit.
  cat >"$ACL" <<'ACLS'
# Written by bench/peers/dokuwiki.sh: anyone reads, accounts edit.
*	@ALL	1
*	@user	8
ACLS
  chown www-data:www-data "$ACL" "$USERS"
}

write_server_confs() {
  write_fpm_conf 256M
  write_nginx_conf "$DOCROOT" doku.php <<'NGINX'
    location ~ ^/(data|conf|bin|inc|vendor|install\.php)(/|$) { deny all; }
    location ~ ^/lib.*\.(js|css|gif|png|ico|jpg|jpeg|svg)$ { expires 30d; try_files $uri =404; }
    location ~ \.php$ {
      try_files $uri =404;
      include /etc/nginx/fastcgi_params;
      fastcgi_param SCRIPT_FILENAME $document_root$fastcgi_script_name;
      fastcgi_param REDIRECT_STATUS 200;
      fastcgi_pass php_dokuwiki;
    }
    location / { try_files $uri $uri/ @dokuwiki; }
    location @dokuwiki {
      rewrite ^/_media/(.*) /lib/exe/fetch.php?media=$1 last;
      rewrite ^/_detail/(.*) /lib/exe/detail.php?media=$1 last;
      rewrite ^/_export/([^/]+)/(.*) /doku.php?do=export_$1&id=$2 last;
      rewrite ^/(.*) /doku.php?id=$1&$args last;
    }
NGINX
}

start() {
  write_server_confs
  start_stack -d opcache.memory_consumption=128 -d opcache.interned_strings_buffer=16 \
    -d opcache.max_accelerated_files=20000
  wait_answers "http://127.0.0.1:$PORT/wiki:dokuwiki"
  log "DokuWiki answers at http://127.0.0.1:$PORT/wiki:dokuwiki"
}

settle() {
  # After a bulk import through the API some pages are not yet in the
  # search index (measured: with 16 concurrent saves); the indexer adds them.
  runuser -u www-data -- php "$DOCROOT/bin/indexer.php" -q >"$LOG/indexer.log" 2>&1 \
    || die "bin/indexer.php failed; see $LOG/indexer.log"
  log "search index complete"
}

cmd="${1:-}"
case "$cmd" in
  installed) configured ;;
  env) print_env "$(dpkg-query -W -f='${Version}' dokuwiki 2>/dev/null || echo unknown)" ;;
  status) status_stack ;;
  install)
    need_root
    mkdir -p "$STATE_ROOT" "$RUN" "$LOG"
    install_packages
    [ -d "$DATA/pages" ] || fresh_data
    write_settings
    stop_stack # opcache does not look at files again: restart to read the settings
    start ;;
  start) need_root; configured || die "not installed: run $0 install"; start ;;
  stop) need_root; stop_stack ;;
  restart) need_root; stop_stack; start ;;
  reset)
    need_root
    configured || die "not installed: run $0 install"
    stop_stack
    fresh_data
    start ;;
  settle) need_root; settle ;;
  *) sed -n '2,18p' "$0"; exit 2 ;;
esac
