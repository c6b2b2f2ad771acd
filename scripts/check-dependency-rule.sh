#!/usr/bin/env bash
# The dependency rule (docs/architecture.md): domain crates and the service SDK depend on no
# I/O crate. Fails when `cargo tree` finds one in their normal (non-dev) dependencies.
set -euo pipefail
cd "$(dirname "$0")/.."

forbidden='^(sqlx|sqlx-core|axum|axum-core|hyper|reqwest|lettre|tera|tower-http|tower-sessions|argon2|apalis|mio|tokio)$'
status=0
for crate in quickscale-domain-kernel quickscale-domain-identity quickscale-domain-credits \
             quickscale-domain-billing quickscale-service-sdk; do
    # A failing `cargo tree` fails the check (it must not pass for want of a tree).
    tree=$(cargo tree -e normal -p "$crate" --prefix none --format '{p}')
    found=$(echo "$tree" | awk '{print $1}' | sort -u | grep -E "$forbidden" || true)
    if [ -n "$found" ]; then
        echo "dependency rule broken: $crate depends on $(echo "$found" | tr '\n' ' ')"
        status=1
    else
        echo "dependency rule ok: $crate"
    fi
done
exit $status
