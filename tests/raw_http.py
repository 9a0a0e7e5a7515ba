"""Reading HTTP/1.1 off a plain socket, for the tests whose servers speak bytes (the sender's and its pool's)."""

import socket

OK = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"


def read_request(connection: socket.socket) -> bytes:
    """One request, head and body (by its Content-Length); b"" when the client closed first."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = connection.recv(65536)
        if not chunk:
            return b""
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = next((int(line[15:]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")), 0)
    while len(body) < length:
        body += connection.recv(65536)
    return data
