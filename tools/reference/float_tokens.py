"""Python's float() on each token of a JSON list read from stdin, the way the reference reader
(tools/reference/nn4small2.py) reads a CSV weights dump. Prints a JSON list: repr(float(token)),
which reads back to the same double, or null where float() raises ValueError.
test/openface-csv.test.ts holds tsface's CSV number reader to this, token by token."""
import json
import sys


def verdict(token):
    try:
        return repr(float(token))
    except ValueError:
        return None


json.dump([verdict(t) for t in json.load(sys.stdin)], sys.stdout)
