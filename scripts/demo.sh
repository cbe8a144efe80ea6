#!/usr/bin/env bash
# The main job on an embedded default: a Django-compatible session store in
# a local SQLite file, driven by the djsession CLI. Needs only Go and gcc
# (SQLite is compiled in through cgo). Run from anywhere:
#
#   bash scripts/demo.sh [DIR]      # DIR keeps db.sqlite3 (default: a temp dir)
#
# A Django project whose settings name the same SECRET_KEY and
# DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3",
# "NAME": "DIR/db.sqlite3"}} shares these sessions with Go, both ways.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v go >/dev/null || export PATH="/usr/local/go/bin:$PATH"

dir=${1:-$(mktemp -d)}
mkdir -p "$dir"
bin="$dir/djsession"
echo "== building cmd/djsession (first build compiles SQLite: about a minute)" >&2
CGO_ENABLED=1 go build -o "$bin" ./cmd/djsession

cfg=$(printf '{"SECRET_KEY":"demo-secret-key-change-me","USE_TZ":true,"DATABASES":{"default":{"ENGINE":"django.db.backends.sqlite3","NAME":"%s/db.sqlite3"}}}' "$dir")
dj() { "$bin" --config "$cfg" "$@"; }
field() { sed -n "s/.*\"$1\":\"\([^\"]*\)\".*/\1/p"; }
step() { printf '\n$ djsession %s\n' "$*"; }

step migrate
dj migrate

step "write   <<< {\"data\": {\"cart\": [1, 2, 3], \"user\": \"alice\", \"price\": 9.0}, \"expiry\": 3600}"
out=$(echo '{"data":{"cart":[1,2,3],"user":"alice","price":9.0},"expiry":3600}' | dj write)
echo "$out"
key=$(echo "$out" | field session_key)

step read "$key"
dj read "$key"

step "modify $key   <<< {\"set\": {\"seen\": true}, \"delete\": [\"cart\"]}"
echo '{"set":{"seen":true},"delete":["cart"]}' | dj modify "$key"

step read "$key"
dj read "$key"

step "login-session 42 'pbkdf2_sha256\$600000\$salt\$hash'"
login=$(dj login-session 42 'pbkdf2_sha256$600000$salt$hash' | tee /dev/stderr | field session_key)
step verify-auth "$login" "'pbkdf2_sha256\$600000\$salt\$hash'"
dj verify-auth "$login" 'pbkdf2_sha256$600000$salt$hash'

# What Django stores in django_session.session_data for the same dict,
# explained without the key, then verified with it.
data=$(echo '{"data":{"user":"alice","seen":true,"_session_expiry":3600}}' | dj encode | field session_data)
step inspect "$data"
"$bin" inspect "$data"
step "--config {SECRET_KEY...} inspect" "$data"
dj inspect "$data" | grep verified

printf '\nSQLite file: %s/db.sqlite3 (table django_session)\n' "$dir"
