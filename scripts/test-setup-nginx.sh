#!/usr/bin/env bash
# Install nginx (Debian's package) for the front-door test. The package's own service is never
# started (a policy-rc.d refuses service starts during the install, and the test runs nginx
# with its own configuration, prefix and port under a temp folder). Safe to re-run.
set -euo pipefail
if [ -x /usr/sbin/nginx ]; then
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
policy=/usr/sbin/policy-rc.d
own_policy=0
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$policy" >/dev/null
  $SUDO chmod +x "$policy"
  own_policy=1
fi
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq nginx-light >/dev/null
if [ "$own_policy" -eq 1 ]; then $SUDO rm -f "$policy"; fi
