#!/usr/bin/env bash
# MediaWiki (Debian's package, 1.39) on nginx + php-fpm 8.2 with opcache and
# APCu (object, parser, message and session caches), SQLite in WAL mode, on
# 127.0.0.1:8081: a peer for `vellum-bench --peers`.
#
# Usage (as root): bench/peers/mediawiki.sh COMMAND
#   install    apt-get install what is missing, install the wiki once
#              (maintenance/install.php), keep a copy of the empty wiki, write
#              the settings, (re)start the servers. Idempotent.
#   reset      stop, put back the empty wiki, start (APCu starts empty too)
#   start | stop | restart | status
#   settle     run the job queue until it is empty, then SQLite's ANALYZE:
#              what an administrator runs after a bulk import
#   installed  exit 0 when `install` has been run on this machine
#   env        what the harness reads: URL, USER, PASSWORD, VERSION, PIDFILES
# Environment: MW_PORT (8081), MW_FPM_CHILDREN (8), VELLUM_PEERS_STATE
#   (/var/lib/vellum-peers), MW_SYNTAXHIGHLIGHT (1; 0: no SyntaxHighlight
#   extension, and the harness sends code blocks as <pre>; applies at install)
set -euo pipefail

PEER=mediawiki
PORT="${MW_PORT:-8081}"
FPM_CHILDREN="${MW_FPM_CHILDREN:-8}"
HIGHLIGHT="${MW_SYNTAXHIGHLIGHT:-1}"
STATE_ROOT="${VELLUM_PEERS_STATE:-/var/lib/vellum-peers}"
STATE="$STATE_ROOT/mediawiki"
RUN="$STATE/run"
LOG="$STATE/log"
DATA="$STATE/data"          # the SQLite databases
PRISTINE="$STATE/pristine"  # the same, right after install: `reset` copies it back
IP_DIR=/usr/share/mediawiki # the code ($IP)
DOCROOT=/var/lib/mediawiki  # Debian's web root (links into $IP)
CONF_DIR=/etc/mediawiki     # Debian: $IP/LocalSettings.php -> /etc/mediawiki/LocalSettings.php
LOCALSETTINGS="$CONF_DIR/LocalSettings.php"
OUR_SETTINGS="$CONF_DIR/VellumBenchSettings.php"
ADMIN_USER=Admin
ADMIN_PASS="${MW_ADMIN_PASS:-vellum-bench-peer-2026}"
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

configured() { [ -f "$LOCALSETTINGS" ] && grep -q 'VellumBenchSettings.php' "$LOCALSETTINGS" && [ -d "$PRISTINE" ]; }

install_packages() {
  install_web_stack
  apt_install mediawiki php-apcu php-sqlite3 php-intl php-mbstring php-xml sqlite3 python3-pygments
  php -m | grep -qi '^apcu$' || die "PHP's APCu module is missing (php-apcu)"
}

run_installer() {
  log "installing the wiki (maintenance/install.php, SQLite)"
  stop_stack
  rm -f "$LOCALSETTINGS" "$OUR_SETTINGS"
  rm -rf "$DATA" "$PRISTINE" "$STATE/cache"
  mkdir -p "$DATA" "$STATE/cache"
  chown www-data:www-data "$DATA" "$STATE/cache"
  (cd "$IP_DIR" && php maintenance/install.php --quiet \
    --dbtype=sqlite --dbpath="$DATA" --dbname=wikidb \
    --server="http://127.0.0.1:$PORT" --scriptpath="" --lang=en --skins=Vector \
    --pass="$ADMIN_PASS" --confpath="$CONF_DIR" BenchWiki "$ADMIN_USER") >"$LOG/install.log" 2>&1 \
    || die "install.php failed; see $LOG/install.log"
  chown -R www-data:www-data "$DATA" "$STATE/cache"
  # install.php leaves the main database in rollback-journal mode, where a
  # write blocks every reader; an administrator running MediaWiki on SQLite
  # switches it (and the object cache) to WAL once.
  local db
  for db in "$DATA/wikidb.sqlite" "$DATA/wikidb_l10n_cache.sqlite" "$DATA/wikicache.sqlite" "$DATA/wikidb_jobqueue.sqlite"; do
    [ -f "$db" ] && runuser -u www-data -- sqlite3 "$db" 'PRAGMA journal_mode=WAL;' >/dev/null
  done
  printf '\n# vellum-bench peer settings\nrequire_once "%s";\n' "$OUR_SETTINGS" >>"$LOCALSETTINGS"
}

write_settings() {
  cat >"$OUR_SETTINGS" <<PHP
<?php
# Written by bench/peers/mediawiki.sh: what the administrator of a one-server
# wiki sets (the caches MediaWiki's performance guide recommends). Loaded
# from LocalSettings.php.
\$wgServer = "http://127.0.0.1:$PORT";
\$wgCanonicalServer = "http://127.0.0.1:$PORT";
\$wgScriptPath = "";
\$wgArticlePath = "/wiki/\$1";
\$wgUsePathInfo = true;

# APCu, shared by the php-fpm workers of the pool, for every object cache.
\$wgMainCacheType = CACHE_ACCEL;
\$wgParserCacheType = CACHE_ACCEL;
\$wgMessageCacheType = CACHE_ACCEL;
\$wgSessionCacheType = CACHE_ACCEL;
\$wgUseLocalMessageCache = true;
\$wgEnableSidebarCache = true;
# The localisation cache as PHP arrays, which opcache keeps in memory.
\$wgCacheDirectory = "$STATE/cache";
\$wgLocalisationCacheConf['store'] = 'array';
\$wgLocalisationCacheConf['manualRecache'] = true;
# Every view runs PHP: no HTML file cache and no CDN in front (those would
# measure the cache, not the wiki; Vellum has neither either).
\$wgUseFileCache = false;

PHP
  # Code blocks highlighted, as on the other two wikis, by the extension
  # Debian ships, which runs pygmentize (python3-pygments) once per block
  # and keeps the result in the object cache. MW_SYNTAXHIGHLIGHT=0 leaves it
  # out (the harness then sends code blocks as <pre>).
  if [ "$HIGHLIGHT" = 1 ]; then
    cat >>"$OUR_SETTINGS" <<'PHP'
wfLoadExtension('SyntaxHighlight_GeSHi');
$wgPygmentizePath = '/usr/bin/pygmentize';
PHP
  fi
  cat >>"$OUR_SETTINGS" <<PHP

# Jobs run out of band (\`mediawiki.sh settle\`), not at the end of page views.
\$wgJobRunRate = 0;
\$wgEnableUploads = false;
\$wgShowExceptionDetails = false;
\$wgDebugLogFile = false;

# Anyone may read (the benchmark's views are anonymous); only accounts edit.
\$wgGroupPermissions['*']['read'] = true;
\$wgGroupPermissions['*']['edit'] = false;
\$wgGroupPermissions['*']['createaccount'] = false;
PHP
  chmod 644 "$LOCALSETTINGS" "$OUR_SETTINGS"
  log "building the localisation cache (en)"
  runuser -u www-data -- php "$IP_DIR/maintenance/rebuildLocalisationCache.php" --lang=en --quiet >"$LOG/l10n.log" 2>&1 \
    || die "rebuildLocalisationCache.php failed; see $LOG/l10n.log"
}

write_server_confs() {
  write_fpm_conf 512M
  write_nginx_conf "$DOCROOT" index.php <<'NGINX'
    location ~ ^/(index|api|load|rest|opensearch_desc)\.php(/|$) {
      fastcgi_split_path_info ^(.+?\.php)(/.*)$;
      include /etc/nginx/fastcgi_params;
      fastcgi_param SCRIPT_FILENAME $document_root$fastcgi_script_name;
      fastcgi_param PATH_INFO $fastcgi_path_info;
      fastcgi_pass php_mediawiki;
    }
    location ~ \.php$ { return 404; }
    # Short URLs, /wiki/Title (MediaWiki reads the title from REQUEST_URI).
    location /wiki/ { rewrite ^/wiki/ /index.php last; }
    location = / { return 301 /wiki/Main_Page; }
    location ~ ^/(cache|includes|maintenance|languages|serialized|tests|vendor|config|data|mw-config)/ { deny all; }
    location ~ ^/(resources|skins|extensions)/ { expires 30d; try_files $uri =404; }
    location / { try_files $uri =404; }
NGINX
}

start() {
  write_server_confs
  start_stack -d opcache.memory_consumption=256 -d opcache.interned_strings_buffer=32 \
    -d opcache.max_accelerated_files=40000 -d apc.enabled=1 -d apc.shm_size=512M -d apc.ttl=0
  wait_answers "http://127.0.0.1:$PORT/api.php?action=query&meta=siteinfo&format=json"
  log "MediaWiki answers at http://127.0.0.1:$PORT/wiki/Main_Page"
}

jobs_left() { runuser -u www-data -- php "$IP_DIR/maintenance/showJobs.php" 2>/dev/null | tail -1 | tr -dc 0-9; }

settle() {
  # MediaWiki 1.39's SQLite job queue runs out of file descriptors in a long
  # runJobs.php ("Too many open files" after about 100 jobs): batches of 50.
  local left _; left="$(jobs_left)"
  log "running the job queue (${left:-0} jobs)"
  for _ in $(seq 2000); do
    [ "${left:-0}" -gt 0 ] || break
    runuser -u www-data -- php "$IP_DIR/maintenance/runJobs.php" --maxjobs 50 --memory-limit=512M >>"$LOG/jobs.log" 2>&1 || true
    left="$(jobs_left)"
  done
  # Without fresh statistics SQLite plans some of MediaWiki's queries as scans.
  runuser -u www-data -- sqlite3 "$DATA/wikidb.sqlite" 'ANALYZE;'
  log "job queue empty; statistics refreshed"
}

cmd="${1:-}"
case "$cmd" in
  installed) configured ;;
  env)
    print_env "$(dpkg-query -W -f='${Version}' mediawiki 2>/dev/null || echo unknown)"
    # What the settings say now (the last install), not the environment.
    if grep -q "^wfLoadExtension('SyntaxHighlight_GeSHi')" "$OUR_SETTINGS" 2>/dev/null; then echo HIGHLIGHT=1; else echo HIGHLIGHT=0; fi ;;
  status) status_stack ;;
  install)
    need_root
    mkdir -p "$STATE_ROOT" "$RUN" "$LOG"
    install_packages
    configured || run_installer
    write_settings
    if [ ! -d "$PRISTINE" ]; then cp -a "$DATA" "$PRISTINE"; fi
    stop_stack # opcache does not look at files again: restart to read the settings
    start ;;
  start) need_root; configured || die "not installed: run $0 install"; start ;;
  stop) need_root; stop_stack ;;
  restart) need_root; stop_stack; start ;;
  reset)
    need_root
    configured || die "not installed: run $0 install"
    stop_stack
    rm -rf "$DATA"
    cp -a "$PRISTINE" "$DATA"
    start ;;
  settle) need_root; settle ;;
  *) sed -n '2,20p' "$0"; exit 2 ;;
esac
