"""A real SMTP server for the tl-mail tests (aiosmtpd).

Saves every accepted message as NNN.eml plus NNN.json (what Python's email package decodes from
it: an independent reader of our MIME), rejects chosen recipients, and writes `ready` once it
listens. Usage: smtp_server.py PORT DIR [ADDRESS=CODE ...]   e.g.  bad@x.vn=550 busy@x.vn=451
"""

import json
import os
import sys
import threading
import time
from email import policy
from email.parser import BytesParser

from aiosmtpd.controller import Controller


class Handler:
    def __init__(self, outdir, rejections):
        self.outdir = outdir
        self.rejections = rejections

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        code = self.rejections.get(address.lower())
        if code is not None:
            enhanced = "5.1.1" if code >= 500 else "4.2.1"
            return f"{code} {enhanced} <{address}>: rejected by the test server"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        raw = envelope.original_content or envelope.content
        msg = BytesParser(policy=policy.default).parsebytes(raw)

        def body(kind):
            part = msg.get_body(preferencelist=(kind,))
            if part is None:
                return None
            # The wire form ends lines with CRLF; compare text with plain \n.
            return part.get_content().replace("\r\n", "\n")

        decoded = {
            "mail_from": envelope.mail_from,
            "rcpt_to": list(envelope.rcpt_tos),
            "subject": str(msg.get("subject", "")),
            "from": str(msg.get("from", "")),
            "to": str(msg.get("to", "")),
            "message_id": str(msg.get("message-id", "")),
            "content_type": msg.get_content_type(),
            "text": body("plain"),
            "html": body("html"),
            "transfer_encodings": [str(p.get("content-transfer-encoding", "")) for p in msg.walk() if not p.is_multipart()],
            "raw": raw.decode("utf-8", errors="replace"),
        }
        # Nanosecond names keep arrival order across restarts; rename so readers never see half a file.
        stem = os.path.join(self.outdir, f"{time.time_ns():020d}")
        with open(stem + ".eml", "wb") as f:
            f.write(raw)
        with open(stem + ".json.tmp", "w", encoding="utf-8") as f:
            json.dump(decoded, f, ensure_ascii=False)
        os.replace(stem + ".json.tmp", stem + ".json")
        return "250 Message accepted for delivery"


def main():
    port = int(sys.argv[1])
    outdir = sys.argv[2]
    rejections = {}
    for arg in sys.argv[3:]:
        address, code = arg.rsplit("=", 1)
        rejections[address.lower()] = int(code)
    controller = Controller(Handler(outdir, rejections), hostname="127.0.0.1", port=port)
    controller.start()
    with open(os.path.join(outdir, "ready"), "w") as f:
        f.write(str(os.getpid()))
    # Runs until the test kills the process.
    threading.Event().wait()


if __name__ == "__main__":
    main()
