#!/usr/bin/env bash
# Print every secret docker-compose.yml requires, freshly generated, as an env file:
#
#     deploy/compose-env.sh > .env && chmod 600 .env
#
# NATS passwords start with a letter and hold letters and digits only: the server reads them
# from its environment as configuration tokens, where a leading digit would parse as a number.
set -euo pipefail
cd "$(dirname "$0")/.."

secret() { printf 'p%s' "$(od -An -N24 -tx1 /dev/urandom | tr -d ' \n')"; }

echo "POSTGRES_PASSWORD=$(secret)"
echo "MINIO_ROOT_PASSWORD=$(secret)"
echo "CHAINWATCH_DASHBOARD_SESSION_SECRET=$(secret)$(secret)"
grep -o 'CHAINWATCH_NATS_[A-Z]*_PASSWORD' deploy/nats/accounts.conf | sort -u | while read -r name; do
  echo "${name}=$(secret)"
done
