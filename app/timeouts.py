"""Cutting off a request body that stops arriving.

A client that sends part of a body and then nothing would hold its connection,
its upload's temporary file and a request's worth of memory for as long as it
likes. ``BodyTimeout`` gives each wait for the next part of the body a deadline.
When it passes, the request is cancelled where it waits, as a shutdown cancels
requests in flight: the cleanup that runs when a client goes away runs (an
upload's temporary file goes, nothing is registered), with no error for the
application to answer. (An ``http.disconnect`` would do as much for our upload
views, but Datasette's own body readers fail on it with a logged traceback.)
The client gets a 408 whose ``Connection: close`` makes uvicorn close the
connection. A body that keeps coming, however slowly overall, is not cut; once
the body is complete, waits (for a disconnect) are not timed.
"""

from __future__ import annotations

import asyncio

from .middleware import send_json_error



class BodyStalled(asyncio.CancelledError):
    """Raised where the application waits for a body that stopped arriving: a
    cancellation (which every upload's cleanup handles), told apart from one of
    the whole task (a shutdown)."""


class BodyTimeout:
    def __init__(self, app, seconds: float):
        self.app = app
        self.seconds = seconds

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        body_complete = timed_out = response_started = False

        async def receive_in_time():
            nonlocal body_complete, timed_out
            if body_complete:
                return await receive()
            try:
                message = await asyncio.wait_for(receive(), self.seconds)
            except asyncio.TimeoutError:
                timed_out = True
                raise BodyStalled(f"no body for {self.seconds:g}s") from None
            body_complete = message["type"] != "http.request" or not message.get("more_body")
            return message

        async def send_unless_timed_out(message):
            nonlocal response_started
            if timed_out and not response_started:
                return  # the client gets the 408
            response_started = True
            await send(message)

        try:
            await self.app(scope, receive_in_time, send_unless_timed_out)
        except BodyStalled:
            pass
        if timed_out and not response_started:
            await self._send_timeout(send)

    async def _send_timeout(self, send) -> None:
        await send_json_error(
            send, 408, f"The request body sent nothing for {self.seconds:g} seconds: the "
            "request was cut off (an upload so cut off is discarded; send it again)",
            [(b"connection", b"close")])
