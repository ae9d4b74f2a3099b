#!/usr/bin/python3
"""Drains a RabbitMQ queue with pika (a real AMQP peer, not ours) and prints one JSON line per
message: exchange, routing key, properties and body. Used by the tests.

    amqp_consume.py PORT QUEUE EXPECTED [TIMEOUT]

Stops once EXPECTED distinct bodies arrived and the queue is empty, or after TIMEOUT seconds."""
import json, sys, time
import pika

port, queue, expected = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
timeout = float(sys.argv[4]) if len(sys.argv) > 4 else 60
conn = pika.BlockingConnection(pika.ConnectionParameters("127.0.0.1", port))
ch = conn.channel()
# As MozDef's workers declare it (idempotent): the publisher may not have declared it yet.
ch.queue_declare(queue, durable=True)
seen = set()
deadline = time.monotonic() + timeout
out = sys.stdout
while time.monotonic() < deadline:
    method, props, body = ch.basic_get(queue, auto_ack=True)
    if method is None:
        if len(seen) >= expected:
            break
        time.sleep(0.05)
        continue
    seen.add(body)
    out.write(json.dumps({"exchange": method.exchange, "routing_key": method.routing_key,
                          "content_type": props.content_type, "content_encoding": props.content_encoding,
                          "delivery_mode": props.delivery_mode, "body": body.decode("utf-8")}) + "\n")
conn.close()
