from sqlalchemy import func, select

from app.models import SchoolClass, TutorProfile, User


def csv_file(text: str, bom: bool = False):  # type: ignore[no-untyped-def]
    data = ("\ufeff" if bom else "") + text
    return {"file": ("roster.csv", data.encode("utf-8"), "text/csv")}


async def count(factory, model, *where):  # type: ignore[no-untyped-def]
    async with factory.session() as db:
        return (await db.execute(select(func.count()).select_from(model).where(*where))).scalar()


async def test_import_classes_and_students_with_chinese_names(client, factory):
    org = await factory.org()
    admin = await factory.sign_in(await factory.user("school_admin", org))
    code = org.schools[0].code
    r = await client.post("/api/rosters/classes", headers=admin, files=csv_file(
        f"school_code,grade,name\n{code},初一,3班\n{code},9,1班\n", bom=True))
    assert r.status_code == 201, r.text
    assert r.json()["created"] == 2
    r = await client.post("/api/rosters/students", headers=admin, files=csv_file(
        "username,real_name,school_code,grade,class_name,password\n"
        f"zhangsan,张三,{code},7,3班,initial-pass\n"
        f"lisi,李四,{code},初三,1班,\n"))
    assert r.status_code == 201, r.text
    creds = r.json()["credentials"]
    assert [c["username"] for c in creds] == ["lisi"]  # only generated passwords are returned
    assert (await client.post("/api/auth/sign-in", json={"username": "zhangsan", "password": "initial-pass"})).status_code == 200
    r = await client.post("/api/auth/sign-in", json={"username": "lisi", "password": creds[0]["password"]})
    assert r.status_code == 200
    me = (await client.get("/api/auth/me", headers={"Authorization": "Bearer " + r.json()["access_token"]})).json()
    assert me["real_name"] == "李四" and me["grade"] == 9 and me["school_id"] == org.schools[0].id


async def test_a_bad_row_rejects_the_whole_file(client, factory):
    org = await factory.org()
    admin = await factory.sign_in(await factory.user("school_admin", org))
    code = org.schools[0].code
    before = await count(factory, User)
    r = await client.post("/api/rosters/students", headers=admin, files=csv_file(
        "username,real_name,school_code,grade,class_name,password\n"
        f"wangwu,王五,{code},8,1班,good-password\n"
        f"zhaoliu,赵六,{code},13,1班,good-password\n"
        f"wangwu,王五二,{code},8,9班,short\n"))
    assert r.status_code == 422
    body = r.json()
    assert body["error"] == "RosterRejected" and "nothing was imported" in body["detail"]
    errors = {(e["line"], e["column"]) for e in body["errors"]}
    assert errors == {(3, "grade"), (4, "username"), (4, "password"), (4, "class_name")}
    assert await count(factory, User) == before
    assert await count(factory, User, User.username == "wangwu") == 0


async def test_tutor_roster_enters_review(client, factory):
    org = await factory.org()
    admin = await factory.sign_in(await factory.user("district_admin", org))
    code = org.schools[0].code
    r = await client.post("/api/rosters/tutors", headers=admin, files=csv_file(
        "username,real_name,school_code,title,subjects,grade_bands,password\n"
        f"teacher_wang,王老师,{code},中级,math;physics,初中;高中,teacher-pass\n"))
    assert r.status_code == 201, r.text
    async with factory.session() as db:
        user = (await db.execute(select(User).where(User.username == "teacher_wang"))).scalar_one()
        profile = await db.get(TutorProfile, user.id)
    assert user.role == "tutor" and profile.status == "pending_school"
    assert profile.teaches_junior and profile.teaches_senior


async def test_dry_run_checks_without_writing(client, factory):
    org = await factory.org()
    admin = await factory.sign_in(await factory.user("school_admin", org))
    r = await client.post("/api/rosters/classes?dry_run=true", headers=admin, files=csv_file(
        f"school_code,grade,name\n{org.schools[0].code},8,5班\n"))
    assert r.status_code == 201 and r.json()["dry_run"] is True
    assert await count(factory, SchoolClass, SchoolClass.name == "5班") == 0


async def test_unreadable_files_get_clear_errors(client, factory):
    org = await factory.org()
    admin = await factory.sign_in(await factory.user("school_admin", org))
    r = await client.post("/api/rosters/classes", headers=admin,
                          files={"file": ("c.csv", "school_code,grade,name\nX,8,一班\n".encode("gbk"), "text/csv")})
    assert r.status_code == 422 and "UTF-8" in r.json()["detail"]
    r = await client.post("/api/rosters/classes", headers=admin, files=csv_file("code,name\nA,B\n"))
    assert r.status_code == 422 and "missing column" in r.json()["detail"]
    r = await client.post("/api/rosters/classes", headers=admin, files=csv_file("school_code,grade,name\n"))
    assert r.status_code == 422 and "no rows" in r.json()["detail"]
    r = await client.post("/api/rosters/pets", headers=admin, files=csv_file("a\n1\n"))
    assert r.status_code == 422
