"""schemathesis against the app's own OpenAPI document: every API operation, fed generated
values (valid and not), answers without a server error, as an admin (every action allowed) on
both databases. The database is a throwaway copy, so operations that change it are fuzzed too.

The operations are walked in one test (schemathesis's pytest fixture loader does not work with
this pytest); each is a Hypothesis test of its own, and every failing operation is reported."""

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

EXAMPLES = 12


def test_no_api_operation_answers_with_a_server_error(app, web_db):
    token = web_db("users", "token", "admin", "--label", "schemathesis").output.strip()
    headers = {"Authorization": f"Bearer {token}"}
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", app)
    failures, walked = [], 0
    for found in schema.get_all_operations():
        operation = found.ok()
        walked += 1

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def call(case):
            response = case.call(headers=headers)
            case.validate_response(response, checks=[not_a_server_error])

        try:
            call()
        except Exception as error:  # noqa: BLE001 (every failing operation is reported)
            failures.append(f"{operation.method.upper()} {operation.path}: {error}")
    assert walked >= 3
    assert not failures, "\n\n".join(failures)
