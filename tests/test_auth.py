"""infra.backends.reference.auth: admin credentials, API JWTs and stream tokens."""

from __future__ import annotations

import base64
import json
import stat
import time

import jwt
import pytest

from infra.backends.reference.auth import (API_AUDIENCE, STREAM_AUDIENCE, Credentials, TokenIssuer, Unauthorized, bearer)

SECRET = b"k" * 32


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def issuer(clock=time.time, secret=SECRET) -> TokenIssuer:
    return TokenIssuer(secret, api_ttl=3600, stream_ttl=300, clock=clock)


# -- credentials -------------------------------------------------------------------------

def test_login_check():
    creds = Credentials("admin@swarmspec.test", "s3cret")
    assert creds.check("admin@swarmspec.test", "s3cret")
    assert not creds.check("admin@swarmspec.test", "s3cret ")
    assert not creds.check("admin@swarmspec.test", "S3cret")
    assert not creds.check("other@swarmspec.test", "s3cret")
    assert not creds.check("admin@swarmspec.test", "")
    assert not creds.check(None, "s3cret")
    assert not creds.check("admin@swarmspec.test", None)
    assert not creds.check(["admin@swarmspec.test"], {"p": 1})
    assert Credentials("ädmin@x.test", "pässwört").check("ädmin@x.test", "pässwört")   # non-ASCII is fine


def test_load_reads_the_credentials_file(tmp_path):
    path = tmp_path / "credentials.json"
    path.write_text(json.dumps({"email": "file@x.test", "password": "from-file"}))
    assert Credentials.load(path) == Credentials("file@x.test", "from-file")
    assert Credentials.load(path, email="env@x.test") == Credentials("file@x.test", "from-file")


def test_env_provided_credentials_win_and_need_no_file(tmp_path):
    path = tmp_path / "credentials.json"
    assert Credentials.load(path, "env@x.test", "from-env") == Credentials("env@x.test", "from-env")
    path.write_text(json.dumps({"email": "file@x.test", "password": "from-file"}))
    assert Credentials.load(path, "env@x.test", "from-env") == Credentials("env@x.test", "from-env")


def test_a_missing_file_is_an_error_that_says_what_to_do(tmp_path):
    path = tmp_path / "credentials.json"
    with pytest.raises(FileNotFoundError, match="SWARMSPEC_ADMIN_PASSWORD") as info:
        Credentials.load(path)
    assert str(path) in str(info.value)
    assert not path.exists(), "the backend never writes the credentials file"


# -- tokens ------------------------------------------------------------------------------

def test_api_token_verifies():
    tokens = issuer()
    claims = tokens.verify(tokens.api_token("admin@swarmspec.test"), API_AUDIENCE)
    assert claims["sub"] == "admin@swarmspec.test"
    assert claims["aud"] == API_AUDIENCE
    assert claims["exp"] - claims["iat"] == 3600


def test_stream_token_verifies_for_streams_only():
    tokens = issuer()
    token, _ = tokens.stream_token("source-id", "ab" * 20)
    claims = tokens.verify(token, STREAM_AUDIENCE)
    assert (claims["sub"], claims["ih"]) == ("source-id", "ab" * 20)
    assert claims["exp"] - claims["iat"] == 300
    with pytest.raises(Unauthorized, match="invalid token"):
        tokens.verify(token, API_AUDIENCE)             # a stream token is not an API token


def test_api_token_is_not_a_stream_token():
    tokens = issuer()
    with pytest.raises(Unauthorized):
        tokens.verify(tokens.api_token("admin"), STREAM_AUDIENCE)


def test_expired_token_is_rejected():
    two_hours_ago = time.time() - 7200
    old = issuer(clock=lambda: two_hours_ago)
    with pytest.raises(Unauthorized, match="expired"):
        issuer().verify(old.api_token("admin"), API_AUDIENCE)
    with pytest.raises(Unauthorized, match="expired"):
        issuer().verify(old.stream_token("s", "ab" * 20)[0], STREAM_AUDIENCE)
    # ... while one issued a moment ago is still fine.
    recent = issuer(clock=lambda: time.time() - 60)
    assert issuer().verify(recent.api_token("admin"), API_AUDIENCE)["sub"] == "admin"


def test_tampered_signature_is_rejected():
    tokens = issuer()
    header, payload, signature = tokens.api_token("admin").split(".")
    middle = len(signature) // 2
    flipped = signature[:middle] + ("A" if signature[middle] != "A" else "B") + signature[middle + 1:]
    with pytest.raises(Unauthorized, match="invalid token"):
        tokens.verify(f"{header}.{payload}.{flipped}", API_AUDIENCE)


def test_tampered_payload_is_rejected():
    tokens = issuer()
    header, payload, signature = tokens.stream_token("source-a", "aa" * 20)[0].split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["sub"] = "source-b"
    forged = f"{header}.{b64url(json.dumps(claims).encode())}.{signature}"
    with pytest.raises(Unauthorized):
        tokens.verify(forged, STREAM_AUDIENCE)


def test_token_signed_with_another_key_is_rejected():
    with pytest.raises(Unauthorized):
        issuer().verify(issuer(secret=b"x" * 32).api_token("admin"), API_AUDIENCE)


def test_alg_none_is_rejected():
    now = int(time.time())
    header = b64url(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    payload = b64url(json.dumps({"sub": "admin", "aud": API_AUDIENCE, "iat": now, "exp": now + 3600}).encode())
    token = f"{header}.{payload}."
    # Sanity: the forged token is well-formed, only its algorithm is wrong.
    assert jwt.decode(token, options={"verify_signature": False}, algorithms=["none"])["sub"] == "admin"
    with pytest.raises(Unauthorized):
        issuer().verify(token, API_AUDIENCE)


@pytest.mark.parametrize("missing", ["exp", "iat", "sub", "aud"])
def test_required_claims(missing):
    now = int(time.time())
    claims = {"sub": "admin", "aud": API_AUDIENCE, "iat": now, "exp": now + 60}
    del claims[missing]
    token = jwt.encode(claims, SECRET, algorithm="HS256")
    with pytest.raises(Unauthorized):
        issuer().verify(token, API_AUDIENCE)


@pytest.mark.parametrize("garbage", ["", "abc", "a.b.c", "Bearer x"])
def test_garbage_is_rejected(garbage):
    with pytest.raises(Unauthorized):
        issuer().verify(garbage, API_AUDIENCE)


def test_signing_key_persists_in_the_data_dir(tmp_path):
    first = TokenIssuer.from_dir(tmp_path / "data", 60, 60)
    key = tmp_path / "data" / "jwt-secret"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600 and len(key.read_bytes()) == 32
    token = first.api_token("admin")
    second = TokenIssuer.from_dir(tmp_path / "data", 60, 60)
    assert second.verify(token, API_AUDIENCE)["sub"] == "admin"     # tokens outlive a restart
    with pytest.raises(Unauthorized):
        TokenIssuer.from_dir(tmp_path / "elsewhere", 60, 60).verify(token, API_AUDIENCE)


@pytest.mark.parametrize(("header", "expected"), [
    (None, None),
    ("", None),
    ("Bearer abc.def.ghi", "abc.def.ghi"),
    ("bearer abc", "abc"),
    ("BEARER abc", "abc"),
    ("Bearer   abc  ", "abc"),
    ("Bearer", None),
    ("Bearer ", None),
    ("Bearer    ", None),
    ("Basic dXNlcjpwdw==", None),
    ("Bearerabc", None),
    ("Token abc", None),
])
def test_bearer(header, expected):
    assert bearer(header) == expected


def test_a_stream_token_may_be_asked_shorter_never_longer():
    tokens = issuer()
    _, ttl = tokens.stream_token("s", "ab" * 20, lifetime=1)
    assert ttl == 1
    _, ttl = tokens.stream_token("s", "ab" * 20, lifetime=10 ** 9)
    assert ttl == int(tokens.stream_ttl)
    token, ttl = tokens.stream_token("s", "ab" * 20)
    claims = tokens.verify(token, STREAM_AUDIENCE)
    assert claims["exp"] - claims["iat"] == ttl == int(tokens.stream_ttl)
