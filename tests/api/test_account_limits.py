"""How many of what one account makes it may hold (`index.limits`): one more is refused with
409 and the setting's name. A revoked or expired access token keeps its row and its name while
tokens issued for it may live (a refresh token for `alice+ci` must not come back to life with a
new `ci`), then goes, freeing both. The web UI's form says why it refused. (Many made at once:
test_concurrent_changes.py.)"""

from __future__ import annotations

import datetime
from pathlib import Path

from sqlalchemy import update

from dockyard.db.engine import Database
from dockyard.index.tables import access_tokens
from tests.support.api import assert_error, assert_status
from tests.support.index import index_server
from tests.support.web import post_form, sign_up

ALICE = ("alice", "alice-password-1")


def test_a_revoked_token_counts_until_its_refresh_tokens_expired_then_its_name_is_free(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    with index_server(data, {"DOCKYARD_INDEX__LIMITS__TOKENS_PER_USER": "2"}) as index:
        index.sign_up(ALICE)
        with index.api(ALICE) as api:
            for name in ("ci", "laptop"):
                assert_status(api.post("/api/tokens", json={"name": name, "scopes": ["read"]}), 201)
            assert_status(api.delete("/api/tokens/ci"), 204)
            refused = api.post("/api/tokens", json={"name": "deploy", "scopes": ["read"]})
            assert_error(refused, 409, "CONFLICT")
            message = refused.json()["errors"][0]["message"]
            assert "index.limits.tokens_per_user" in message and "30 days" in message, message
            again = api.post("/api/tokens", json={"name": "ci", "scopes": ["read"]})
            assert again.status_code == 409  # refused for the count, and the name is taken

            # 30 days (auth.token.refresh_lifetime_seconds) and a minute after `ci` was revoked
            # and `laptop` expired:
            database = Database(f"sqlite:///{data / 'registry.db'}")
            long_ago = datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=30, minutes=1)
            with database.engine.begin() as connection:
                ended = {"ci": {"revoked_at": long_ago}, "laptop": {"expires_at": long_ago}}
                for name, values in ended.items():
                    connection.execute(
                        update(access_tokens).where(access_tokens.c.name == name).values(values)
                    )
            database.dispose()

            assert_status(api.post("/api/tokens", json={"name": "ci", "scopes": ["read"]}), 201)
            listed = {t["name"]: t["revoked"] for t in api.get("/api/tokens").json()}
            assert listed == {"ci": False}


def test_the_tokens_page_says_why_one_more_is_refused(tmp_path: Path) -> None:
    env = {"DOCKYARD_INDEX__LIMITS__TOKENS_PER_USER": "1"}
    with index_server(tmp_path / "data", env) as index, sign_up(index.url, *ALICE) as browser:
        fields = {"name": "ci", "scope_read": "on"}
        assert post_form(browser, "/account/tokens", fields).status_code == 201
        refused = post_form(browser, "/account/tokens", {**fields, "name": "laptop"})
        assert refused.status_code == 409
        assert refused.headers["content-type"].startswith("text/html")
        assert "alice holds the most access tokens and robots allowed (1: " in refused.text
