#!/usr/bin/env python3
"""Drive an SMTP server with Python's smtplib, step by step.

The scenario is JSON on stdin:

    {"ca": "/path/cert.pem", "host": "127.0.0.1",
     "steps": [{"op": "connect", "port": 587}, {"op": "ehlo", "has": ["starttls"]}, ...]}

Every step may carry "expect": a reply code (250) or a code with an
enhanced status code prefix ("553 5.7.1"), and "contains": text the reply
must contain. The script prints each step and exits 1 at the first step
whose reply differs, so the Go test shows what went wrong.

Ops: connect {port, tls: "none"|"implicit"}, ehlo {has, lacks}, starttls,
auth {mech, user, password}, mail {from, options}, rcpt {to, options},
data {msg}, send_message {from, to, subject, body, headers},
cmd {line}, rset, noop, quit.
"""

import email.message
import email.policy
import json
import smtplib
import ssl
import sys


def fail(i, step, why):
    print(f"FAIL step {i} {json.dumps(step, ensure_ascii=False)[:300]}: {why}")
    sys.exit(1)


def text(msg):
    if isinstance(msg, bytes):
        return msg.decode("utf-8", "replace")
    return str(msg)


def main():
    sc = json.load(sys.stdin)
    ctx = ssl.create_default_context(cafile=sc["ca"])
    host = sc.get("host", "127.0.0.1")
    s = None
    for i, st in enumerate(sc["steps"]):
        op = st["op"]
        code, msg = None, b""
        try:
            if op == "connect":
                # The constructors connect and raise unless the greeting
                # is 220; they also remember the host name that TLS checks
                # the certificate against.
                if st.get("tls") == "implicit":
                    s = smtplib.SMTP_SSL(host, st["port"], context=ctx, timeout=20)
                else:
                    s = smtplib.SMTP(host, st["port"], timeout=20)
                code, msg = 220, b"connected"
            elif op == "ehlo":
                code, msg = s.ehlo("client.example")
                for ext in st.get("has", []):
                    if not s.has_extn(ext):
                        fail(i, st, f"extension {ext} missing in {text(msg)!r}")
                for ext in st.get("lacks", []):
                    if s.has_extn(ext):
                        fail(i, st, f"extension {ext} offered in {text(msg)!r}")
                if "auth_mechs" in st:
                    got = s.esmtp_features.get("auth", "").upper().split()
                    if sorted(got) != sorted(st["auth_mechs"]):
                        fail(i, st, f"AUTH mechanisms {got}")
            elif op == "starttls":
                code, msg = s.starttls(context=ctx)
                s.ehlo("client.example")
            elif op == "auth":
                s.user, s.password = st["user"], st["password"]
                mech = st.get("mech", "PLAIN").upper()
                authobj = {"PLAIN": s.auth_plain, "LOGIN": s.auth_login}[mech]
                code, msg = s.auth(mech, authobj, initial_response_ok=st.get("initial_response", True))
            elif op == "mail":
                code, msg = s.mail(st["from"], st.get("options", []))
            elif op == "rcpt":
                code, msg = s.rcpt(st["to"], st.get("options", []))
            elif op == "data":
                code, msg = s.data(st["msg"].encode("utf-8"))
            elif op == "send_message":
                m = email.message.EmailMessage(policy=email.policy.SMTPUTF8)
                m["From"] = st["from"]
                m["To"] = ", ".join(st["to"])
                m["Subject"] = st.get("subject", "test")
                for k, v in st.get("headers", {}).items():
                    m[k] = v
                m.set_content(st.get("body", "Hello.\n"))
                # send_message picks SMTPUTF8 and 8BITMIME itself when the
                # addresses or the body need them.
                refused = s.send_message(m)
                if refused:
                    fail(i, st, f"refused recipients {refused}")
                code, msg = 250, b"sent"
            elif op == "cmd":
                code, msg = s.docmd(st["line"])
            elif op == "rset":
                code, msg = s.rset()
            elif op == "noop":
                code, msg = s.noop()
            elif op == "quit":
                code, msg = s.quit()
            else:
                fail(i, st, f"unknown op {op}")
        except smtplib.SMTPRecipientsRefused as e:
            code, msg = list(e.recipients.values())[0]
        except smtplib.SMTPResponseException as e:
            code, msg = e.smtp_code, e.smtp_error
        except (smtplib.SMTPException, OSError) as e:
            if st.get("expect") == "closed":
                print(f"ok   step {i} {op}: closed ({e})")
                continue
            fail(i, st, f"{type(e).__name__}: {e}")
        reply = f"{code} {text(msg)}"
        print(f"ok?  step {i} {op}: {reply[:200]!r}")
        want = st.get("expect")
        if want is not None:
            if want == "closed":
                fail(i, st, f"connection still open, got {reply!r}")
            want = str(want)
            wcode, _, wenh = want.partition(" ")
            if str(code) != wcode or (wenh and not text(msg).startswith(wenh)):
                fail(i, st, f"got {reply!r}, want {want!r}")
        if "contains" in st and st["contains"] not in text(msg):
            fail(i, st, f"reply {reply!r} lacks {st['contains']!r}")
    print("PASS")


if __name__ == "__main__":
    main()
