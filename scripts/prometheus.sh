#!/usr/bin/env bash
# Installs Prometheus and promtool (Debian's `prometheus` package) when missing: the metrics test
# (crates/app-web/tests/prometheus.rs) runs a real Prometheus that scrapes the app, and CI checks
# deploy/prometheus/alerts.yml with `promtool check rules`. Prints the folder that holds both.
set -euo pipefail
if ! command -v prometheus >/dev/null || ! command -v promtool >/dev/null; then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq >&2
  # The package's service is not started: the test starts its own server on a free port.
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    prometheus >&2
fi
dirname "$(command -v prometheus)"
