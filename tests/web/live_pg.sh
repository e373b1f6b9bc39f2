#!/usr/bin/env bash
# live_serve.sh on PostgreSQL.
exec bash "$(dirname "$0")/live_serve.sh" pg
