"""Authentication hardening against real ``nfvo serve`` processes: disabling a user ends its tokens
for good; failed password checks are limited per user name and client address (also across two
API processes on one PostgreSQL); the token request takes no credentials in the query string.

Different client addresses are real: the requests leave from 127.0.0.2, 127.0.0.3, ... (every
127/8 address is the loopback interface on Linux) to the server on 127.0.0.1."""

from __future__ import annotations

import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from requests.adapters import HTTPAdapter

from tests.integration.harness import (
    Nfvo,
    assert_problem,
    embedded_nfvo,
    fresh_postgres_database,
    fresh_redis_db,
    nfvo_env,
)

pytestmark = pytest.mark.integration

PASSWORD = "s3cret-password"
CLIENT = ("openbatonOSClient", "secret")


class FromAddress(HTTPAdapter):
    """Connections that leave from ``address``."""

    def __init__(self, address: str):
        self.address = address
        super().__init__()

    def init_poolmanager(self, *args, **kwargs):
        kwargs["source_address"] = (self.address, 0)
        super().init_poolmanager(*args, **kwargs)


def client(address: str = "127.0.0.1") -> requests.Session:
    session = requests.Session()
    session.mount("http://", FromAddress(address))
    return session


def grant(nfvo, username: str, password: str, address: str = "127.0.0.1") -> requests.Response:
    return client(address).post(f"{nfvo.url}/oauth/token", auth=CLIENT, timeout=30,
                                data={"grant_type": "password", "username": username, "password": password})


def make_user(nfvo, username: str | None = None) -> dict:
    body = {"username": username or f"user-{uuid.uuid4().hex[:8]}", "password": PASSWORD,
            "roles": [{"role": "USER", "project": "default"}]}
    answer = nfvo.api.post_json("/api/v1/users", body)
    assert answer.status_code == 201, answer.text
    return answer.json()


def assert_throttled(answer: requests.Response) -> int:
    """The answer is 429 too-many-login-failures with a Retry-After in seconds; returns it."""
    body = assert_problem(answer, 429, "too-many-login-failures")
    retry_after = int(answer.headers["Retry-After"])
    assert retry_after >= 1, answer.headers
    assert body["detail"]
    return retry_after


@pytest.fixture(scope="module")
def nfvo(tmp_path_factory):
    with embedded_nfvo(tmp_path_factory.mktemp("auth"), NFVO_LOGIN_MAX_FAILURES="3",
                       NFVO_LOGIN_MAX_USER_FAILURES="6", NFVO_LOGIN_MAX_ADDRESS_FAILURES="8",
                       NFVO_LOGIN_WINDOW_SECONDS="300") as node:
        yield node


# --- 3: disabled users ---------------------------------------------------------------------

def test_a_disabled_user_gets_no_earlier_token_back_when_enabled_again(nfvo):
    user = make_user(nfvo)
    tokens = grant(nfvo, user["username"], PASSWORD).json()
    headers = {"Authorization": f"Bearer {tokens['access_token']}", "project-id": "default"}
    assert requests.get(f"{nfvo.url}/api/v1/users/current", headers=headers, timeout=30).status_code == 200

    for enabled in (False, True):
        answer = nfvo.api.request("PUT", f"/api/v1/users/{user['id']}", json={"enabled": enabled})
        assert answer.status_code == 200 and answer.json()["enabled"] is enabled, answer.text

    assert_problem(requests.get(f"{nfvo.url}/api/v1/users/current", headers=headers, timeout=30),
                   401, "unauthenticated")
    refreshed = requests.post(f"{nfvo.url}/oauth/token", auth=CLIENT, timeout=30,
                              data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]})
    assert assert_problem(refreshed, 401, "invalid-credentials")["error"] == "invalid_grant"
    fresh = grant(nfvo, user["username"], PASSWORD)
    assert fresh.status_code == 200, fresh.text
    headers["Authorization"] = f"Bearer {fresh.json()['access_token']}"
    assert requests.get(f"{nfvo.url}/api/v1/users/current", headers=headers, timeout=30).json()["id"] == user["id"]


def test_an_update_that_leaves_the_user_enabled_keeps_its_tokens(nfvo):
    user = make_user(nfvo)
    token = grant(nfvo, user["username"], PASSWORD).json()["access_token"]
    answer = nfvo.api.request("PUT", f"/api/v1/users/{user['id']}", json={"enabled": True, "email": "a@example.org"})
    assert answer.status_code == 200, answer.text
    mine = requests.get(f"{nfvo.url}/api/v1/users/current", timeout=30,
                        headers={"Authorization": f"Bearer {token}", "project-id": "default"})
    assert mine.status_code == 200, mine.text


# --- 17: no credentials in the query string ------------------------------------------------

def test_the_token_request_refuses_credentials_in_the_query_string(nfvo):
    url = f"{nfvo.url}/oauth/token?grant_type=password&username=admin&password=test-admin-pw"
    answer = requests.post(url, auth=CLIENT, timeout=30)
    body = assert_problem(answer, 400, "bad-request")
    assert "access_token" not in body and body["error"] == "invalid_request"
    assert [e["pointer"] for e in body["errors"]] == ["/grant_type", "/username", "/password"]
    assert "'password'" in body["detail"]
    # also when the form body carries the same grant: a password in the URL is refused, not ignored
    answer = requests.post(f"{nfvo.url}/oauth/token?password=test-admin-pw", auth=CLIENT, timeout=30,
                           data={"grant_type": "password", "username": "admin", "password": "test-admin-pw"})
    assert [e["pointer"] for e in assert_problem(answer, 400, "bad-request")["errors"]] == ["/password"]
    refresh = requests.post(f"{nfvo.url}/oauth/token?grant_type=refresh_token&refresh_token=x", auth=CLIENT,
                            timeout=30)
    assert [e["pointer"] for e in assert_problem(refresh, 400)["errors"]] == ["/grant_type", "/refresh_token"]
    assert grant(nfvo, "admin", "test-admin-pw").status_code == 200  # the form body works


# --- 4: limits on failed password checks ---------------------------------------------------

def test_failed_logins_of_one_name_from_one_address_are_limited(nfvo):
    user = make_user(nfvo)
    address = "127.0.0.2"
    for _ in range(3):
        assert_problem(grant(nfvo, user["username"], "wrong-guess", address), 401, "invalid-credentials")
    refused = grant(nfvo, user["username"], "wrong-guess", address)
    assert 1 <= assert_throttled(refused) <= 300
    assert refused.json()["error"] == "temporarily_unavailable" and refused.json()["detailMessage"]
    # the password is not even checked while the pair is over its limit
    assert_throttled(grant(nfvo, user["username"], PASSWORD, address))
    # the same name from another address, and another name from the same address, still log in
    assert grant(nfvo, user["username"], PASSWORD, "127.0.0.3").status_code == 200
    assert grant(nfvo, make_user(nfvo)["username"], PASSWORD, address).status_code == 200


def test_forty_quick_guesses_get_three_answers(nfvo):
    """The probe's 40 guesses in a row: only NFVO_LOGIN_MAX_FAILURES of them reach the password check."""
    user = make_user(nfvo)
    statuses = [grant(nfvo, user["username"], f"guess-{n}", "127.0.0.4").status_code for n in range(40)]
    assert statuses == [401] * 3 + [429] * 37


def test_concurrent_guesses_cannot_slip_past_the_limit(nfvo):
    user = make_user(nfvo)
    with ThreadPoolExecutor(12) as pool:
        statuses = list(pool.map(lambda n: grant(nfvo, user["username"], f"guess-{n}", "127.0.0.5").status_code,
                                 range(12)))
    assert sorted(statuses) == [401] * 3 + [429] * 9


def test_unknown_names_are_limited_like_known_ones(nfvo):
    name = f"nobody-{uuid.uuid4().hex[:8]}"
    statuses = [grant(nfvo, name, "guess", "127.0.0.6").status_code for _ in range(4)]
    assert statuses == [401, 401, 401, 429]


def test_one_address_guessing_many_names_is_limited(nfvo):
    address = "127.0.0.7"
    statuses = [grant(nfvo, f"spray-{n}-{uuid.uuid4().hex[:6]}", "guess", address).status_code for n in range(9)]
    assert statuses == [401] * 8 + [429]  # NFVO_LOGIN_MAX_ADDRESS_FAILURES=8
    assert_throttled(grant(nfvo, make_user(nfvo)["username"], PASSWORD, address))
    assert grant(nfvo, "admin", "test-admin-pw", "127.0.0.8").status_code == 200


def test_guesses_from_many_addresses_slow_a_name_but_never_lock_out_a_clean_address(nfvo):
    user = make_user(nfvo)
    for address in ("127.0.1.1", "127.0.1.2"):  # 6 failures: the per-user cap
        for _ in range(3):
            assert_problem(grant(nfvo, user["username"], "wrong", address), 401)
    # beyond the cap each address gets one try per window for this name, not three
    assert_problem(grant(nfvo, user["username"], "wrong", "127.0.1.3"), 401)
    assert_throttled(grant(nfvo, user["username"], "wrong", "127.0.1.3"))
    assert_problem(grant(nfvo, user["username"], "wrong", "127.0.1.4"), 401)
    # an address with no failure of its own logs in with the right password, again and again
    for _ in range(3):
        assert grant(nfvo, user["username"], PASSWORD, "127.0.1.9").status_code == 200


def test_a_correct_password_clears_the_failures_of_its_name_and_address(nfvo):
    user = make_user(nfvo)
    for _ in range(2):
        assert_problem(grant(nfvo, user["username"], "typo", "127.0.2.1"), 401)
    assert grant(nfvo, user["username"], PASSWORD, "127.0.2.1").status_code == 200
    statuses = [grant(nfvo, user["username"], "typo", "127.0.2.1").status_code for _ in range(4)]
    assert statuses == [401, 401, 401, 429]


def test_http_basic_on_vnfpkgm_is_limited_too(nfvo):
    user = make_user(nfvo)
    url = f"{nfvo.url}/vnfpkgm/v1/vnf_packages"
    session = client("127.0.0.9")
    for _ in range(3):
        assert_problem(session.get(url, auth=(user["username"], "wrong"), timeout=30), 401, "invalid-credentials")
    assert_throttled(session.get(url, auth=(user["username"], "wrong"), timeout=30))
    assert_throttled(session.get(url, auth=(user["username"], PASSWORD), timeout=30))
    assert client("127.0.0.10").get(url, auth=(user["username"], PASSWORD), timeout=30).status_code == 200


def test_a_refusal_ends_with_its_window(tmp_path):
    with embedded_nfvo(tmp_path, NFVO_LOGIN_MAX_FAILURES="1", NFVO_LOGIN_WINDOW_SECONDS="2") as node:
        assert_problem(grant(node, "admin", "wrong"), 401)
        assert assert_throttled(grant(node, "admin", "test-admin-pw")) <= 2
        deadline = time.monotonic() + 20
        while (answer := grant(node, "admin", "test-admin-pw")).status_code == 429 and time.monotonic() < deadline:
            time.sleep(0.5)
        assert answer.status_code == 200, answer.text


def test_two_api_processes_share_the_counts(tmp_path):
    """External mode: two ``nfvo serve`` on one PostgreSQL count the failures of one name and address together."""
    home = tmp_path / "home"
    home.mkdir()
    with fresh_postgres_database() as db_url, fresh_redis_db() as broker_url:
        env = nfvo_env(home, NFVO_DATABASE_URL=db_url, NFVO_BROKER_URL=broker_url, NFVO_SECRET_KEY="shared-key",
                       NFVO_LOGIN_MAX_FAILURES="3")
        first, second = Nfvo(home, env), Nfvo(home, env)
        migrated = first.run("db", "upgrade")
        assert migrated.returncode == 0, migrated.stderr
        try:
            first.start_server()
            second.start_server()
            statuses = [grant(node, "admin", "wrong").status_code for node in (first, second, first, second)]
            assert statuses == [401, 401, 401, 429]
            assert_throttled(grant(first, "admin", "test-admin-pw"))
            assert grant(second, "admin", "test-admin-pw", "127.0.0.2").status_code == 200
        finally:
            second.stop()
            first.stop()
