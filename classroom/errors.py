"""The one error class media raises to the app (apart from __init__, so that a backend module
can import it without importing the package that loads the backends: no import cycle)."""

from __future__ import annotations


class MediaUnavailable(Exception):
    pass
