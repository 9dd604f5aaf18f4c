#!/usr/bin/env bash
# The seeds' deploy (../shared/seeds: "Automated Deployment Script" ~/deploy_to_production.sh),
# written from its steps for the Flask example, for benchmarks/deploy_ssh.py. The benchmark
# copies it to the test host as /root/deploy_to_production.sh and runs it the way the seeds do:
# `ssh root@host ~/deploy_to_production.sh`, after pushing to main.
#
# Like the seed it updates the one live checkout in place: `git pull`, `pip install -r` into the
# venv the service is running from, clears __pycache__, `systemctl restart`, `sleep 3`, and calls
# the deploy good when the unit is active. The seed's step 3 (npm install && npm run build) is left
# out: the example has no frontend.
#
# The seeds' one-time setup (their "Migration Checklist": copy the code, set up the venv, install
# the dependencies, enable and start the unit) runs here when the checkout does not exist yet, so
# the first deploy includes clone + venv + pip install, as ours does. The unit file itself
# (flask-production.service beside this file) is installed by the benchmark beforehand.
set -e

APP_DIR=${APP_DIR:-/opt/flask-production}
SERVICE=${SERVICE:-flask-production}
REPO=${REPO:-/srv/git/flask.git}

echo "=== Flask example: production deployment ==="

if [ ! -d "$APP_DIR/.git" ]; then
    echo "[0/5] First deployment: cloning and creating the virtual environment..."
    git clone "$REPO" "$APP_DIR"
    cd "$APP_DIR"
    python3 -m venv venv
fi

# 1. Pull latest code
echo "[1/5] Pulling latest code from main branch..."
cd "$APP_DIR"
git fetch origin
git checkout main
git pull origin main

# 2. Update Python dependencies (into the venv the running service uses)
echo "[2/5] Updating Python dependencies..."
# shellcheck source=/dev/null
source venv/bin/activate
pip install -r requirements.txt

# 3. Clear Python cache (the app's code; the venv is left alone, as in the seed, whose venv sits
#    beside its code folder)
echo "[3/5] Clearing Python cache..."
find . -path ./venv -prune -o -type d -name "__pycache__" -exec rm -rf {} + 2>/dev/null || true

# 4. Restart service
echo "[4/5] Restarting production service..."
sudo systemctl restart "$SERVICE"

# 5. Verify deployment
echo "[5/5] Verifying deployment..."
sleep 3
if systemctl is-active --quiet "$SERVICE"; then
    echo "Deployment successful: $(git log -1 --format='%h %s')"
else
    echo "Deployment failed! Service is not running. Check: journalctl -u $SERVICE -n 50"
    exit 1
fi
