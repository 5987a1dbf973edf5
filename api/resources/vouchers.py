"""POST /api/vouchervalue (one customer) and POST /api/vouchervalues (a batch)."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from itertools import chain
from typing import Any

import falcon

from api.contract import (
    BatchCounts,
    BatchResult,
    VoucherBatchAnswer,
    decode_batch,
    encode,
)
from api.problems import (
    InvalidFields,
    MalformedBody,
    TooManyCustomers,
    UnknownCountryProblem,
    problem_document,
)
from api.resources.json_body import decode_object, read_body
from api.store import SnapshotStore
from api.validation import (
    check_request,
    decode_fast,
    field_error,
    read_item,
    read_request,
)
from api.vouchers import UnknownCountry, choose_voucher

REFUSED = "refused"  # a batch item answered with a problem
# A batch's counts always carry every key, zeros included.
COUNT_KEYS = BatchCounts.__struct_fields__


class VoucherValueResource:
    requires_api_key = True

    def __init__(self, store: SnapshotStore, max_body_bytes: int) -> None:
        self._store = store
        self._limit = max_body_bytes

    async def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        body, errors = read_request(await read_body(req, self._limit), self._limit)
        snapshot = self._store.require()  # one snapshot for the whole request
        request = check_request(body, errors, snapshot, datetime.now(UTC))
        answer = choose_voucher(snapshot, request)
        req.context.answer = answer  # for the access log
        resp.data = encode(answer)
        resp.content_type = falcon.MEDIA_JSON


class VoucherBatchResource:
    """Many customers in one request: {"customers": [<lookup body>, ...]}.

    Each item is checked and answered exactly as POST /api/vouchervalue would
    (same validation, same choice), all from one snapshot, in input order. An
    item that would be a 400/404/422 there gets its own problem document here
    and the others are still answered: the batch itself is a 200 unless the
    body as a whole is wrong (not JSON, no list, too large, too many items).
    """

    requires_api_key = True

    def __init__(
        self, store: SnapshotStore, max_body_bytes: int, max_customers: int
    ) -> None:
        self._store = store
        self._limit = max_body_bytes
        self._max_customers = max_customers

    async def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        raw = await read_body(req, self._limit)
        customers = _customers(raw, self._limit)
        if len(customers) > self._max_customers:
            raise TooManyCustomers(limit=self._max_customers, count=len(customers))
        snapshot = self._store.require()  # one snapshot for every item
        now = datetime.now(UTC)
        limit = self._limit
        results = [_answer_one(snapshot, item, limit, now) for item in customers]
        found = Counter(
            result.answer.source if result.status == 200 else REFUSED
            for result in results
        )
        answer = VoucherBatchAnswer(
            built_at=snapshot.built_at_text,
            customers=len(results),
            counts=BatchCounts(**{key: found[key] for key in COUNT_KEYS}),
            results=results,
        )
        req.context.batch = answer  # for the access log: its size and counts
        resp.data = encode(answer)
        resp.content_type = falcon.MEDIA_JSON


def _customers(raw: bytes, limit: int) -> list[Any]:
    """The items of a batch: raw JSON each (msgspec.Raw), or, when the batch
    takes the slow path, decoded values."""
    batch = decode_fast(decode_batch, raw, limit)
    if batch is not None:
        return batch.customers
    customers = decode_object(raw, limit, _batch_leaves).get("customers")
    if not isinstance(customers, list) or not customers:
        raise InvalidFields(
            errors=[
                field_error(
                    "customers", "is required: a non-empty list of lookup bodies"
                )
            ]
        )
    return customers


def _batch_leaves(body: dict[str, Any]) -> Any:
    customers = body.get("customers")
    items = customers if isinstance(customers, list) else ()
    return chain(
        body.values(),
        chain.from_iterable(i.values() for i in items if isinstance(i, dict)),
    )


def _answer_one(snapshot, item: Any, limit: int, now: datetime) -> BatchResult:
    """Status 200 and the answer, or the status and problem the single route
    would have answered."""
    try:
        request = check_request(*read_item(item, limit), snapshot, now)
        return BatchResult(status=200, answer=choose_voucher(snapshot, request))
    except UnknownCountry as error:
        problem = UnknownCountryProblem.of(error)
    except (InvalidFields, MalformedBody) as error:
        problem = error
    return BatchResult(status=problem.status_code, problem=problem_document(problem))
