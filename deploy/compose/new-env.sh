#!/bin/sh
# Prints a .env for docker-compose.yml with fresh random secrets:
#     deploy/compose/new-env.sh > .env && chmod 600 .env
# Passwords are "p" + 48 hex digits: URL-safe (the MongoDB password is part of a URL) and read as
# a string by nats-server, which parses the value of a variable as configuration (a value like
# 12345 or true would not be a string). Keep .env out of version control.
set -eu
secret() { printf 'p%s' "$(od -An -N24 -tx1 /dev/urandom | tr -d ' \n')"; }
cat <<ENV
OPSEVAL_SECRET_KEY=$(secret)
INTAKE_NATS_PASSWORD=$(secret)
RULES_NATS_PASSWORD=$(secret)
SCORING_NATS_PASSWORD=$(secret)
REPORTING_NATS_PASSWORD=$(secret)
MONGO_ROOT_PASSWORD=$(secret)
MONGO_OPSEVAL_PASSWORD=$(secret)
ENV
