#!/usr/bin/env python3
"""Drive mailhouse's POP3 server with Python's poplib, as a user's script would.

usage: poplib_client.py MODE HOST PORT CAFILE USER PASSWORD
MODE is "stls" (plain port, then STLS) or "ssl" (implicit TLS).

It checks what poplib can check itself (octet counts of RETR against
LIST, TOP, DELE/RSET), deletes message 1, and prints a JSON summary for
the Go test to compare with the store.
"""

import json
import poplib
import ssl
import sys


def main():
    mode, host, port, cafile, user, password = sys.argv[1:7]
    ctx = ssl.create_default_context(cafile=cafile)
    if mode == "ssl":
        pop = poplib.POP3_SSL(host, int(port), context=ctx, timeout=20)
    else:
        pop = poplib.POP3(host, int(port), timeout=20)
        caps = pop.capa()
        assert "STLS" in caps, caps
        assert "USER" not in caps, caps
        pop.stls(context=ctx)
    caps = pop.capa()
    assert "USER" in caps and "UIDL" in caps and "TOP" in caps, caps
    pop.user(user)
    pop.pass_(password)

    count, total = pop.stat()
    _, listing, _ = pop.list()
    sizes = {}
    for line in listing:
        n, size = line.split()
        sizes[int(n)] = int(size)
    assert len(sizes) == count and sum(sizes.values()) == total, (count, total, sizes)

    _, uidl, _ = pop.uidl()
    uids = {int(n): u.decode() for n, u in (line.split() for line in uidl)}
    assert len(set(uids.values())) == count, uids

    subjects = {}
    for n in sorted(sizes):
        _, lines, octets = pop.retr(n)
        # poplib counts each line with its CRLF, after unstuffing.
        assert octets == sizes[n], ("RETR octets", n, octets, sizes[n])
        _, top, _ = pop.top(n, 0)
        assert top[-1] == b"", ("TOP ends with the blank line", top)
        assert top[:-1] == lines[: len(top) - 1], "TOP header differs from RETR"
        for line in lines:
            if line.lower().startswith(b"subject:"):
                subjects[n] = line[8:].strip().decode()
                break
        assert pop.uidl(n).split()[2].decode() == uids[n]

    pop.dele(1)
    try:
        pop.retr(1)
        raise AssertionError("RETR of a deleted message succeeded")
    except poplib.error_proto as e:
        assert b"deleted" in e.args[0], e
    assert pop.stat()[0] == count - 1
    pop.rset()
    assert pop.stat()[0] == count
    pop.dele(1)
    pop.noop()
    bye = pop.quit()
    print(json.dumps({
        "count": count,
        "total": total,
        "uidl": [uids[n] for n in sorted(uids)],
        "subjects": [subjects.get(n, "") for n in sorted(sizes)],
        "quit": bye.decode(),
    }))


if __name__ == "__main__":
    main()
