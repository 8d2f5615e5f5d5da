#!/usr/bin/env python3
"""control-client.py - a raw client of collie's control socket, for the
tests that must send what `collie` never would (garbage, oversized and
half-sent requests, pipelined requests nobody reads) or make a stale
socket file.

Usage: control-client.py MODE PATH [ARGS]
  request PATH JSON   send one request line and shut down writing, print
                      the reply line
  sent PATH JSON      send one request line, print "sent" (a request on a
                      connection made after that is handled after it),
                      then print the reply line
  garbage PATH        send a line that is not JSON; print what comes back
                      until EOF, then "EOF"
  oversized PATH      send 70000 bytes without a newline; same
  sized PATH N        send a pid request padded to N bytes, its newline
                      included; print the reply line (or what comes, and
                      "EOF")
  cutshort PATH       send half a request and shut down writing; print what
                      comes back until EOF, then "EOF"
  halfsent PATH       send half a request, print "sent", then wait for the
                      server to close: "EOF after N s" (at most 30 s)
  unknown PATH        on one connection: an unknown command, then pid;
                      print both replies
  noread PATH         pipeline status requests until the socket takes no
                      more, never reading; print "stuffed", then hold the
                      connection until stdin closes
  many PATH N         N connections at once, each asks pid; print "N ok"
  stale PATH          leave a socket file nobody listens on at PATH
Every wait is bounded (30 s); a timeout exits 3.
"""
import json
import socket
import sys
import time


def connect(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(30)
    s.connect(path)
    return s


def until_eof(s):
    data = b""
    while True:
        try:
            chunk = s.recv(65536)
        except ConnectionResetError:  # closed with our bytes unread
            return data + b"(reset)\n"
        if not chunk:
            return data
        data += chunk


def readline(f):
    line = f.readline()
    if not line:
        sys.exit("no reply")
    return line.decode().rstrip("\n")


def main():
    mode, path = sys.argv[1], sys.argv[2]
    try:
        if mode == "request":
            s = connect(path)
            s.sendall(sys.argv[3].encode() + b"\n")
            s.shutdown(socket.SHUT_WR)  # as `... | socat`: still answered
            print(readline(s.makefile("rb")))
        elif mode == "sent":
            s = connect(path)
            s.sendall(sys.argv[3].encode() + b"\n")
            print("sent", flush=True)
            print(readline(s.makefile("rb")))
        elif mode in ("garbage", "oversized"):
            s = connect(path)
            try:
                s.sendall(b"this is not json\n" if mode == "garbage" else b"x" * 70000)
            except (BrokenPipeError, ConnectionResetError):
                pass  # refused before it had all of it: what did it say?
            sys.stdout.write(until_eof(s).decode())
            print("EOF")
        elif mode == "sized":
            head = b'{"cmd": "pid", "pad": "'
            tail = b'"}\n'
            s = connect(path)
            try:
                s.sendall(head + b"x" * (int(sys.argv[3]) - len(head) - len(tail)) + tail)
            except (BrokenPipeError, ConnectionResetError):
                pass
            f = s.makefile("rb")
            print(readline(f))
            s.shutdown(socket.SHUT_WR)
            sys.stdout.write(until_eof(s).decode())
            print("EOF")
        elif mode == "cutshort":
            s = connect(path)
            s.sendall(b'{"cmd": "sta')
            s.shutdown(socket.SHUT_WR)
            sys.stdout.write(until_eof(s).decode())
            print("EOF")
        elif mode == "halfsent":
            s = connect(path)
            s.sendall(b'{"cmd": "sta')
            print("sent", flush=True)
            t = time.monotonic()
            rest = until_eof(s)
            print("EOF after %d s%s" % (time.monotonic() - t, " with data" if rest else ""))
        elif mode == "unknown":
            s = connect(path)
            f = s.makefile("rb")
            s.sendall(b'{"cmd": "bogus"}\n')
            print(readline(f))
            s.sendall(b'{"cmd": "pid"}\n')
            print(readline(f))
        elif mode == "noread":
            s = connect(path)
            s.setblocking(False)
            req = b'{"cmd": "status"}\n' * 64
            sent = 0
            try:
                while sent < 64 * 1024 * 1024:
                    sent += s.send(req)
            except BlockingIOError:
                pass
            print("stuffed", flush=True)
            sys.stdin.read()
        elif mode == "many":
            n = int(sys.argv[3])
            socks = [connect(path) for _ in range(n)]
            for s in socks:
                s.sendall(b'{"cmd": "pid"}\n')
            ok = sum(json.loads(readline(s.makefile("rb")))["ok"] is True for s in socks)
            print("%d ok" % ok)
        elif mode == "stale":
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.bind(path)
            s.listen(1)
            s.close()
        else:
            sys.exit("unknown mode " + mode)
    except socket.timeout:
        print("timeout")
        sys.exit(3)


main()
