#!/usr/bin/env bash
# Back up the database: pg_dump in custom format to BACKUP_DIR/<prefix>-<UTC time>.dump, check
# the file reads back (pg_restore --list), then keep only the newest BACKUP_KEEP backups.
#
#   DATABASE_URL=postgresql://... scripts/backup.sh [DATABASE_URL]
#
#   BACKUP_DIR     where backups go (default: ./backups)
#   BACKUP_KEEP    how many backups to keep, newest first (default: 14; at least 1)
#   BACKUP_PREFIX  file name prefix (default: the database name)
#
# Prints the path of the new backup. Exit codes: 0 done, 2 usage, 3 pg_dump failed, 4 the new
# file failed its check (it is removed; older backups are left alone), 127 no client tools.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=scripts/pg_url.sh
source "$here/pg_url.sh"

need_tools pg_dump pg_restore
database_url "${1:-}"
backup_dir=${BACKUP_DIR:-./backups}
keep=${BACKUP_KEEP:-14}
[[ $keep =~ ^[1-9][0-9]*$ ]] || fail "$EXIT_USAGE" "BACKUP_KEEP must be a whole number of at least 1"
name=${SAFE_URL##*/}
prefix=${BACKUP_PREFIX:-${name:-todo}}
[[ $prefix =~ ^[A-Za-z0-9_.-]+$ ]] || fail "$EXIT_USAGE" "BACKUP_PREFIX may hold letters, digits, _ . - only"

mkdir -p "$backup_dir"
umask 077  # a dump holds password hashes: readable by its owner only
stamp=$(date -u +%Y%m%dT%H%M%SZ)
target="$backup_dir/$prefix-$stamp.dump"
[[ ! -e $target ]] || fail "$EXIT_USAGE" "$target exists already (two backups in one second?)"
partial="$target.partial"
trap 'rm -f "$partial"' EXIT

pg_dump --format=custom --compress=6 --no-password --file="$partial" --dbname="$LIBPQ_URL" \
    || fail "$EXIT_TOOL" "pg_dump of $SAFE_URL failed"
# A dump that cannot be listed cannot be restored: better to know now than on the bad day.
pg_restore --list "$partial" >/dev/null 2>&1 \
    || fail "$EXIT_CORRUPT" "the new backup of $SAFE_URL does not read back; kept the old ones"
mv "$partial" "$target"
trap - EXIT

# Retention: the newest $keep backups with this prefix stay (names sort by time).
mapfile -t old < <(find "$backup_dir" -maxdepth 1 -name "$prefix-*.dump" -printf '%f\n' | sort -r | tail -n +"$((keep + 1))")
for file in "${old[@]}"; do
    rm -f -- "$backup_dir/$file"
done
echo "$target"
