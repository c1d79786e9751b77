"""An IMAP client that speaks COMPRESS=DEFLATE (RFC 4978) with Python's
zlib over a TLS socket: raw DEFLATE both ways (wbits=-15), flushing each
command with the mode given (SYNC or PARTIAL, as clients do).

usage: compress_client.py host port cafile user password SYNC|PARTIAL
prints the FETCHed subject and "DONE"; exits non-zero on any failure."""

import socket
import ssl
import sys
import zlib

host, port, cafile, user, password, mode = sys.argv[1:7]
flush = {"SYNC": zlib.Z_SYNC_FLUSH, "PARTIAL": zlib.Z_PARTIAL_FLUSH}[mode]

ctx = ssl.create_default_context(cafile=cafile)
sock = ctx.wrap_socket(socket.create_connection((host, int(port)), timeout=10), server_hostname=host)
buf = b""
comp = None
decomp = None


def recv():
    data = sock.recv(65536)
    if not data:
        raise SystemExit("connection closed; so far %r" % buf)
    return decomp.decompress(data) if decomp else data


def until(tag):
    """Reads responses up to the tagged one; returns all the lines."""
    global buf
    start = 0
    while True:
        j = buf.find(b"\r\n", start)
        if j < 0:
            buf += recv()
            continue
        line = buf[start:j]
        start = j + 2
        if line.startswith(tag.encode() + b" "):
            out, buf = buf[:start], buf[start:]
            return out.decode("utf-8", "replace")


def send(line):
    data = line.encode() + b"\r\n"
    if comp:
        data = comp.compress(data) + comp.flush(flush)
    sock.sendall(data)


until("*")  # greeting: "* OK ..." ends the first line
send("a LOGIN %s \"%s\"" % (user, password))
out = until("a")
assert "a OK" in out, out
send("b COMPRESS DEFLATE")
out = until("b")
assert "b OK" in out, out
# From here both directions are compressed; anything already read past
# the tagged OK would be compressed data.
assert buf == b"", buf
comp = zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, -15)
decomp = zlib.decompressobj(-15)
send("c CAPABILITY")
out = until("c")
assert "c OK" in out and "COMPRESS=DEFLATE" not in out, out
send("d SELECT INBOX")
out = until("d")
assert "d OK" in out, out
send("e FETCH 1 (BODY.PEEK[HEADER.FIELDS (SUBJECT)] BODY.PEEK[TEXT])")
out = until("e")
assert "e OK" in out and "Hello" in out, out
for line in out.split("\r\n"):
    if line.startswith("Subject:"):
        print(line)
# A command again: a second COMPRESS is refused.
send("f COMPRESS DEFLATE")
out = until("f")
assert "f NO [COMPRESSIONACTIVE]" in out, out
send("g LOGOUT")
out = until("g")
assert "* BYE" in out, out
print("DONE")
