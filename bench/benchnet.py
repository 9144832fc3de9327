"""Raw HTTP/1.1 and a minimal WebSocket client for the Python benches (standard library only).

Every request goes to the server on 127.0.0.1:PORT (set PORT first); `source` picks the local
address, so that other 127.0.0.0/8 addresses are distinct clients to the server's limits.
"""

import asyncio
import base64
import os
import time

PORT = None


def now():
    return time.monotonic()


def rss_mb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


async def connect(source="127.0.0.1"):
    return await asyncio.open_connection("127.0.0.1", PORT, local_addr=(source, 0))


def request_bytes(method, target, key=None, body=None, extra=""):
    head = f"{method} {target} HTTP/1.1\r\nHost: x\r\n"
    if key:
        head += f"Authorization: Bearer {key}\r\n"
    data = b""
    if body is not None:
        data = body if isinstance(body, bytes) else body.encode()
        head += f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n"
    return (head + extra + "\r\n").encode() + data


async def read_response(reader):
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
    body = await reader.readexactly(length) if length else b""
    return status, body


async def call(method, target, key=None, body=None, source="127.0.0.1", extra="", timeout=30):
    """One request on its own connection: (status, body, seconds); status 0 when it failed."""
    started = now()
    try:
        reader, writer = await asyncio.wait_for(connect(source), timeout)
        writer.write(request_bytes(method, target, key, body, extra))
        status, data = await asyncio.wait_for(read_response(reader), timeout)
        writer.close()
        return status, data, now() - started
    except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError, ValueError):
        return 0, b"", now() - started


# --- WebSocket, just enough for the feed -------------------------------------------------------

async def ws_open(key, source="127.0.0.1"):
    reader, writer = await connect(source)
    nonce = base64.b64encode(os.urandom(16)).decode()
    writer.write((f"GET /api/v1/feed HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                  f"Sec-WebSocket-Key: {nonce}\r\nSec-WebSocket-Version: 13\r\n"
                  f"Authorization: Bearer {key}\r\n\r\n").encode())
    head = await reader.readuntil(b"\r\n\r\n")
    if b" 101 " not in head.split(b"\r\n")[0]:
        raise OSError("no upgrade")
    return reader, writer


def ws_frame(text):
    data = text.encode()
    mask = os.urandom(4)
    n = len(data)
    head = bytes([0x81])
    if n < 126:
        head += bytes([0x80 | n])
    elif n < 65536:
        head += bytes([0x80 | 126]) + n.to_bytes(2, "big")
    else:
        head += bytes([0x80 | 127]) + n.to_bytes(8, "big")
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data))


async def ws_read(reader):
    """(opcode, payload) of the next frame."""
    b0, b1 = await reader.readexactly(2)
    n = b1 & 0x7F
    if n == 126:
        n = int.from_bytes(await reader.readexactly(2), "big")
    elif n == 127:
        n = int.from_bytes(await reader.readexactly(8), "big")
    return b0 & 0x0F, await reader.readexactly(n)
