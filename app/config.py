"""The one settings class. No environment = embedded default (SQLite file, in-process state)."""

from __future__ import annotations

import secrets
from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TUTORING_", env_file=".env", extra="ignore")

    # DATABASE_URL and REDIS_URL are read without the prefix: they are the conventional names
    # every platform (and the Dockerfile) sets.
    database_url: str | None = Field(default=None, validation_alias="DATABASE_URL")
    redis_url: str | None = Field(default=None, validation_alias="REDIS_URL")
    redis_prefix: str = "tutoring:"

    data_dir: Path = Path("data")
    seed_demo: bool | None = None  # None: seed only on the embedded default
    host: str = "127.0.0.1"
    port: int = 8000

    jwt_secret: str | None = None
    access_token_minutes: int = 15
    refresh_token_days: int = 14

    max_image_bytes: int = 5 * 1024 * 1024
    max_image_pixels: int = 4096 * 4096
    max_images_per_request: int = 3
    max_csv_bytes: int = 5 * 1024 * 1024
    max_json_bytes: int = 256 * 1024  # any other request body (JSON) larger than this is refused (413)
    unattached_image_keep_s: int = 86400  # uploads never attached nor shown are deleted after this

    timezone: str = "Asia/Shanghai"
    tune_gc: bool = True  # freeze start-up objects and raise GC thresholds (app/kit/runtime.py)
    # "1-5 18:00-21:00" = Monday..Friday (ISO weekday numbers) 18:00-21:00 in `timezone`, on
    # top of the admins' calendar; "always" switches the window off (e.g. for a daytime demo).
    service_window: str = "1-5 18:00-21:00"

    # Matching (see matching/scoring.py for the weights' meaning).
    match_ring_seconds: float = 20.0
    match_fanout: int = 1
    match_candidates: int = 50
    match_max_wait_s: float = 600.0
    match_presence_ttl_s: float = 45.0
    match_reconcile_s: float = 30.0  # compare open requests with the pool (at start-up, then this often)
    match_reaper: bool = True  # run the reaping loop (tests drive it by hand with a fake clock)
    match_w_expertise: float = 1.0
    match_w_rating: float = 0.6
    match_w_favourite: float = 2.0
    match_w_fairness: float = 0.8

    # Live sessions (see app/live). Times in seconds.
    session_cap_s: int = 1800
    session_warnings_s: tuple[int, int] = (300, 60)
    session_no_show_s: int = 120  # matched but not live by then: ended as no_show
    session_grace_s: int = 60  # a side disconnected for this long: ended as disconnected
    rest_after_s: int = 3600  # continuous live time after which a student must rest …
    rest_gap_s: int = 600  # … for this long (a shorter pause does not break the run)
    transcript_retention_days: int = 180
    points_per_minute: float = 0.1  # one-to-one: 30 minutes = 3 points
    points_min_minutes: float = 3.0  # shorter sessions earn nothing
    points_rating_factors: tuple[float, float, float, float, float] = (0.5, 0.8, 1.0, 1.0, 1.2)  # by rating 1..5
    point_value_cny: float = 10.0
    # The dashboard's answer for a period that includes today is kept this long and shared by every
    # admin asking for the same scope and period (app/stats/cache.py); 0 keeps nothing.
    dashboard_cache_s: float = 15.0
    unrated_booking_after_s: int = 86400  # unrated sessions are booked with factor 1.0 after this
    ws_allowed_origins: list[str] = []  # empty: same host as the page (and non-browser clients)
    ws_ticket_ttl_s: int = 60
    ws_ping_s: float = 20.0
    ws_presence_ttl_s: float = 10.0  # a socket's registration lapses unless its instance refreshes it …
    ws_presence_refresh_s: float = 3.0  # … this often (so a killed instance's users are `lost` within ~11 s)
    ws_auth_recheck_s: float = 15.0  # sockets of revoked sign-ins are closed by then even if a kick was missed
    ws_idle_s: float = 60.0
    stun_urls: list[str] = []
    turn_urls: list[str] = []
    turn_secret: str | None = None
    turn_ttl_s: int = 3600
    tutor_min_title: str = "intermediate"  # 中级及以上职称
    # Q&A centre (app/qa).
    qa_points_per_answer: float = 0.5  # an accepted answer; × points_rating_factors when rated on acceptance
    qa_claim_s: int = 900  # "I'm answering" holds this long
    qa_escalate_after_s: int = 7200  # an unanswered question is announced to more tutors after this
    qa_escalate_fanout: int = 50  # tutors notified on escalation (knowledge-point experts first)
    qa_notify_fanout: int = 20  # free on-duty tutors told of a new question at once

    # One-to-many classes (see app/classes). Times in seconds.
    class_cap_s: int = 1800  # the longest class a tutor may schedule
    class_capacity_max: int = 200
    class_weekly_cap_s: int = 5 * 3600  # a student's classes per week (Monday to Sunday, `timezone`)
    class_open_before_s: int = 600  # the room opens this long before the start
    class_remind_before_s: int = 900  # enrolled students are reminded this long before the start
    class_points_per_minute: float = 0.2  # tutor's points: minutes held × this …
    class_points_per_attendee: float = 0.05  # … + attendees × this …
    class_points_min_minutes: float = 5.0  # … (nothing for a class shorter than this) …
    class_points_max: float = 20.0  # … at most this per class
    class_media: str = "aiortc"  # the media backend of the live room (classroom/): aiortc, janus, or none (signaling only)
    janus_url: str = ""  # class_media=janus: Janus's WebSocket API, e.g. ws://127.0.0.1:8188 (scripts/ensure-janus.sh prints it)
    janus_api_secret: str | None = None  # Janus's api_secret; stays in the service, never sent to a browser
    janus_room_prefix: str | None = None  # names of this deployment's rooms in Janus; default "<redis_prefix>class-"
    janus_timeout_s: float = 5.0  # a Janus call that takes longer fails with MediaUnavailable

    # Micro-lessons (app/lessons). Files live in `lessons_dir` (default: data_dir/lessons); several
    # instances point it at one shared folder (see README, "Micro-lessons").
    lessons_dir: Path | None = None
    lesson_max_bytes: int = 600 * 1024 * 1024  # 15 minutes of a phone's 1080p recording, with room
    lesson_max_duration_s: float = 15 * 60 + 5
    lesson_complete_ratio: float = 0.9  # share of the lesson seen at a plausible pace = a complete view
    lesson_max_rate: float = 2.0  # fastest playback speed the player offers; faster progress is not watching
    lesson_click_gap_s: int = 600  # a student's plays of one lesson within this gap are one click
    lesson_stream_ttl_s: int = 4 * 3600  # lifetime of a player's streaming link
    lesson_processing_lease_s: int = 1800  # a worker that died mid-processing is replaced after this
    lesson_points_publish: float = 1.0  # points when a lesson is first approved
    lesson_points_per_view: float = 0.05  # points per complete view …
    lesson_points_views_cap: int = 200  # … for at most this many complete views of one lesson

    @property
    def lessons_path(self) -> Path:
        return self.lessons_dir if self.lessons_dir is not None else self.data_dir / "lessons"

    @property
    def embedded(self) -> bool:
        """SQLite (the default file, or a sqlite:// DATABASE_URL) and no shared state."""
        return self.database_url is None or self.database_url.startswith("sqlite")

    @property
    def sqlalchemy_url(self) -> str:
        if self.database_url:
            url = self.database_url
            if url.startswith("postgres://"):
                url = "postgresql://" + url[len("postgres://") :]
            if url.startswith("postgresql://"):
                url = "postgresql+asyncpg://" + url[len("postgresql://") :]
            if url.startswith("sqlite://"):
                url = "sqlite+aiosqlite://" + url[len("sqlite://") :]
            return url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'tutoring.db').resolve()}"

    @property
    def should_seed_demo(self) -> bool:
        return self.embedded if self.seed_demo is None else self.seed_demo

    def secret(self) -> str:
        """The JWT secret. Embedded runs keep a generated one in the data folder so that a
        restart does not sign everybody out; production must set TUTORING_JWT_SECRET so that
        every instance accepts every other instance's tokens."""
        if self.jwt_secret:
            return self.jwt_secret
        if not self.embedded:
            raise RuntimeError("TUTORING_JWT_SECRET must be set when DATABASE_URL is set")
        path = self.data_dir / "jwt-secret"
        if not path.exists():
            self.data_dir.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_urlsafe(48))
            path.chmod(0o600)
        self.jwt_secret = path.read_text().strip()
        return self.jwt_secret


@lru_cache
def get_settings() -> Settings:
    return Settings()
