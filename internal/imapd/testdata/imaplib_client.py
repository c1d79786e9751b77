#!/usr/bin/env python3
"""Drive mailhouse's IMAP server with Python's imaplib, as a user's script would.

Usage: imaplib_client.py HOST PORT CAFILE USER PASSWORD

Runs on STARTTLS: login, list, select, append, fetch, search, store, copy,
move, expunge, then IDLE until the Go test (which reads "IDLING" on stdout)
delivers a message, which must arrive as EXISTS within a second. Any failure
exits non-zero with a message on stderr.
"""
import imaplib
import re
import select
import ssl
import sys
import time


def check(cond, what):
    if not cond:
        sys.stderr.write("FAILED: %s\n" % what)
        sys.exit(1)


def ok(res, what):
    typ, data = res
    check(typ == "OK", "%s: %s %r" % (what, typ, data))
    return data


def main():
    host, port, cafile, user, password = sys.argv[1:6]
    ctx = ssl.create_default_context(cafile=cafile)
    ctx.check_hostname = False  # the test certificate names localhost
    m = imaplib.IMAP4(host, int(port), timeout=10)
    check("LOGINDISABLED" in m.capabilities, "LOGINDISABLED before STARTTLS")
    ok(m.starttls(ssl_context=ctx), "STARTTLS")
    ok(m.login(user, password), "LOGIN")

    lines = ok(m.list(), "LIST")
    names = b"\n".join(lines)
    for want in (b'"INBOX"', b'\\Sent', b'\\Drafts', b'\\Trash', b'\\Junk', b'\\Archive'):
        check(want in names, "LIST has %r: %r" % (want, names))

    msg = (b"From: Py <py@example.org>\r\nTo: " + user.encode() + b"\r\nSubject: from python\r\n"
           b"Message-ID: <py1@example.org>\r\n\r\nimaplib body text\r\n")
    data = ok(m.append("INBOX", "(\\Flagged)", imaplib.Time2Internaldate(time.time()), msg), "APPEND")
    check(b"APPENDUID" in data[0], "APPENDUID in %r" % data)
    ok(m.append("INBOX", None, None, msg.replace(b"from python", b"second")), "APPEND 2")

    data = ok(m.select("INBOX"), "SELECT")
    check(int(data[0]) == 2, "2 messages, got %r" % data)

    data = ok(m.fetch("1", "(FLAGS RFC822.SIZE ENVELOPE BODY.PEEK[])"), "FETCH")
    check(data[0][1] == msg, "BODY[] round trip: %r" % (data[0],))
    check(b"\\Flagged" in data[0][0] and b'"from python"' in data[0][0], "FETCH items: %r" % (data[0][0],))

    data = ok(m.search(None, "TEXT", "imaplib"), "SEARCH TEXT")
    check(data[0].split() == [b"1", b"2"], "SEARCH TEXT: %r" % data)
    data = ok(m.search(None, "SUBJECT", "second"), "SEARCH SUBJECT")
    check(data[0].split() == [b"2"], "SEARCH SUBJECT: %r" % data)
    data = ok(m.uid("SEARCH", "FLAGGED"), "UID SEARCH")
    check(data[0].split() == [b"1"], "UID SEARCH FLAGGED: %r" % data)

    data = ok(m.store("2", "+FLAGS", "(\\Seen $Label1)"), "STORE")
    check(b"\\Seen" in data[0] and b"$Label1" in data[0], "STORE reply %r" % data)
    ok(m.copy("1", "Archive"), "COPY")
    data = ok(m.uid("MOVE", "2", "Trash"), "UID MOVE")
    data = ok(m.select("INBOX"), "SELECT again")
    check(int(data[0]) == 1, "1 message after MOVE, got %r" % data)
    ok(m.store("1", "+FLAGS", "(\\Deleted)"), "STORE Deleted")
    data = ok(m.expunge(), "EXPUNGE")
    check(data == [b"1"], "EXPUNGE reply %r" % data)
    for box, n in (("Archive", 1), ("Trash", 1), ("INBOX", 0)):
        data = ok(m.status(box, "(MESSAGES)"), "STATUS")
        check(b"MESSAGES %d" % n in data[0], "STATUS %s: %r" % (box, data))

    # IDLE (imaplib has no idle() before 3.14): by hand.
    ok(m.select("INBOX"), "SELECT for IDLE")
    tag = m._new_tag()
    m.send(tag + b" IDLE\r\n")
    line = m.readline()
    check(line.startswith(b"+"), "IDLE continuation: %r" % line)
    print("IDLING", flush=True)
    m.sock.settimeout(5)
    line = m.readline()
    check(re.match(rb"\* 1 EXISTS", line), "EXISTS during IDLE: %r" % line)
    m.send(b"DONE\r\n")
    line = m.readline()
    check(line.startswith(tag + b" OK"), "IDLE done: %r" % line)
    m.sock.settimeout(10)
    data = ok(m.fetch("1", "(BODY[HEADER.FIELDS (SUBJECT)])"), "FETCH delivered")
    check(b"Subject: delivered while idling" in data[0][1], "delivered message: %r" % (data,))
    m.logout()
    print("DONE", flush=True)


if __name__ == "__main__":
    main()
