#!/usr/bin/python3
"""One HTTP request for the tests, as a client that is not ours would send it.

    http_request.py METHOD URL [--header 'Name: value']... [--body-file F | --body TEXT]

Prints the status on the first line, then the response body (nothing is raised for 4xx/5xx)."""
import sys, urllib.request, urllib.error

method, url = sys.argv[1], sys.argv[2]
headers, body, i = {}, None, 3
while i < len(sys.argv):
    if sys.argv[i] == "--header":
        k, v = sys.argv[i + 1].split(":", 1)
        headers[k.strip()] = v.strip()
    elif sys.argv[i] == "--body-file":
        body = open(sys.argv[i + 1], "rb").read()
    elif sys.argv[i] == "--body":
        body = sys.argv[i + 1].encode()
    i += 2
req = urllib.request.Request(url, data=body, method=method, headers=headers)
try:
    with urllib.request.urlopen(req, timeout=30) as r:
        status, data, ctype = r.status, r.read(), r.headers.get("Content-Type", "")
except urllib.error.HTTPError as e:
    status, data, ctype = e.code, e.read(), e.headers.get("Content-Type", "")
sys.stdout.write("%d %s\n" % (status, ctype))
sys.stdout.write(data.decode("utf-8", "replace"))
