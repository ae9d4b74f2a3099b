#!/usr/bin/python3
"""Sends events with the real mozdef-client from PyPI (MozDefEvent), as MozDef's own users do.

    mozdef_client_send.py URL COUNT

Each event: summary "a test event N", category "authentication", severity WARNING, tags
["generic","test"], details {"one":1,"two":"two","sourceipaddress":"1.2.3.4"}. mozdef-client
posts in the background (requests-futures); the interpreter waits for those threads at exit."""
import sys
from mozdef_client import MozDefEvent

url, count = sys.argv[1], int(sys.argv[2])
for i in range(count):
    m = MozDefEvent(url)
    m.summary = "a test event %d" % i
    m.tags = ["generic", "test"]
    m.details = {"one": 1, "two": "two", "sourceipaddress": "1.2.3.4"}
    m.set_category("authentication")
    m.set_severity_from_string("WARNING")
    m.send()
