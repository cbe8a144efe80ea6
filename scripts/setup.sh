#!/usr/bin/env bash
# Prepares a Debian 12 machine (Go and gcc already there) for the test suite:
# Debian's Django 3.2 and client libraries for the Python peer, Django 4.2
# and 5.2 unpacked from Debian trixie and sid beside it (/opt/djsession-peers),
# memcached (tests start their own instances), and PostgreSQL, MariaDB and Redis
# answering on 127.0.0.1 with the access the tests expect:
#
#   PostgreSQL 127.0.0.1:5432, user postgres, trust auth, database "test"
#   MariaDB    127.0.0.1:3306, user root, empty password, database "test"
#   Redis      127.0.0.1:6379
#
# Idempotent: installed packages are not reinstalled, servers that already
# answer are reused untouched, and only missing access rules are added.
set -euo pipefail

log() { printf 'setup: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
	command -v sudo >/dev/null || die "run as root (or install sudo)"
	SUDO="sudo"
fi

# wait_for DESCRIPTION SECONDS COMMAND...: poll until COMMAND succeeds.
wait_for() {
	local what=$1 timeout=$2
	shift 2
	local deadline=$((SECONDS + timeout))
	until "$@" >/dev/null 2>&1; do
		if [ "$SECONDS" -ge "$deadline" ]; then
			log "$what did not become ready within ${timeout}s"
			return 1
		fi
		sleep 0.5
	done
}

# ---------------------------------------------------------------------------
# Packages (apt-get only when something is missing).

PACKAGES=(
	python3-django python3-psycopg2 python3-mysqldb python3-pymemcache
	python3-pylibmc python3-redis memcached
	postgresql mariadb-server redis-server
)
missing=()
for p in "${PACKAGES[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
	log "installing ${missing[*]}"
	$SUDO apt-get update -q
	$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
else
	log "packages already installed"
fi

/usr/bin/python3 -c 'import django, psycopg2, MySQLdb, pymemcache, pylibmc' ||
	die "/usr/bin/python3 lacks Django or a client library"

# ---------------------------------------------------------------------------
# Django 4.2 and 5.2, the later peers of the live tests. Debian 12 ships only
# 3.2; trixie packages 4.2 and sid 5.2, pure Python that runs on bookworm's
# python3 (3.11) with the same client libraries. They are unpacked (dpkg -x),
# not installed, each under $PEER_ROOT/django-X.Y with trixie's asgiref and
# sqlparse; the tests put that tree first on PYTHONPATH. apt fetches and
# verifies the packages against Debian's archive keys with a private state
# directory, leaving the machine's own apt configuration alone.

PEER_ROOT=${DJS_PEER_ROOT:-/opt/djsession-peers}
PEER_VERSIONS=(4.2 5.2)

peer_path() { echo "$PEER_ROOT/django-$1/usr/lib/python3/dist-packages"; }
peer_ok() {
	[ "$(PYTHONPATH=$(peer_path "$1") /usr/bin/python3 -c \
		'import django, asgiref, sqlparse; print(django.get_version())' 2>/dev/null | cut -d. -f1-2)" = "$1" ]
}

need_peers=()
for v in "${PEER_VERSIONS[@]}"; do
	peer_ok "$v" || need_peers+=("$v")
done
if [ "${#need_peers[@]}" -gt 0 ]; then
	log "fetching Django ${need_peers[*]} from Debian trixie/sid into $PEER_ROOT"
	apt_dir=$(mktemp -d)
	mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial" "$apt_dir/debs"
	printf '%s\n' "deb [arch=amd64] http://deb.debian.org/debian trixie main" \
		"deb [arch=amd64] http://deb.debian.org/debian sid main" >"$apt_dir/sources.list"
	APT_OPTS=(-q -o "Dir::Etc::SourceList=$apt_dir/sources.list" -o Dir::Etc::SourceParts=/nonexistent
		-o "Dir::State::Lists=$apt_dir/lists" -o "Dir::Cache=$apt_dir/cache" -o Dir::State::status=/dev/null
		-o Debug::NoLocking=1 -o Acquire::Languages=none -o APT::Sandbox::User=root)
	apt-get "${APT_OPTS[@]}" update >/dev/null || die "apt-get update (trixie, sid) failed"
	for v in "${need_peers[@]}"; do
		# The newest 3:X.Y.* in either suite.
		pkg=$(apt-cache "${APT_OPTS[@]}" madison python3-django |
			awk -v v="3:$v." '{ if (index($3, v) == 1) print $3 }' | sort -V | tail -n 1)
		[ -n "$pkg" ] || die "no python3-django $v in Debian trixie or sid"
		rm -rf "$apt_dir/debs"/* "$PEER_ROOT/django-$v"
		(cd "$apt_dir/debs" && apt-get "${APT_OPTS[@]}" download "python3-django=$pkg" \
			python3-asgiref/trixie python3-sqlparse/trixie >/dev/null) ||
			die "downloading Django $v failed"
		$SUDO mkdir -p "$PEER_ROOT/django-$v"
		for deb in "$apt_dir/debs"/*.deb; do
			$SUDO dpkg -x "$deb" "$PEER_ROOT/django-$v"
		done
		peer_ok "$v" || die "Django $v unpacked under $PEER_ROOT does not import"
	done
	rm -rf "$apt_dir"
else
	log "Django ${PEER_VERSIONS[*]} peers already unpacked under $PEER_ROOT"
fi

# ---------------------------------------------------------------------------
# PostgreSQL

pg_up() { pg_isready -q -h 127.0.0.1 -p 5432; }
pg_sql() { psql -h 127.0.0.1 -U postgres -d postgres -tAq -v ON_ERROR_STOP=1 -c "$1"; }

PG_VERSION=$(ls /etc/postgresql 2>/dev/null | sort -V | tail -n 1)
[ -n "$PG_VERSION" ] || die "no cluster under /etc/postgresql"
PG_HBA=/etc/postgresql/$PG_VERSION/main/pg_hba.conf
hba_changed=0
# Trust for loopback TCP, first in the file (the first matching rule wins).
if ! $SUDO grep -Eq '^[[:space:]]*host[[:space:]]+all[[:space:]]+all[[:space:]]+127\.0\.0\.1/32[[:space:]]+trust' "$PG_HBA"; then
	log "PostgreSQL: adding trust for 127.0.0.1 to $PG_HBA"
	tmp=$(mktemp)
	{
		echo "# added by scripts/setup.sh: the test suite connects without a password"
		echo "host all all 127.0.0.1/32 trust"
		echo "host all all ::1/128 trust"
		$SUDO cat "$PG_HBA"
	} >"$tmp"
	$SUDO cp "$tmp" "$PG_HBA"
	rm -f "$tmp"
	hba_changed=1
fi
if pg_up; then
	log "PostgreSQL already answering on 127.0.0.1:5432"
	if [ "$hba_changed" = 1 ]; then
		$SUDO pg_ctlcluster --skip-systemctl-redirect "$PG_VERSION" main reload
	fi
else
	log "starting PostgreSQL $PG_VERSION"
	$SUDO pg_ctlcluster --skip-systemctl-redirect "$PG_VERSION" main start || true
	wait_for "PostgreSQL" 60 pg_up || {
		$SUDO tail -n 30 "/var/log/postgresql/postgresql-$PG_VERSION-main.log" >&2 || true
		die "PostgreSQL is not answering on 127.0.0.1:5432"
	}
fi
wait_for "PostgreSQL login" 30 pg_sql 'SELECT 1' || die "cannot log in to PostgreSQL as postgres over TCP"
if [ "$(pg_sql "SELECT 1 FROM pg_database WHERE datname = 'test'")" != 1 ]; then
	log "PostgreSQL: creating database test"
	pg_sql 'CREATE DATABASE test'
fi

# ---------------------------------------------------------------------------
# MariaDB

my_up() { mariadb-admin --connect-timeout=2 -h 127.0.0.1 -P 3306 -u root ping; }
my_tcp() { mariadb --connect-timeout=2 -h 127.0.0.1 -P 3306 -u root -e "$1"; }

# mariadb-admin ping succeeds even when the login is refused, so "up" means
# the server answers; access is checked separately below.
if my_up >/dev/null 2>&1; then
	log "MariaDB already answering on 127.0.0.1:3306"
else
	log "starting MariaDB"
	$SUDO install -d -o mysql -g mysql /run/mysqld
	$SUDO start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd -- --user=mysql
	wait_for "MariaDB" 60 my_up || {
		$SUDO tail -n 30 /var/log/mysql/error.log >&2 || true
		die "MariaDB is not answering on 127.0.0.1:3306"
	}
fi
if ! my_tcp 'SELECT 1' >/dev/null 2>&1; then
	# A fresh Debian install lets root in only through the Unix socket
	# (unix_socket auth); allow the empty password over loopback TCP too.
	log "MariaDB: allowing root with an empty password on 127.0.0.1"
	$SUDO mariadb -u root -e "
		ALTER USER 'root'@'localhost' IDENTIFIED VIA unix_socket OR mysql_native_password USING PASSWORD('');
		CREATE USER IF NOT EXISTS 'root'@'127.0.0.1' IDENTIFIED BY '';
		GRANT ALL PRIVILEGES ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION;
		FLUSH PRIVILEGES;"
	my_tcp 'SELECT 1' >/dev/null || die "cannot log in to MariaDB as root over TCP"
fi
my_tcp 'CREATE DATABASE IF NOT EXISTS test'

# ---------------------------------------------------------------------------
# Redis (no persistence: tests use their own database numbers or servers)

redis_up() (
	# PING over bash's /dev/tcp (in a subshell: the descriptor stays local),
	# so that redis-cli is not required.
	exec 3<>/dev/tcp/127.0.0.1/6379 || exit 1
	printf 'PING\r\n' >&3
	IFS= read -r -t 2 reply <&3 || exit 1
	[ "${reply%$'\r'}" = "+PONG" ]
)
if redis_up 2>/dev/null; then
	log "Redis already answering on 127.0.0.1:6379"
else
	log "starting Redis"
	$SUDO mkdir -p /var/lib/redis /var/log/redis
	$SUDO redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" \
		--appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log
	wait_for "Redis" 30 redis_up || {
		$SUDO tail -n 30 /var/log/redis/ci.log >&2 || true
		die "Redis is not answering on 127.0.0.1:6379"
	}
fi

# memcached: the tests start private instances (testenv.Memcached); only the
# binary is needed.
[ -x /usr/bin/memcached ] || die "/usr/bin/memcached is missing"

log "ready: PostgreSQL, MariaDB, Redis on 127.0.0.1; Django $(/usr/bin/python3 -c 'import django; print(django.get_version())')" \
	"and, under $PEER_ROOT, $(for v in "${PEER_VERSIONS[@]}"; do PYTHONPATH=$(peer_path "$v") /usr/bin/python3 -c 'import django; print(django.get_version())'; done | paste -sd' ')"
