"""One-to-many live classes (互动课堂): scheduling and enrolment (service.py), the live room's
rules (live.py), the websocket dispatch for class messages (dispatch.py). The media of the room
lives behind an interface in the top-level `classroom` package."""
