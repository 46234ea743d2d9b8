"""A hyperrep-notifier webhook receiver: verify, dedupe on webhook-id, answer fast, work later.

    pip install standardwebhooks
    WEBHOOK_SECRET=whsec_... PORT=8000 python3 examples/receiver.py
"""
import os, queue, threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from standardwebhooks import Webhook, WebhookVerificationError

webhook = Webhook(os.environ["WEBHOOK_SECRET"])
seen, work = set(), queue.Queue()  # in production: a store with a TTL longer than max_age

class Receiver(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length", 0)))
        try:
            event = webhook.verify(body, dict(self.headers))
        except WebhookVerificationError:
            return self.answer(401)  # not from the notifier (or another key): a dead letter there
        if self.headers["webhook-id"] not in seen:  # a retry or re-send keeps its id
            seen.add(self.headers["webhook-id"])
            work.put(event)
        self.answer(204)  # answer first, work afterwards

    def answer(self, status):
        self.send_response(status)
        self.end_headers()

def worker():
    while True:
        event = work.get()
        print(event["type"], event["data"]["conversation"]["conversation_id"], flush=True)

threading.Thread(target=worker, daemon=True).start()
HTTPServer(("127.0.0.1", int(os.environ.get("PORT", "8000"))), Receiver).serve_forever()
