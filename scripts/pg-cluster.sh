#!/usr/bin/env bash
# A private PostgreSQL 15 cluster in a directory of our own (never the system cluster).
# Source this file, then:
#   ltv_cluster_start DIR PORT   initdb if needed, start, wait; exports PGHOST PGPORT PGUSER
#   ltv_cluster_stop DIR         fast shutdown
# As root, the server runs as the `postgres` system user (Postgres refuses to run as root).
PG_BIN=${PG_BIN:-$(pg_config --bindir)}

ltv_as_server_user() {
  if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# Makes DIR usable by the server user: created, owned by it, and its parents traversable.
ltv_prepare_dir() {
  local dir=$1
  mkdir -p "$dir"
  if [[ $(id -u) -eq 0 ]]; then
    chown postgres:postgres "$dir"
    local parent
    parent=$(dirname "$(readlink -f "$dir")")
    while [[ "$parent" != "/" ]]; do
      if ! runuser -u postgres -- test -x "$parent"; then
        echo "note: granting search (o+x) on $parent so the postgres user can reach the cluster"
        chmod o+x "$parent"
      fi
      parent=$(dirname "$parent")
    done
  fi
}

ltv_cluster_start() {
  local dir=$1 port=$2
  ltv_prepare_dir "$dir"
  if [[ ! -f "$dir/PG_VERSION" ]]; then
    ltv_as_server_user "$PG_BIN/initdb" -D "$dir" -U postgres -A trust -E UTF8 --locale=C.UTF-8 \
      >"$dir.initdb.log" 2>&1 || { cat "$dir.initdb.log"; return 1; }
    cat >>"$dir/postgresql.conf" <<CONF
# retail_ltv local cluster
listen_addresses = '127.0.0.1'
unix_socket_directories = '$dir'
max_worker_processes = 16
max_parallel_workers = 8
max_parallel_workers_per_gather = 2
shared_buffers = 512MB
work_mem = 64MB
maintenance_work_mem = 512MB
max_wal_size = 4GB
CONF
    if [[ "${LTV_CLUSTER_DISPOSABLE:-0}" == 1 ]]; then
      # Throwaway test clusters: durability buys nothing there.
      printf 'fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n' >>"$dir/postgresql.conf"
    fi
  fi
  sed -i "s/^port = .*//" "$dir/postgresql.conf"
  echo "port = $port" >>"$dir/postgresql.conf"
  if ! ltv_as_server_user "$PG_BIN/pg_ctl" -D "$dir" status >/dev/null 2>&1; then
    ltv_as_server_user "$PG_BIN/pg_ctl" -D "$dir" -l "$dir/server.log" -w -t 60 start >/dev/null \
      || { tail -n 30 "$dir/server.log"; return 1; }
  fi
  export PGHOST=$dir PGPORT=$port PGUSER=postgres PGDATABASE=${PGDATABASE:-postgres}
}

ltv_cluster_stop() {
  local dir=$1
  if [[ -f "$dir/postmaster.pid" ]]; then
    ltv_as_server_user "$PG_BIN/pg_ctl" -D "$dir" -m fast -w stop >/dev/null || true
  fi
}

# A free TCP port on 127.0.0.1.
ltv_free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
