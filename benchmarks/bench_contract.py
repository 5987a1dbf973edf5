"""Reading a lookup body against its declared contract: msgspec vs pydantic v2.

The choice of schema library behind api/contract.py, measured on the lookup
path: bytes in, checked fields out, for the example request (valid) and for a
body with three failing fields (every failure listed). msgspec is the product's
own reader (api.validation.read_request); pydantic is the same contract written
as a pydantic v2 model here, for the comparison only. orjson.loads alone (no
checks at all) is the floor.

    .venv/bin/python benchmarks/bench_contract.py [--rounds 7] [--number 20000]

Each figure is the best of the rounds (microseconds per body), measured side by
side in one run, alternating the readers round by round.
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import sys
import timeit
from pathlib import Path
from typing import Annotated, Any

import orjson
import pydantic
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import msgspec  # noqa: E402

from api.examples import EXAMPLE_REQUEST  # noqa: E402
from api.timestamps import TIMESTAMP_PATTERN, parse_timestamp  # noqa: E402
from api.validation import read_request  # noqa: E402

LIMIT = 64 * 1024


def _integral(value: Any) -> Any:
    # The contract's rule: 15.0 counts as 15 (pydantic's strict int refuses it).
    if type(value) is float and math.isfinite(value) and value.is_integer():
        return int(value)
    return value


Timestamp = Annotated[
    str,
    Field(pattern=TIMESTAMP_PATTERN, strict=True),
    AfterValidator(parse_timestamp),
]


class PydanticRequest(BaseModel):
    """api.contract.VoucherRequest, as pydantic v2 would declare it."""

    model_config = ConfigDict(extra="ignore")

    segment_name: Annotated[str, Field(strict=True)]
    country_code: Annotated[str, Field(strict=True, pattern=r"\S")]
    total_orders: (
        Annotated[int, Field(strict=True, ge=0), BeforeValidator(_integral)] | None
    ) = None
    last_order_ts: Timestamp | None = None
    first_order_ts: Timestamp | None = None
    as_of: Timestamp | None = None
    customer_id: (
        Annotated[str, Field(strict=True)]
        | Annotated[int, Field(strict=True), BeforeValidator(_integral)]
        | None
    ) = None


INVALID = {**EXAMPLE_REQUEST, "total_orders": -3, "as_of": "now", "customer_id": []}


def _msgspec(raw: bytes) -> Any:
    try:
        return read_request(raw, LIMIT)
    except Exception as error:  # noqa: BLE001 - the error path is measured too
        return error


def _pydantic(raw: bytes) -> Any:
    try:
        return PydanticRequest.model_validate_json(raw)
    except pydantic.ValidationError as error:
        return error.errors()


READERS = {"msgspec": _msgspec, "pydantic": _pydantic, "orjson.loads": orjson.loads}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--number", type=int, default=20000)
    args = parser.parse_args()
    bodies = {
        "valid": json.dumps(EXAMPLE_REQUEST).encode(),
        "3 failing fields": json.dumps(INVALID).encode(),
    }
    # Both readers agree on what is wrong before their speed means anything.
    assert not read_request(bodies["valid"], LIMIT)[1]
    failed = {e["field"] for e in read_request(bodies["3 failing fields"], LIMIT)[1]}
    assert failed == {"total_orders", "as_of", "customer_id"}, failed
    pydantic_failed = {e["loc"][0] for e in _pydantic(bodies["3 failing fields"])}
    assert pydantic_failed == failed, pydantic_failed

    best = {(r, b): math.inf for r in READERS for b in bodies}
    for _ in range(args.rounds):
        for reader_name, reader in READERS.items():
            for body_name, raw in bodies.items():
                seconds = timeit.timeit(
                    "reader(raw)",
                    number=args.number,
                    globals={"reader": reader, "raw": raw},
                )
                key = (reader_name, body_name)
                best[key] = min(best[key], seconds / args.number * 1e6)

    print(
        f"python {platform.python_version()}, msgspec {msgspec.__version__}, "
        f"pydantic {pydantic.VERSION}, orjson {orjson.__version__}; "
        f"best of {args.rounds} x {args.number}"
    )
    print(f"| reader | {' | '.join(f'{b} (µs)' for b in bodies)} |")
    print(f"| --- | {' | '.join('---:' for _ in bodies)} |")
    for reader_name in READERS:
        cells = " | ".join(f"{best[(reader_name, b)]:.2f}" for b in bodies)
        print(f"| {reader_name} | {cells} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
