"""Stand-in for the `sseclient` module the Novacore seed's Python client imports.

PyPI is not reachable from this project's machines, so the module the seed installs with pip cannot be installed
here; this file is written for the tests from the event-stream rules of the HTML standard, offering only the interface
the seed uses: SSEClient(response).events() yielding objects with .event, .data and .id. It is not the PyPI package's
code. Rules kept: lines end at CR, LF or CRLF; a blank line dispatches; ':' lines are comments (heartbeats); one space
after the colon is dropped; data lines join with LF; an event without data is not dispatched; the name defaults to
'message'; the last id carries over to later events."""


class Event:
    def __init__(self, event, data, id):
        self.event = event
        self.data = data
        self.id = id

    def __repr__(self):
        return f"Event(event={self.event!r}, id={self.id!r}, data={self.data!r})"


def _lines(chunks):
    pending = b""
    for chunk in chunks:
        pending += chunk
        while True:
            cut = min((i for i in (pending.find(b"\r"), pending.find(b"\n")) if i >= 0), default=-1)
            # a CR at the very end may be the first half of CRLF: wait for the next chunk
            if cut < 0 or (pending[cut:cut + 1] == b"\r" and cut == len(pending) - 1):
                break
            line, rest = pending[:cut], pending[cut + 1:]
            if pending[cut:cut + 1] == b"\r" and rest.startswith(b"\n"):
                rest = rest[1:]
            pending = rest
            yield line.decode("utf-8")


class SSEClient:
    def __init__(self, event_source, char_enc="utf-8"):
        self._source = event_source

    def events(self):
        name, data, last_id = "", [], None
        for line in _lines(self._source):
            if line == "":
                if data:
                    yield Event(name or "message", "\n".join(data), last_id)
                name, data = "", []
                continue
            if line.startswith(":"):
                continue
            field, _, value = line.partition(":")
            if value.startswith(" "):
                value = value[1:]
            if field == "data":
                data.append(value)
            elif field == "event":
                name = value
            elif field == "id" and "\0" not in value:
                last_id = value

    def close(self):
        self._source.close()
