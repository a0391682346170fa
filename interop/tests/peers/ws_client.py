"""A WebSocket client with Python's `websockets` package against the runtime's echo
server: text, a 1 MiB binary message, ping/pong, close."""
import asyncio
import sys

from websockets.asyncio.client import connect


async def main(url):
    async with connect(url, max_size=None) as ws:
        await ws.send("hello from python")
        assert await ws.recv() == "hello from python"
        data = bytes(i % 251 for i in range(1 << 20))
        await ws.send(data)
        echoed = await ws.recv()
        assert echoed == data, f"binary came back as {len(echoed)} bytes"
        pong = await ws.ping(b"ping from python")
        await asyncio.wait_for(pong, 10)
        await ws.close(code=1000, reason="done")
        print(f"python client: ok, close code {ws.close_code}", flush=True)


asyncio.run(main(sys.argv[1]))
