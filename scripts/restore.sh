#!/usr/bin/env bash
# Restore a backup made by backup.sh into an existing database (create it first, e.g.
# `createdb todo`), in one transaction: all of it or nothing.
#
#   DATABASE_URL=postgresql://... scripts/restore.sh [--clean] BACKUP_FILE
#
#   --clean   drop and replace the objects the backup holds; without it a database that
#             already has tables is refused, so a restore never lands on live data by mistake
#
# Run `todo migrate` afterwards when restoring into a newer release. Exit codes: 0 done,
# 2 usage, 3 pg_restore/psql failed (nothing was changed), 4 the file fails its integrity check,
# 5 the target has tables and --clean was not given, 127 no client tools.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=scripts/pg_url.sh
source "$here/pg_url.sh"

clean=()
if [[ ${1:-} == --clean ]]; then
    clean=(--clean --if-exists)
    shift
fi
(($# == 1)) || fail "$EXIT_USAGE" "usage: restore.sh [--clean] BACKUP_FILE (DATABASE_URL in the environment)"
file=$1
need_tools pg_restore psql
database_url ""
[[ -f $file ]] || fail "$EXIT_USAGE" "$file: no such file"

pg_restore --list "$file" >/dev/null 2>&1 || fail "$EXIT_CORRUPT" "$file is not a readable backup"

if ((${#clean[@]} == 0)); then
    tables=$(psql --no-password --no-psqlrc -Atq --dbname="$LIBPQ_URL" \
        -c "SELECT count(*) FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')") \
        || fail "$EXIT_TOOL" "cannot reach $SAFE_URL"
    [[ $tables == 0 ]] || fail "$EXIT_NOT_EMPTY" "$SAFE_URL already has $tables tables; restore into an empty database or pass --clean"
fi

# No owners or grants from the source: the restoring role owns what it restores.
pg_restore --no-password --no-owner --no-privileges --single-transaction --exit-on-error \
    "${clean[@]}" --dbname="$LIBPQ_URL" "$file" \
    || fail "$EXIT_TOOL" "pg_restore into $SAFE_URL failed; nothing was changed"
echo "restored $file into $SAFE_URL"
