"""The Setup pages and their JSON twins: the shipped setup listed as the CLI and
examples/setup.yaml give it, the admin's edits (a template, an SSP row, a setup file) through
`setup load`'s checks and audit log, and users and API tokens."""

import html
import json
import re
from pathlib import Path

import yaml
from webclient import PASSWORD, Web, flashes

EXAMPLE = yaml.safe_load(
    (Path(__file__).parents[2] / "examples" / "setup.yaml").read_text(encoding="utf-8")
)


def said(page):
    return [html.unescape(f) for f in flashes(page.text)]


def audit(web_db, kind):
    return json.loads(web_db("audit", "list", "--kind", kind, "--format", "json").output)["rows"]


def test_the_listings_show_the_shipped_setup(viewer):
    page = viewer.get("/setup")
    assert page.status_code == 200
    books = viewer.api("GET", "/api/v1/setup/books").json()["rows"]
    assert [(b["name"], b["primary"], b["currency"], b["methods"]) for b in books] == [
        (b["name"], b.get("primary", False), b["currency"], b.get("methods", {}))
        for b in EXAMPLE["books"]
    ]
    templates = {t["name"]: t for t in viewer.api("GET", "/api/v1/setup/templates").json()["rows"]}
    for entry in EXAMPLE["pob_templates"]:
        shown = templates[entry["name"]]
        assert shown["method"] == entry["method"]
        assert shown["params"] == entry.get("params", {})
        assert shown["events"] == entry.get("events", [])
        assert shown["accounts"] == entry.get("accounts", {})
        assert f'data-template="{entry["name"]}"' in page.text
    ssp = viewer.api("GET", "/api/v1/setup/ssp").json()["rows"]
    assert ssp == [
        {
            "item_code": r["item_code"],
            "currency": r["currency"],
            "ssp": r.get("ssp"),
            "ssp_percent_of_list": r.get("ssp_percent_of_list"),
            "valid_from": r["valid_from"].isoformat() if "valid_from" in r else None,
            "valid_to": None,
        }
        for r in EXAMPLE["ssp"]
    ]
    table = page.text.split('id="ssp-table"')[1].split("</table>")[0]
    assert re.findall(r'data-col="ssp" class="num">([^<]*)<', table) == ["75000.00", "", "25000.00"]
    accounts = viewer.api("GET", "/api/v1/setup/accounts").json()["rows"]
    defaults = {a["role"]: a["gl_code"] for a in accounts if a["scope"] == "default"}
    assert defaults.items() >= EXAMPLE["accounts"].items()
    assert {
        (a["applies_to"], a["role"], a["gl_code"]) for a in accounts if a["scope"] == "template"
    } == {("support_monthly", "revenue", "4010")}
    assert "<code>4010</code>" in page.text


def test_periods_and_mappings_are_the_clis(viewer, web_db):
    periods = json.loads(web_db("period", "status", "--format", "json").output)["rows"]
    assert viewer.api("GET", "/api/v1/setup/periods").json()["rows"] == periods
    assert ("LOCAL", "2024-03", "open") in [(p["book"], p["period"], p["status"]) for p in periods]
    listed = json.loads(web_db("mapping", "list", "--format", "json").output)["rows"]
    shown = viewer.api("GET", "/api/v1/setup/mappings").json()["rows"]
    assert [{k: v for k, v in m.items() if k != "attribute_map"} for m in shown] == listed
    assert all(len(m["attribute_map"]) == m["attributes"] for m in shown)
    recurly = next(m for m in shown if m["name"] == "recurly")
    assert {"name": "amount", "upload_name": "total_amount", "required": True} | {
        "type": "signed_amount"
    } in recurly["attribute_map"]
    page = viewer.get("/setup").text
    assert 'data-mapping="recurly" data-upload-type="billing"' in page
    assert '<td data-col="upload_name">line_item_end_date</td>' in page
    exported = viewer.get("/setup/mappings/recurly/export?upload_type=billing")
    assert exported.text == web_db("mapping", "export", "recurly", "--type", "billing").output


def test_an_accountant_sees_the_setup_and_cannot_change_it(accountant):
    page = accountant.get("/setup").text
    for hidden in ('action="/setup/templates"', 'action="/setup/ssp"', 'action="/setup/file"'):
        assert hidden not in page
    assert 'id="users"' not in page
    assert "Save template" not in accountant.get("/setup/templates/support_monthly").text
    refused = accountant.post(
        "/setup/templates", data={"name": "support_monthly", "method": "ratable_daily"}
    )
    assert refused.status_code == 403
    assert "an accountant may not change the setup" in refused.text
    assert accountant.post("/setup/users", data={"name": "x", "role": "admin"}).status_code == 403
    api = accountant.api("POST", "/api/v1/setup", json={"ssp": []})
    assert api.status_code == 403
    assert api.json()["error"]["message"] == "an accountant may not change the setup"
    assert accountant.api("GET", "/api/v1/users").status_code == 403
    assert len(accountant.api("GET", "/api/v1/setup/ssp").json()["rows"]) == 3


def test_the_admin_edits_a_templates_parameters_and_the_audit_log_has_it(admin, web_db):
    page = admin.get("/setup/templates/support_monthly")
    assert "<option selected>full_month</option>" in page.text
    saved = admin.post(
        "/setup/templates",
        data={"name": "support_monthly", "method": "ratable_monthly", "convention": "mid_month"},
    )
    assert said(saved) == ["POB template support_monthly changed"]
    found = admin.api("GET", "/api/v1/setup/templates/support_monthly").json()
    assert found["params"] == {"convention": "mid_month"}
    assert found["accounts"] == {"revenue": "4010"}  # a key left out is left alone
    load, edit = audit(web_db, "setup")[-2:]
    assert (load["user"], load["action"], load["after"]) == (
        "admin",
        "setup.load",
        {"pob_templates": 1},
    )
    assert (edit["user"], edit["action"], edit["entity"]) == (
        "admin",
        "setup.edit",
        "pob_template:support_monthly",
    )
    assert edit["before"]["params"] == {"convention": "full_month"}
    assert edit["after"]["params"] == {"convention": "mid_month"}
    again = admin.post(
        "/setup/templates",
        data={"name": "support_monthly", "method": "ratable_monthly", "convention": "mid_month"},
    )
    assert said(again) == ["POB template support_monthly unchanged"]
    added = admin.post(
        "/setup/templates",
        data={"name": "go_live_evt", "method": "event", "events": "go_live, acceptance"},
    )
    assert said(added) == ["POB template go_live_evt added"]
    assert admin.api("GET", "/api/v1/setup/templates/go_live_evt").json()["events"] == [
        "go_live",
        "acceptance",
    ]


def test_a_bad_value_shows_the_setup_files_message_and_changes_nothing(admin, web_db):
    bad = admin.post(
        "/setup/templates",
        data={"name": "support_monthly", "method": "ratable_daily", "convention": "full_month"},
    )
    assert said(bad) == [
        (
            "POB template 'support_monthly': params.convention: only a ratable_monthly template "
            "has a convention; this one is ratable_daily"
        )
    ]
    no_events = admin.post("/setup/templates", data={"name": "e", "method": "event"})
    assert said(no_events) == [
        (
            "POB template 'e': events: an event template lists the events it accepts, "
            "such as [milestone]"
        )
    ]
    both = admin.post(
        "/setup/ssp",
        data={"item_code": "LIC", "currency": "USD", "ssp": "1", "ssp_percent_of_list": "5"},
    )
    assert said(both) == ["SSP row LIC USD: give exactly one of ssp, ssp_percent_of_list"]
    cents = admin.post("/setup/ssp", data={"item_code": "LIC", "currency": "JPY", "ssp": "1.5"})
    assert said(cents) == ["SSP row LIC JPY: ssp: '1.5' has 1 decimals; JPY allows at most 0"]
    template = admin.api("GET", "/api/v1/setup/templates/support_monthly").json()
    assert template["method"] == "ratable_monthly"
    assert len(admin.api("GET", "/api/v1/setup/ssp").json()["rows"]) == 3
    assert {e["user"] for e in audit(web_db, "setup")} == {"root"}  # `init --demo` alone


def test_the_admin_changes_and_adds_ssp_rows(admin, web_db):
    form = admin.get("/setup/ssp?item_code=SUP&currency=USD&valid_from=2024-01-01").text
    assert 'name="ssp_percent_of_list" inputmode="decimal" value="20"' in form
    changed = admin.post(
        "/setup/ssp",
        data={"item_code": "SUP", "currency": "usd", "valid_from": "2024-01-01"}
        | {"ssp_percent_of_list": "18.5"},
    )
    assert said(changed) == ["SSP row SUP USD 2024-01-01 changed"]
    added = admin.post(
        "/setup/ssp",
        data={"item_code": "LIC", "currency": "USD", "ssp": "80000", "valid_from": "2024-04-01"},
    )
    assert said(added) == ["SSP row LIC USD 2024-04-01 added"]
    rows = admin.api("GET", "/api/v1/setup/ssp").json()["rows"]
    assert [
        (r["item_code"], r["ssp"], r["ssp_percent_of_list"], r["valid_from"]) for r in rows
    ] == [
        ("LIC", "75000.00", None, None),
        ("SUP", None, "18.5", "2024-01-01"),
        ("IMP", "25000.00", None, None),
        ("LIC", "80000.00", None, "2024-04-01"),
    ]
    edits = [e for e in audit(web_db, "setup") if e["action"] == "setup.edit"]
    assert [(e["entity"], e["user"]) for e in edits] == [
        ("ssp:SUP:USD:2024-01-01", "admin"),
        ("ssp:LIC:USD:2024-04-01", "admin"),
    ]
    assert edits[0]["before"]["ssp_percent_of_list"] == "20"
    assert edits[1]["before"] is None


def test_an_uploaded_setup_file_is_loaded_as_the_cli_loads_it(admin, web_db, tmp_path):
    bad = (
        b"books:\n  - {name: PRIMARY, primary: true}\n  - {name: LOCAL, primary: true}\n"
        b"pob_templates:\n  - {name: x, method: event, evnets: [a]}\n"
        b"jobs:\n  - {name: revenue_process, every: soon}\n"
    )
    refused = admin.post("/setup/file", files={"file": ("setup.yaml", bad)})
    (tmp_path / "setup.yaml").write_bytes(bad)
    cli = web_db("setup", "load", tmp_path / "setup.yaml", ok=False)
    assert cli.exit_code == 1
    problems = said(refused)[0].splitlines()
    assert problems[0] == "setup.yaml: 3 problems:"
    assert problems[1:] == str(cli.exception).splitlines()[1:]
    assert problems[2] == "pob_templates[0].evnets: unknown key; did you mean 'events'?"
    good = b"ssp:\n  - {item_code: LIC, currency: USD, ssp: 70000.50, valid_to: 2024-12-31}\n"
    loaded = admin.post("/setup/file", files={"file": ("prices.yml", good)})
    assert said(loaded) == ["prices.yml: loaded 1 ssp"]
    assert admin.api("GET", "/api/v1/setup/ssp").json()["rows"] == [
        {
            "item_code": "LIC",
            "currency": "USD",
            "ssp": "70000.50",
            "ssp_percent_of_list": None,
            "valid_from": None,
            "valid_to": "2024-12-31",
        }
    ]
    assert audit(web_db, "setup")[-1]["user"] == "admin"
    assert said(admin.post("/setup/file", files={"file": ("x.yaml", b"\xff\xfe")})) == [
        "x.yaml: cannot read the setup file: it is not UTF-8 text"
    ]


def test_the_setup_api_loads_a_json_document(admin):
    document = {
        "ssp": [
            {"item_code": "LIC", "currency": "USD", "ssp": "70000.00"},
            {"item_code": "SUP", "currency": "USD", "ssp_percent_of_list": 15}
            | {"valid_from": "2024-01-01"},
        ],
        "pob_templates": [{"name": "saas_daily", "method": "ratable_monthly"}],
    }
    loaded = admin.api("POST", "/api/v1/setup", json=document)
    assert loaded.status_code == 200, loaded.text
    assert loaded.json() == {"loaded": {"pob_templates": 1, "ssp": 2}}
    rows = admin.api("GET", "/api/v1/setup/ssp").json()["rows"]
    assert [(r["ssp"], r["ssp_percent_of_list"], r["valid_from"]) for r in rows] == [
        ("70000.00", None, None),
        (None, "15", "2024-01-01"),
    ]
    saas = admin.api("GET", "/api/v1/setup/templates/saas_daily").json()
    assert saas["params"] == {"convention": "prorate_days"}
    bad = admin.api(
        "POST", "/api/v1/setup", json={"ssp": [{"item_code": "A", "currency": "USD", "ssp": -5}]}
    )
    assert bad.status_code == 422
    assert bad.json()["error"]["message"] == (
        "the setup file: ssp[0].ssp: -5 is negative: an SSP is zero or more"
    )
    nul = admin.api("POST", "/api/v1/setup", json={"books": [{"name": "A\u0000"}]})
    assert nul.status_code == 422
    huge = {"item_code": "A", "currency": "USD", "ssp": "1" + "0" * 20}
    too_large = admin.api("POST", "/api/v1/setup", json={"ssp": [huge]})
    assert too_large.json()["error"]["message"] == (
        "the setup file: ssp[0].ssp: 100000000000000000000 is too large: an SSP is at most "
        "92233720368547758.07 USD"
    )
    assert admin.api("GET", "/api/v1/setup/templates/nope").status_code == 422


def test_the_admin_adds_a_user_who_can_then_log_in(admin, app):
    added = admin.post(
        "/setup/users", data={"name": "dana", "role": "accountant", "password": PASSWORD}
    )
    assert said(added) == ["user dana added (accountant)"]
    dana = Web(app).login("dana")
    assert dana.api("GET", "/api/v1/me").json()["role"] == "accountant"
    assert 'action="/setup/file"' not in dana.get("/setup").text
    assert said(admin.post("/setup/users/dana/role", data={"role": "viewer"})) == [
        "user dana is viewer"
    ]
    assert dana.api("GET", "/api/v1/me").json()["role"] == "viewer"
    short = admin.post("/setup/users", data={"name": "eve", "role": "viewer", "password": "short"})
    assert said(short) == ["a password has at least 8 characters"]
    admin.post("/setup/users/dana/active", data={"active": "false"})
    assert dana.get("/setup", follow_redirects=False).status_code == 303
    listed = {u["name"]: u for u in admin.api("GET", "/api/v1/users").json()["rows"]}
    assert (listed["dana"]["role"], listed["dana"]["active"]) == ("viewer", False)
    assert "eve" not in listed


def test_a_token_made_on_the_page_works_as_a_bearer_token(admin, web):
    made = admin.post("/setup/users/viewer/tokens", data={"label": "ci"})
    assert made.status_code == 200
    assert made.headers["cache-control"] == "no-store"
    token = re.search(r'id="token-value" data-token>(rr_[^<]+)<', made.text).group(1)
    headers = {"Authorization": f"Bearer {token}"}
    assert web.api("GET", "/api/v1/me", headers=headers).json()["name"] == "viewer"
    assert web.api("GET", "/api/v1/setup/ssp", headers=headers).status_code == 200
    assert web.api("POST", "/api/v1/setup", headers=headers, json={}).status_code == 403
    assert token not in admin.get("/setup").text  # shown once
    viewer = next(
        u for u in admin.api("GET", "/api/v1/users").json()["rows"] if u["name"] == "viewer"
    )
    assert [t["label"] for t in viewer["tokens"]] == ["ci"]


def test_the_users_api_and_an_admin_cannot_lock_themselves_out(admin, web):
    added = admin.api(
        "POST", "/api/v1/users", json={"name": "ops", "role": "admin", "password": PASSWORD}
    )
    assert added.json() == {"name": "ops", "role": "admin", "active": True}
    twice = admin.api(
        "POST", "/api/v1/users", json={"name": "ops", "role": "admin", "password": PASSWORD}
    )
    assert (twice.status_code, twice.json()["error"]["message"]) == (
        422,
        "user 'ops' exists already",
    )
    changed = admin.api("PATCH", "/api/v1/users/ops", json={"role": "viewer"})
    assert (changed.json()["role"], changed.json()["active"]) == ("viewer", True)
    assert admin.api("PATCH", "/api/v1/users/ops", json={"role": ""}).status_code == 422
    token = admin.api("POST", "/api/v1/users/ops/tokens", json={"label": "cron"}).json()
    assert token["label"] == "cron"
    me = web.api("GET", "/api/v1/me", headers={"Authorization": f"Bearer {token['token']}"})
    assert me.json()["role"] == "viewer"
    myself = admin.api("PATCH", "/api/v1/users/admin", json={"active": False})
    assert myself.status_code == 409
    page = admin.post("/setup/users/admin/role", data={"role": "viewer"})
    assert said(page) == [
        "admin cannot deactivate their own login or give up their admin role: another admin can"
    ]
    assert admin.api("GET", "/api/v1/me").json()["role"] == "admin"
