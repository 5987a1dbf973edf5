"""The yardstick for bench_api.py: the least a Falcon app can do per request.

Same route and method as the lookup, a constant JSON answer, no middleware.
"""

import falcon.asgi

ANSWER = {
    "customer_id": 123,
    "country_code": "Peru",
    "segment_name": "recency_segment",
    "segment_variant": "180+",
    "voucher_amount": 2640,
    "source": "country_fallback",
}


class ConstantResource:
    async def on_post(self, req, resp) -> None:
        resp.media = ANSWER


app = falcon.asgi.App()
app.add_route("/api/vouchervalue", ConstantResource())
