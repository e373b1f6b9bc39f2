# json.sh - read the --json output of oflash in the benches with a JSON
# parser (jq).  docs/json.md: times are JSON numbers, and a time below
# 1e-4 s is written with an exponent (4.312e-6), which a regular expression
# such as [0-9.]+ misreads (as 4.312).  Format the values with printf or
# awk, which read exponents; bc does not.
command -v jq >/dev/null || { echo "jq is missing (scripts/install-deps.sh)" >&2; exit 1; }

# jget JSON KEY: the first value of KEY in the document, depth first (a
# top-level key before the same key in nested objects): strings without
# quotes, numbers as jq prints them, null as "null"; nothing when absent.
jget() { jq -r --arg k "$2" 'first(.. | objects | select(has($k)) | .[$k] | tostring)' <<<"$1"; }
