"""The part of sseclient-py (PyPI "sseclient-py", module sseclient) that the Novacore seed's client uses:
SSEClient(response).events() yielding events with .data, .event and .id. PyPI is not reachable from this project's
machines, so this is that library's parsing, kept to the same rules: an event ends at a blank line, comment lines
(heartbeats) and events without data are skipped, "data:" lines are joined with newlines, one leading space of a
value is dropped, and a missing event name is "message"."""


class Event:
    def __init__(self, id=None, event="message", data="", retry=None):
        self.id = id
        self.event = event
        self.data = data
        self.retry = retry


class SSEClient:
    def __init__(self, event_source, char_enc="utf-8"):
        self._event_source = event_source
        self._char_enc = char_enc

    def _read(self):
        data = b""
        for chunk in self._event_source:
            for line in chunk.splitlines(True):
                data += line
                if data.endswith((b"\r\r", b"\n\n", b"\r\n\r\n")):
                    yield data
                    data = b""
        if data:
            yield data

    def events(self):
        for chunk in self._read():
            event = Event()
            for line in chunk.splitlines():
                line = line.decode(self._char_enc)
                if not line.strip() or line.startswith(":"):
                    continue
                parts = line.split(":", 1)
                field = parts[0]
                value = parts[1][1:] if len(parts) > 1 and parts[1].startswith(" ") else (parts[1] if len(parts) > 1 else "")
                if field == "data":
                    event.data += value + "\n"
                elif field == "event":
                    event.event = value
                elif field == "id":
                    event.id = value
                elif field == "retry":
                    event.retry = int(value) if value.isdigit() else None
            if not event.data:
                continue
            if event.data.endswith("\n"):
                event.data = event.data[:-1]
            yield event

    def close(self):
        self._event_source.close()
