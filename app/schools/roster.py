"""CSV roster import: districts, schools, classes, students and tutors.

The whole file is checked first and every bad row reported; only a file without a single error
is written, inside the request's one transaction, so a bad file leaves nothing behind.
"""

from __future__ import annotations

import asyncio
import csv
import io
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.scope import district_in_scope, school_in_scope
from app.kit.errors import Forbidden, RosterRejected
from app.kit.security import hash_password
from app.models import District, Role, School, SchoolClass, Subject, TutorProfile, TutorReview, TutorSubject, User

KINDS = {
    "districts": ["code", "name"],
    "schools": ["district_code", "code", "name", "stage"],
    "classes": ["school_code", "grade", "name"],
    "students": ["username", "real_name", "school_code", "grade", "class_name", "password"],
    "tutors": ["username", "real_name", "school_code", "title", "subjects", "grade_bands", "password"],
}
OPTIONAL = {"password", "stage"}
STAGES = {"junior": "junior", "初中": "junior", "senior": "senior", "高中": "senior", "complete": "complete", "完全中学": "complete"}
TITLES = {
    "senior": "senior",
    "高级": "senior",
    "正高级": "senior",
    "intermediate": "intermediate",
    "中级": "intermediate",
    "junior": "junior",
    "初级": "junior",
}
BANDS = {"初中": "junior", "junior": "junior", "高中": "senior", "senior": "senior"}
GRADES = {"初一": 7, "初二": 8, "初三": 9, "高一": 10, "高二": 11, "高三": 12}
MAX_LEN = {"username": 64, "real_name": 64, "code": 32, "name": 100, "class_name": 32, "district_code": 32, "school_code": 32}


@dataclass
class ImportResult:
    kind: str
    rows: int
    created: int = 0
    credentials: list[dict[str, str]] = field(default_factory=list)  # generated initial passwords
    errors: list[dict[str, Any]] = field(default_factory=list)


def parse_csv(raw: bytes, kind: str) -> list[dict[str, str]]:
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise RosterRejected("the file is not UTF-8 text (save it as 'CSV UTF-8')") from None
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip() for h in (reader.fieldnames or [])]
    missing = [c for c in KINDS[kind] if c not in header and c not in OPTIONAL]
    if missing:
        raise RosterRejected(f"missing column(s): {', '.join(missing)}", expected=KINDS[kind])
    rows = [{(k or "").strip(): (v or "").strip() if isinstance(v, str) else "" for k, v in r.items()} for r in reader]
    if not rows:
        raise RosterRejected("the file has no rows")
    if len(rows) > 20000:
        raise RosterRejected("at most 20000 rows per file")
    return rows


def _grade(value: str) -> int | None:
    if value in GRADES:
        return GRADES[value]
    return int(value) if value.isdigit() and 7 <= int(value) <= 12 else None


class _Importer:
    def __init__(self, db: AsyncSession, admin: User, kind: str, rows: list[dict[str, str]]) -> None:
        self.db, self.admin, self.kind, self.rows = db, admin, kind, rows
        self.result = ImportResult(kind=kind, rows=len(rows))
        self.line = 0

    def error(self, column: str, message: str) -> None:
        self.result.errors.append({"line": self.line, "column": column, "error": message})

    def text(self, row: dict[str, str], column: str) -> str:
        value = row.get(column, "")
        if not value and column not in OPTIONAL:
            self.error(column, "required")
        elif len(value) > MAX_LEN.get(column, 100):
            self.error(column, f"longer than {MAX_LEN.get(column, 100)} characters")
        return value

    async def schools_by_code(self, codes: set[str]) -> dict[str, School]:
        rows = (await self.db.execute(select(School).where(School.code.in_(codes)))).scalars()
        return {s.code: s for s in rows}

    async def school_for(self, row: dict[str, str], schools: dict[str, School]) -> School | None:
        code = self.text(row, "school_code")
        school = schools.get(code)
        if code and school is None:
            self.error("school_code", f"no school with code {code!r}")
        elif school is not None and not await school_in_scope(self.db, self.admin, school):
            self.error("school_code", f"school {code!r} is outside your scope")
            return None
        return school

    def unique(self, seen: set[str], column: str, value: str) -> None:
        if value in seen:
            self.error(column, f"{value!r} appears twice in the file")
        seen.add(value)

    def password(self, row: dict[str, str], username: str) -> str:
        pw = row.get("password", "")
        if pw and not 8 <= len(pw) <= 128:
            self.error("password", "must be 8 to 128 characters")
        if not pw:
            pw = secrets.token_urlsafe(9)
            self.result.credentials.append({"username": username, "password": pw})
        return pw

    async def run(self, dry_run: bool) -> ImportResult:
        handler: Callable[[], Any] = getattr(self, f"_{self.kind}")
        builders = await handler()
        if self.result.errors or dry_run:
            self.result.credentials = []
        if self.result.errors:
            raise RosterRejected(
                f"{len(self.result.errors)} error(s) in the file; nothing was imported", errors=self.result.errors[:500], rows=len(self.rows)
            )
        if dry_run:
            return self.result
        for build in builders:
            await build()
        await self.db.flush()
        self.result.created = len(builders)
        return self.result

    async def _districts(self) -> list[Callable[[], Any]]:
        if self.admin.role != Role.CITY_ADMIN:
            raise Forbidden("only a city admin imports districts")
        existing = set((await self.db.execute(select(District.code))).scalars())
        out, seen = [], set[str]()
        for self.line, row in enumerate(self.rows, start=2):
            code, name = self.text(row, "code"), self.text(row, "name")
            self.unique(seen, "code", code)
            if code in existing:
                self.error("code", f"district {code!r} already exists")
            out.append(self._adder(District(city_id=self.admin.city_id, code=code, name=name)))
        return out

    async def _schools(self) -> list[Callable[[], Any]]:
        if self.admin.role not in (Role.CITY_ADMIN, Role.DISTRICT_ADMIN):
            raise Forbidden("only a city or district admin imports schools")
        districts = {d.code: d for d in (await self.db.execute(select(District))).scalars()}
        existing = set((await self.db.execute(select(School.code))).scalars())
        out, seen = [], set[str]()
        for self.line, row in enumerate(self.rows, start=2):
            dcode, code, name = self.text(row, "district_code"), self.text(row, "code"), self.text(row, "name")
            stage = STAGES.get(row.get("stage") or "junior")
            if stage is None:
                self.error("stage", "use 初中, 高中 or 完全中学")
            district = districts.get(dcode)
            if dcode and district is None:
                self.error("district_code", f"no district with code {dcode!r}")
            elif district is not None and not await district_in_scope(self.admin, district):
                self.error("district_code", f"district {dcode!r} is outside your scope")
            self.unique(seen, "code", code)
            if code in existing:
                self.error("code", f"school {code!r} already exists")
            if district is not None:
                out.append(self._adder(School(district_id=district.id, code=code, name=name, stage=stage or "junior")))
        return out

    async def _classes(self) -> list[Callable[[], Any]]:
        schools = await self.schools_by_code({r.get("school_code", "") for r in self.rows})
        existing = set((await self.db.execute(select(SchoolClass.school_id, SchoolClass.grade, SchoolClass.name))).all())
        out, seen = [], set[str]()
        for self.line, row in enumerate(self.rows, start=2):
            school = await self.school_for(row, schools)
            grade, name = _grade(row.get("grade", "")), self.text(row, "name")
            if grade is None:
                self.error("grade", "use 7-12 or 初一..高三")
            if school is not None and grade is not None:
                key = (school.id, grade, name)
                self.unique(seen, "name", str(key))
                if key in existing:
                    self.error("name", f"class {name!r} of grade {grade} already exists")
                out.append(self._adder(SchoolClass(school_id=school.id, grade=grade, name=name)))
        return out

    async def _users(self, role: str) -> tuple[list[tuple[dict[str, str], School | None, str]], set[str]]:
        schools = await self.schools_by_code({r.get("school_code", "") for r in self.rows})
        names = [r.get("username", "") for r in self.rows]
        taken = set((await self.db.execute(select(User.username).where(User.username.in_(names)))).scalars())
        checked, seen = [], set[str]()
        for self.line, row in enumerate(self.rows, start=2):
            username = self.text(row, "username")
            self.text(row, "real_name")
            self.unique(seen, "username", username)
            if username in taken:
                self.error("username", f"username {username!r} is taken")
            school = await self.school_for(row, schools)
            checked.append((row, school, self.password(row, username)))
        return checked, taken

    async def _students(self) -> list[Callable[[], Any]]:
        checked, _ = await self._users("student")
        classes = {(c.school_id, c.grade, c.name): c for c in (await self.db.execute(select(SchoolClass))).scalars()}
        out = []
        for self.line, (row, school, pw) in enumerate(checked, start=2):
            grade = _grade(row.get("grade", ""))
            if grade is None:
                self.error("grade", "use 7-12 or 初一..高三")
                continue
            klass = classes.get((school.id, grade, row.get("class_name", ""))) if school else None
            if school is not None and klass is None:
                self.error("class_name", f"no class {row.get('class_name')!r} in grade {grade} of this school")
            if school is None or klass is None:
                continue
            out.append(
                self._adder(
                    User(
                        # password_hash holds the plain password until _adder hashes it on write.
                        username=row["username"],
                        password_hash=pw,
                        role=Role.STUDENT,
                        real_name=row["real_name"],
                        city_id=None,
                        district_id=school.district_id,
                        school_id=school.id,
                        class_id=klass.id,
                        grade=grade,
                    )
                )
            )
        return out

    async def _tutors(self) -> list[Callable[[], Any]]:
        checked, _ = await self._users("tutor")
        subjects = set((await self.db.execute(select(Subject.code))).scalars())
        out = []
        for self.line, (row, school, pw) in enumerate(checked, start=2):
            title = TITLES.get(row.get("title", ""))
            if title is None:
                self.error("title", "use 高级, 中级 or 初级")
            codes = [c.strip() for c in row.get("subjects", "").replace("、", ";").split(";") if c.strip()]
            bad = [c for c in codes if c not in subjects]
            if not codes or bad:
                self.error("subjects", f"unknown subject(s) {bad}" if bad else "at least one subject")
            bands = {BANDS.get(b.strip()) for b in row.get("grade_bands", "").replace("、", ";").split(";") if b.strip()}
            if not bands or None in bands:
                self.error("grade_bands", "use 初中 and/or 高中, separated by ;")
            if school is None or title is None or bad or not codes or None in bands or not bands:
                continue
            out.append(self._tutor_adder(row, school, pw, title, codes, bands))
        return out

    def _adder(self, obj: Any) -> Callable[[], Any]:
        async def add() -> None:
            if isinstance(obj, User):
                obj.password_hash = await asyncio.to_thread(hash_password, obj.password_hash)
                obj.city_id = await _city_of(self.db, obj.district_id)
            self.db.add(obj)

        return add

    def _tutor_adder(self, row: dict[str, str], school: School, pw: str, title: str, codes: list[str], bands: set[str | None]) -> Callable[[], Any]:
        async def add() -> None:
            user = User(
                username=row["username"],
                password_hash=await asyncio.to_thread(hash_password, pw),
                role=Role.TUTOR,
                real_name=row["real_name"],
                district_id=school.district_id,
                school_id=school.id,
                city_id=await _city_of(self.db, school.district_id),
            )
            self.db.add(user)
            await self.db.flush()
            # Imported tutors still go through the three-level review before they may go on duty.
            self.db.add(
                TutorProfile(
                    user_id=user.id, title=title, teaches_junior="junior" in bands, teaches_senior="senior" in bands, status="pending_school"
                )
            )
            await self.db.flush()
            self.db.add_all([TutorSubject(user_id=user.id, subject_code=c) for c in codes])
            self.db.add(TutorReview(tutor_id=user.id, action="submitted", actor_id=self.admin.id, reason="roster import"))

        return add


async def _city_of(db: AsyncSession, district_id: int | None) -> int | None:
    district = await db.get(District, district_id) if district_id is not None else None  # identity-map cached
    return district.city_id if district else None


async def import_roster(db: AsyncSession, admin: User, kind: str, raw: bytes, dry_run: bool = False) -> ImportResult:
    """Check the file; unless `dry_run`, write it. Raises RosterRejected with every row error."""
    return await _Importer(db, admin, kind, parse_csv(raw, kind)).run(dry_run)
