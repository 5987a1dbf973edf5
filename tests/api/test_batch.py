"""POST /api/vouchervalues: many customers, each answered as the single route would."""

from __future__ import annotations

import dataclasses
import json

import falcon.testing
import pytest

from api.app import create_app
from api.examples import EXAMPLE_REQUEST
from api.logs import AccessLog
from tests.api.fake_mart import TEST_CONFIG

AS_OF = "2019-01-01T00:00:00Z"


def frequent(country: str, orders, **extra) -> dict:
    return {
        "country_code": country,
        "segment_name": "frequent_segment",
        "total_orders": orders,
        **extra,
    }


# Valid customers of every kind the fake mart answers: a segment amount, a
# variant without history (fallback), no variant (fallback), another country.
GOOD = [
    {**EXAMPLE_REQUEST, "as_of": AS_OF},
    {"country_code": "Peru", "segment_name": "frequent_segment", "total_orders": 5},
    {"country_code": "Peru", "segment_name": "frequent_segment", "total_orders": 99},
    {"country_code": "china", "segment_name": "frequent_segment", "total_orders": 5},
    {
        "customer_id": "c-1",
        "country_code": "Peru",
        "segment_name": "frequency_segment",
        "total_orders": 20,
    },
]


def batch(client, customers, **kwargs):
    return client.simulate_post(
        "/api/vouchervalues", json={"customers": customers}, **kwargs
    )


def single(client, body):
    return client.simulate_post("/api/vouchervalue", json=body)


def without_as_of(answer: dict) -> dict:
    # Items without as_of are measured at the batch's own 'now'.
    return {k: v for k, v in answer.items() if k != "as_of"}


def test_each_customer_gets_the_single_routes_answer_in_input_order(client):
    response = batch(client, GOOD)
    assert response.status_code == 200, response.text
    document = response.json
    assert document["customers"] == len(GOOD)
    assert [r["status"] for r in document["results"]] == [200] * len(GOOD)
    for body, result in zip(GOOD, document["results"], strict=True):
        expected = single(client, body).json
        assert without_as_of(result["answer"]) == without_as_of(expected)
    sources = [r["answer"]["source"] for r in document["results"]]
    assert document["counts"] == {
        "segment": sources.count("segment"),
        "country_fallback": sources.count("country_fallback"),
        "refused": 0,  # every key, zeros included
    }
    # One snapshot for every item.
    assert {r["answer"]["built_at"] for r in document["results"]} == {
        document["built_at"]
    }


def test_a_refused_customer_gets_its_own_problem_and_the_others_are_answered(client):
    customers = [
        GOOD[0],
        {
            "country_code": "Peru",
            "segment_name": "frequent_segment",
            "total_orders": -1,
        },
        {
            "country_code": "Atlantis",
            "segment_name": "frequent_segment",
            "total_orders": 1,
        },
        "not an object",
        GOOD[1],
    ]
    response = batch(client, customers)
    assert response.status_code == 200, response.text
    results = response.json["results"]
    assert [r["status"] for r in results] == [200, 422, 404, 400, 200]
    # The same problems the single route answers for these bodies.
    assert results[1]["problem"] == single(client, customers[1]).json
    assert results[2]["problem"] == single(client, customers[2]).json
    assert results[3]["problem"]["title"] == "Malformed request body"
    assert response.json["counts"]["refused"] == 3
    assert results[4]["answer"] == single(client, GOOD[1]).json | {
        "as_of": results[4]["answer"]["as_of"]
    }


@pytest.mark.parametrize(
    "body", [{}, {"customers": []}, {"customers": {"a": 1}}, {"customers": "x"}]
)
def test_a_body_without_a_list_of_customers_is_422(client, body):
    response = client.simulate_post("/api/vouchervalues", json=body)
    assert response.status_code == 422, response.text
    assert response.json["errors"][0]["field"] == "customers"


@pytest.mark.parametrize("where", ["in an item", "beside the list"])
def test_a_body_that_is_not_utf_8_is_400_as_a_whole(client, where):
    item = json.dumps(GOOD[0]).encode()
    if where == "in an item":
        body = b'{"customers": [' + item[:-1] + b', "x": "\xff"}]}'
    else:
        body = b'{"customers": [' + item + b'], "x": "\xff"}'
    response = client.simulate_post(
        "/api/vouchervalues", body=body, content_type="application/json"
    )
    assert response.status_code == 400, response.text


def test_past_the_limits_is_413(make_client):
    small = dataclasses.replace(TEST_CONFIG, max_batch_customers=3)
    client = make_client(small)
    assert batch(client, GOOD[:3]).status_code == 200
    too_many = batch(client, GOOD[:4])
    assert too_many.status_code == 413, too_many.text
    assert too_many.json["max_customers"] == 3

    tiny = dataclasses.replace(TEST_CONFIG, max_batch_bytes=200)
    too_big = batch(make_client(tiny), GOOD)
    assert too_big.status_code == 413, too_big.text
    assert too_big.json["max_body_bytes"] == 200


def test_a_float_anywhere_in_an_item_is_read_exactly(client):
    # orjson turns integers past 64 bits into floats; such a body is read again
    # by the json module, in a batch as in a single lookup.
    huge = 2**70
    body = {**GOOD[1], "customer_id": huge, "total_orders": 5.0}
    result = batch(client, [body]).json["results"][0]
    assert result["status"] == 200, result
    assert result["answer"]["customer_id"] == huge
    assert result["answer"]["total_orders"] == 5


def test_the_access_log_says_what_was_answered(make_client, store):

    lines: list[bytes] = []
    log = AccessLog(lines.append, True, buffer_bytes=0)

    client = falcon.testing.TestClient(
        create_app(TEST_CONFIG, store=store, access_log=log)
    )
    answer = single(client, GOOD[0]).json
    batch(client, [GOOD[0], GOOD[2], {"country_code": "Peru"}])
    one, many = (json.loads(line) for line in lines)
    sources = [answer["source"], single(client, GOOD[2]).json["source"]]
    assert {k: one[k] for k in ("segment_variant", "voucher_amount", "source")} == {
        k: answer[k] for k in ("segment_variant", "voucher_amount", "source")
    }
    # The batch's size and counts, as its answer has them.
    assert many["customers"] == 3
    assert many["counts"] == {
        "segment": sources.count("segment"),
        "country_fallback": sources.count("country_fallback"),
        "refused": 1,
    }
