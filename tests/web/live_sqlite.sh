#!/usr/bin/env bash
# live_serve.sh on SQLite.
exec bash "$(dirname "$0")/live_serve.sh" sqlite
