from datetime import timedelta

import jwt
from sqlalchemy import func, select

from app.models import SignIn, utcnow

from .factories import PASSWORD


async def test_sign_in_refresh_and_sign_out(client, factory):
    org = await factory.org()
    student = await factory.user("student", org)
    r = await client.post("/api/auth/sign-in", json={"username": student.username, "password": PASSWORD})
    assert r.status_code == 200
    tokens = r.json()
    auth = {"Authorization": f"Bearer {tokens['access_token']}"}
    me = (await client.get("/api/auth/me", headers=auth)).json()
    assert me["username"] == student.username and me["role"] == "student"

    # Refresh rotates: the new pair works, the old refresh token no longer does.
    r = await client.post("/api/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert r.status_code == 200
    new = r.json()
    assert new["refresh_token"] != tokens["refresh_token"]
    r = await client.post("/api/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert r.status_code == 401 and r.json()["error"] == "TokenRevoked"

    # Sign-out revokes the access token and the refresh token of that device.
    new_auth = {"Authorization": f"Bearer {new['access_token']}"}
    assert (await client.post("/api/auth/sign-out", headers=new_auth)).status_code == 204
    r = await client.get("/api/auth/me", headers=new_auth)
    assert r.status_code == 401 and r.json()["error"] == "TokenRevoked"
    r = await client.post("/api/auth/refresh", json={"refresh_token": new["refresh_token"]})
    assert r.status_code == 401


async def test_every_sign_in_is_recorded(client, factory):
    org = await factory.org()
    student = await factory.user("student", org)
    await factory.sign_in(student)
    await factory.sign_in(student)
    async with factory.session() as db:
        count = (await db.execute(select(func.count()).select_from(SignIn)
                                  .where(SignIn.user_id == student.id, SignIn.method == "password"))).scalar()
    assert count == 2


async def test_wrong_password_and_unknown_user_look_the_same(client, factory):
    org = await factory.org()
    student = await factory.user("student", org)
    wrong = await client.post("/api/auth/sign-in", json={"username": student.username, "password": "nope-nope"})
    unknown = await client.post("/api/auth/sign-in", json={"username": "ghost", "password": "nope-nope"})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json() == {"error": "InvalidCredentials", "detail": "wrong username or password"}


async def test_expired_and_forged_tokens_are_refused(client, factory, app):
    org = await factory.org()
    student = await factory.user("student", org)
    await factory.sign_in(student)
    secret = app.state.settings.secret()
    past = utcnow() - timedelta(hours=1)
    expired = jwt.encode({"sub": str(student.id), "sid": "x", "typ": "access", "exp": past}, secret, algorithm="HS256")
    r = await client.get("/api/auth/me", headers={"Authorization": f"Bearer {expired}"})
    assert r.status_code == 401 and r.json()["error"] == "TokenExpired"
    forged = jwt.encode({"sub": str(student.id), "sid": "x", "typ": "access", "exp": utcnow() + timedelta(hours=1)},
                        "another-secret", algorithm="HS256")
    r = await client.get("/api/auth/me", headers={"Authorization": f"Bearer {forged}"})
    assert r.status_code == 401 and r.json()["error"] == "NotAuthenticated"
    assert (await client.get("/api/auth/me")).json()["error"] == "NotAuthenticated"


async def test_suspended_account_cannot_sign_in(client, factory):
    org = await factory.org()
    student = await factory.user("student", org, status="suspended", suspended_reason="报告审核中")
    r = await client.post("/api/auth/sign-in", json={"username": student.username, "password": PASSWORD})
    assert r.status_code == 403
    assert r.json()["error"] == "AccountSuspended" and r.json()["reason"] == "报告审核中"


async def test_password_change_signs_out_everywhere(client, factory):
    org = await factory.org()
    student = await factory.user("student", org)
    phone = await factory.sign_in(student)
    laptop = await factory.sign_in(student)
    r = await client.post("/api/auth/password", headers=laptop,
                          json={"old_password": PASSWORD, "new_password": "a-new-password"})
    assert r.status_code == 204
    assert (await client.get("/api/auth/me", headers=phone)).status_code == 401
    r = await client.post("/api/auth/sign-in", json={"username": student.username, "password": "a-new-password"})
    assert r.status_code == 200


async def test_oversized_fields_are_rejected_not_crashing(client):
    r = await client.post("/api/auth/sign-in", json={"username": "x" * 65, "password": "y"})
    assert r.status_code == 422 and r.json()["error"] == "InvalidInput"
    r = await client.post("/api/auth/sign-in", content=b"not json", headers={"content-type": "application/json"})
    assert r.status_code == 422 and r.json()["error"] == "InvalidInput"
