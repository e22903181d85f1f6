"""The Audit page and its API (SPEC §2): the log newest first, paged and filtered, each entry's
before and after readable; "Verify the chain" intact, and naming an altered entry; compared
with `revrec audit list|verify`."""

import json
import re

import sqlalchemy as sa

from revrec.services import database

P = "2024-03"


def cli_json(web_db, *args):
    return json.loads(web_db(*args, "--format", "json").stdout)


def shown_ids(html):
    return [int(i) for i in re.findall(r'<tr id="entry-(\d+)"', html)]


def approve_and_revoke(client):
    base = f"/api/v1/journals/PRIMARY/{P}"
    assert client.api("POST", f"{base}/approve", json={}).status_code == 200
    assert client.api("POST", f"{base}/revoke").status_code == 200


def test_the_steps_are_listed_newest_first_with_their_user(accountant, web_db):
    approve_and_revoke(accountant)
    logged = cli_json(web_db, "audit", "list")["rows"]
    page = accountant.get("/audit")
    assert page.status_code == 200
    assert shown_ids(page.text) == [e["id"] for e in reversed(logged)]
    first = re.search(
        r'<tr id="entry-(\d+)" data-action="([\w.]+)">(.*?)</tr>', page.text, re.DOTALL
    )
    assert first.group(2) == "je.revoke"
    assert '<td data-col="user">accountant</td>' in first.group(3)
    assert f'<td data-col="entity">journal:PRIMARY:{P}</td>' in first.group(3)
    assert "<dt>state</dt><dd>approved</dd>" in first.group(3)  # before
    assert "<dt>state</dt><dd>draft</dd>" in first.group(3)  # after
    api = accountant.api("GET", "/api/v1/audit").json()
    assert api["rows"] == list(reversed(logged))
    assert api["count"] == len(logged)


def test_the_filters_and_the_pages_are_the_clis(accountant, web_db):
    approve_and_revoke(accountant)
    mine = accountant.api("GET", f"/api/v1/audit?kind=je&user=accountant&period={P}").json()
    assert [(e["action"], e["user"]) for e in mine["rows"]] == [
        ("je.revoke", "accountant"),
        ("je.approve", "accountant"),
    ]
    day = mine["rows"][0]["at"][:10]
    cli = cli_json(web_db, "audit", "list", "--kind", "je", "--from", day, "--to", day)
    page = accountant.get(f"/audit?kind=je&from={day}&to={day}")
    assert shown_ids(page.text) == [e["id"] for e in reversed(cli["rows"])]
    assert 'name="kind" value="je"' in page.text
    every = cli_json(web_db, "audit", "list")["rows"][::-1]
    window = accountant.get("/audit?limit=5&offset=5")
    assert shown_ids(window.text) == [e["id"] for e in every[5:10]]
    assert 'rel="prev" href="/audit?kind=&user=&from=&to=&period=&limit=5&offset=0"' in window.text
    assert 'rel="next"' in window.text
    last = accountant.api("GET", f"/api/v1/audit?limit=5&offset={len(every) - 2}").json()
    assert [e["id"] for e in last["rows"]] == [every[-2]["id"], every[-1]["id"]]
    assert last["next_offset"] is None
    assert accountant.api("GET", "/api/v1/audit?from=2024-02-30").status_code == 422
    assert accountant.api("GET", "/api/v1/audit?from=30.02.2024").status_code == 422
    assert accountant.api("GET", "/api/v1/audit?period=2024-13").status_code == 422
    empty = accountant.get("/audit?user=nobody")
    assert "No entries." in empty.text


def test_verify_says_the_chain_is_intact_and_names_an_altered_entry(viewer, web_db):
    cli = cli_json(web_db, "audit", "verify")
    assert cli["ok"] is True
    page = viewer.get("/audit/verify")
    assert 'data-ok="true"' in page.text
    assert f"The audit log is intact: {cli['entries']} entries" in page.text
    assert f'<code data-field="head">{cli["head_hash"]}</code>' in page.text
    assert viewer.api("GET", "/api/v1/audit/verify").json() == cli
    head = viewer.api("GET", f"/api/v1/audit/verify?head={cli['head_hash']}").json()
    assert head["ok"] is True
    wrong = viewer.api("GET", f"/api/v1/audit/verify?head={'a' * 64}").json()
    assert wrong["ok"] is False
    assert "no longer holds the recorded head" in wrong["problem"]
    engine = database.open_engine(web_db.url)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE audit_log SET \"user\" = 'mallory' WHERE id = 3"))
    engine.dispose()
    broken = viewer.get("/audit/verify")
    assert 'data-ok="false"' in broken.text
    assert "entry 3 was altered: its hash is not the hash of its contents" in broken.text
    assert '<a href="#entry-3">3</a>' in broken.text
    assert viewer.api("GET", "/api/v1/audit/verify").json()["first_bad_id"] == 3
