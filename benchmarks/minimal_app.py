"""The yardstick for bench_api.py: the least a Falcon app can do per request.

Same route and method as the lookup, a constant JSON answer, no middleware.
"""

import falcon
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
    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = ANSWER

    async def on_post_async(self, req, resp) -> None:
        resp.media = ANSWER


wsgi = falcon.App()
wsgi.add_route("/api/vouchervalue", ConstantResource())

asgi = falcon.asgi.App()
asgi.add_route("/api/vouchervalue", ConstantResource(), suffix="async")
