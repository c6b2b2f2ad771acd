#!/usr/bin/env bash
# The dependency rule (docs/architecture.md): domain crates and the service SDK depend on no
# I/O crate. Fails when `cargo tree` finds one in their normal (non-dev) dependencies.
# Also: the adapters' port features stay separate, so a crate that takes only the credit store
# on PostgreSQL compiles neither the billing nor the identity domain (and it builds).
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

# The credit ledger alone, on PostgreSQL: no billing, identity or SDK crate, and it compiles.
features=postgres,credits
tree=$(cargo tree -e normal -p quickscale-adapters --no-default-features --features "$features" \
    --prefix none --format '{p}')
found=$(echo "$tree" | awk '{print $1}' | sort -u \
    | grep -E '^quickscale-(domain-billing|domain-identity|service-sdk)$' || true)
if [ -n "$found" ]; then
    echo "port features broken: adapters with $features depend on $(echo "$found" | tr '\n' ' ')"
    status=1
elif ! cargo check --quiet -p quickscale-adapters --no-default-features --features "$features"; then
    echo "port features broken: adapters with $features do not compile"
    status=1
else
    echo "port features ok: adapters with $features (no billing, identity or SDK crate)"
fi
exit $status
