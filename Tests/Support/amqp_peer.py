#!/usr/bin/python3
"""pika as MozDef's producers and alert consumers use it (a real AMQP peer, not ours).

    amqp_peer.py publish PORT FILE [IDS]  each line of FILE to exchange eventtask, rk eventtask
                                          (declared as MozDef declares them), persistent; with
                                          IDS, line n has message_id IDS-n
    amqp_peer.py bind-alerts PORT QUEUE   declares QUEUE bound to exchange alerts with mozdef.*,
                                          as MozDef's alert consumers bind
    amqp_peer.py get PORT QUEUE N [TIMEOUT]
                                          prints up to N messages of QUEUE, one JSON line each"""
import json, sys, time
import pika

cmd, port = sys.argv[1], int(sys.argv[2])
conn = pika.BlockingConnection(pika.ConnectionParameters("127.0.0.1", port))
ch = conn.channel()
if cmd == "publish":
    ch.exchange_declare("eventtask", exchange_type="direct", durable=True)
    ch.queue_declare("eventtask", durable=True)
    ch.queue_bind("eventtask", "eventtask", routing_key="eventtask")
    ch.confirm_delivery()
    ids = sys.argv[4] if len(sys.argv) > 4 else None
    with open(sys.argv[3], "rb") as f:
        for n, line in enumerate(f):
            props = pika.BasicProperties(content_type="application/json", delivery_mode=2,
                                         message_id=f"{ids}-{n}" if ids else None)
            ch.basic_publish("eventtask", "eventtask", line.rstrip(b"\n"), props)
elif cmd == "bind-alerts":
    ch.exchange_declare("alerts", exchange_type="topic", durable=True)
    ch.queue_declare(sys.argv[3], durable=True)
    ch.queue_bind(sys.argv[3], "alerts", routing_key="mozdef.*")
elif cmd == "get":
    queue, n = sys.argv[3], int(sys.argv[4])
    deadline = time.monotonic() + (float(sys.argv[5]) if len(sys.argv) > 5 else 30)
    got = 0
    while got < n and time.monotonic() < deadline:
        method, props, body = ch.basic_get(queue, auto_ack=True)
        if method is None:
            time.sleep(0.1)
            continue
        got += 1
        print(json.dumps({"exchange": method.exchange, "routing_key": method.routing_key, "body": body.decode("utf-8")}))
conn.close()
