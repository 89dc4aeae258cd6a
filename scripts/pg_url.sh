# Shared by backup.sh and restore.sh (sourced, not run): turn the app's DATABASE_URL into what
# libpq's tools take, with the password moved out of the command line (where `ps` shows it)
# into PGPASSWORD, and a form of the URL that is safe to print.

# Exit codes a scheduler can alert on.
readonly EXIT_USAGE=2        # bad arguments or configuration
readonly EXIT_TOOL=3         # pg_dump / pg_restore / psql failed (database unreachable, ...)
readonly EXIT_CORRUPT=4      # the backup file fails its integrity check
readonly EXIT_NOT_EMPTY=5    # restore target holds tables and --clean was not given
readonly EXIT_NO_TOOLS=127   # the PostgreSQL client tools are not installed

fail() {  # fail CODE MESSAGE: one line on stderr, then exit CODE
    echo "$(basename "$0"): $2" >&2
    exit "$1"
}

need_tools() {
    local tool
    for tool in "$@"; do
        command -v "$tool" >/dev/null || fail "$EXIT_NO_TOOLS" "$tool not found (install postgresql-client)"
    done
}

# libpq_url URL: sets LIBPQ_URL (no password, no driver suffix, no app-only parameters),
# SAFE_URL (for messages) and exports PGPASSWORD when the URL carries one.
libpq_url() {
    local url=$1 scheme rest userinfo hostpart user password query kept param
    [[ $url =~ ^(postgres|postgresql)(\+[a-z0-9]+)?://(.*)$ ]] \
        || fail "$EXIT_USAGE" "DATABASE_URL is not a postgresql:// URL"
    scheme=postgresql
    rest=${BASH_REMATCH[3]}
    if [[ $rest == *@* ]]; then
        userinfo=${rest%%@*}
        hostpart=${rest#*@}
        user=${userinfo%%:*}
        if [[ $userinfo == *:* ]]; then
            password=${userinfo#*:}
            # Percent-decoding: %40 is "@" and so on.
            printf -v PGPASSWORD '%b' "${password//%/\\x}"
            export PGPASSWORD
        fi
        rest="$user@$hostpart"
    fi
    # `pgbouncer=true` tells the app about the pooler; libpq would refuse it.
    if [[ $rest == *\?* ]]; then
        query=${rest#*\?}
        rest=${rest%%\?*}
        kept=()
        IFS='&' read -r -a params <<<"$query"
        for param in "${params[@]}"; do
            [[ $param == pgbouncer=* || -z $param ]] || kept+=("$param")
        done
        if ((${#kept[@]})); then
            rest="$rest?$(IFS='&'; echo "${kept[*]}")"
        fi
    fi
    LIBPQ_URL="$scheme://$rest"
    SAFE_URL="$scheme://${rest%%\?*}"
}

database_url() {  # the URL from $1, else DATABASE_URL, else NEON_DB_URL
    local url=${1:-${DATABASE_URL:-${NEON_DB_URL:-}}}
    [[ -n $url ]] || fail "$EXIT_USAGE" "set DATABASE_URL (use the direct, not the pooled, endpoint)"
    libpq_url "$url"
}
