#!/usr/bin/env bash
# The demo shop's Python packages, installed into .venv (the embedded environment runs the
# shop from it). Re-installed only when a requirements file changes.
set -euo pipefail
cd "$MQDRILL_ROOT"
reqs=(demo-k8s/shop/frontend/requirements.txt demo-k8s/shop/cartservice/requirements.txt
      demo-k8s/orders/orders/requirements.txt demo-k8s/orders/fulfillment/requirements.txt
      demo-k8s/orders/notifier/requirements.txt)
stamp=.venv/.shop-$(cat "${reqs[@]}" | sha256sum | cut -c1-16)
if [ -f "$stamp" ]; then
  echo "50-demo-shop: present"
  exit 0
fi
args=()
for r in "${reqs[@]}"; do args+=(-r "$r"); done
.venv/bin/pip install --quiet "${args[@]}"
rm -f .venv/.shop-*
touch "$stamp"
