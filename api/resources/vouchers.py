"""POST /api/vouchervalue: the voucher amount for one customer."""

from __future__ import annotations

from datetime import UTC, datetime

import falcon

from api.resources.json_body import check_headers, decode_object, encode_answer
from api.store import SnapshotStore
from api.validation import parse_voucher_request
from api.vouchers import choose_voucher


class VoucherValueResource:
    requires_api_key = True

    def __init__(self, store: SnapshotStore, max_body_bytes: int) -> None:
        self._store = store
        self._limit = max_body_bytes

    async def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        check_headers(req, self._limit)
        # Read one byte past the limit to tell "at the limit" from "over it".
        body = decode_object(await req.stream.read(self._limit + 1), self._limit)
        snapshot = self._store.require()  # one snapshot for the whole request
        request = parse_voucher_request(body, snapshot, now=datetime.now(UTC))
        resp.data = encode_answer(choose_voucher(snapshot, request))
        resp.content_type = falcon.MEDIA_JSON
