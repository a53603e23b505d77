"""WebRTC signaling and live-session events: the per-user event log, the websocket protocol,
TURN credentials. `app/live` carries the sessions' records; this package knows no database."""

from .eventlog import EventLog, InProcessEventLog, RedisEventLog, ResumeGap, StoredEvent

__all__ = ["EventLog", "InProcessEventLog", "RedisEventLog", "ResumeGap", "StoredEvent"]
