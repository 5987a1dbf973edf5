"""Canonical text for Parquet values, so ``raw`` holds every column as text.

Strings pass through untouched ('' stays '', null stays null). Other types become:

- timestamps: ``YYYY-MM-DD HH:MM:SS`` when the value is a whole second, otherwise
  ``YYYY-MM-DD HH:MM:SS.ffffff`` (six digits; nine only when a nanosecond column has
  digits beyond microseconds, so nothing is lost). Zoned timestamps are rendered in
  UTC with a ``+00:00`` suffix. This is Python's ``datetime.isoformat(sep=" ")``.
- dates: ``YYYY-MM-DD``.
- doubles: Python's ``repr`` of the value (the shortest text that reads back to
  the same double, always with a ``.`` or an exponent): ``2640.0``, ``0.1``,
  ``-0.0``, ``1e+16``, ``nan``, ``inf``, ``-inf``. It matches how the source
  already writes numbers as text (``total_orders`` = ``'4.0'``) and both
  warehouses cast it back. Narrower floats: the same, shortest for their width.
- integers and decimals: plain decimal digits (``42``, ``-7``, ``1.50``).
- booleans: ``true`` / ``false``.
"""

from collections.abc import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

# Values looked at to decide whether a column repeats itself enough.
_CARDINALITY_SAMPLE = 4096
# Timestamp ticks per second, by unit.
_UNITS_PER_SECOND = {"s": 1, "ms": 1_000, "us": 1_000_000, "ns": 1_000_000_000}


def is_supported(data_type: pa.DataType) -> bool:
    """Whether ``to_text`` can render a column of this type."""
    return _converter_for(data_type) is not None


def to_text(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    """Render one column as a ``string`` array in the canonical text form."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    converter = _converter_for(values.type)
    if converter is None:
        raise TypeError(f"cannot render {values.type} as text")
    return converter(values)


def _converter_for(
    data_type: pa.DataType,
) -> Callable[[pa.Array], pa.Array] | None:
    if pa.types.is_string(data_type):
        return lambda values: values
    if pa.types.is_large_string(data_type) or pa.types.is_string_view(data_type):
        return lambda values: values.cast(pa.string())
    if pa.types.is_dictionary(data_type):
        inner = _converter_for(data_type.value_type)
        if inner is None:
            return None
        return lambda values: inner(values.dictionary_decode())
    if pa.types.is_timestamp(data_type):
        return _distinct_values_once(_timestamp_text)
    if pa.types.is_floating(data_type):
        return _float_text
    if (
        pa.types.is_integer(data_type)
        or pa.types.is_decimal(data_type)
        or pa.types.is_boolean(data_type)
        or pa.types.is_date(data_type)
    ):
        return lambda values: values.cast(pa.string())
    if pa.types.is_null(data_type):
        return lambda values: pa.nulls(len(values), pa.string())
    return None


def _distinct_values_once(
    render: Callable[[pa.Array], pa.Array],
) -> Callable[[pa.Array], pa.Array]:
    """Render each distinct value once when a column repeats itself a lot.

    Dates stored as timestamps (``first_order_ts``) take a few thousand values
    over millions of rows; a sample decides, so unique columns pay little.
    """

    def render_distinct(values: pa.Array) -> pa.Array:
        sample = values.slice(0, _CARDINALITY_SAMPLE)
        if pc.count_distinct(sample).as_py() * 4 > len(sample):
            return render(values)
        encoded = pc.dictionary_encode(values)
        return render(encoded.dictionary).take(encoded.indices)

    return render_distinct


def _timestamp_text(values: pa.Array) -> pa.Array:
    unit = values.type.unit
    suffix = ""
    if values.type.tz is not None:
        # Dropping the zone from the type keeps the stored UTC instant.
        values = values.cast(pa.timestamp(unit))
        suffix = "+00:00"
    # Arrow's cast to string prints as many fraction digits as the unit has and is
    # an order of magnitude faster than strftime, so pick the unit per row instead
    # of editing strings; most columns need a single cast.
    ticks = values.cast(pa.int64())
    is_whole = pc.equal(pc.remainder(ticks, _UNITS_PER_SECOND[unit]), 0)
    if unit == "s" or not pc.any(pc.invert(is_whole)).as_py():
        text = _cast_text(values, "s")
    else:
        fraction = _cast_text(values, "us")
        if unit == "ns":
            is_whole_micro = pc.equal(pc.remainder(ticks, 1_000), 0)
            if not pc.all(is_whole_micro).as_py():
                fraction = pc.if_else(
                    is_whole_micro, fraction, _cast_text(values, "ns")
                )
        if pc.any(is_whole).as_py():
            text = pc.if_else(is_whole, _cast_text(values, "s"), fraction)
        else:
            text = fraction
    if suffix:
        text = pc.binary_join_element_wise(text, suffix, "")
    return text


def _cast_text(values: pa.Array, unit: str) -> pa.Array:
    # safe=False: truncating to a coarser unit is intended, the caller only uses
    # the result for rows where nothing is lost.
    return values.cast(pa.timestamp(unit), safe=False).cast(pa.string())


def _float_text(values: pa.Array) -> pa.Array:
    # Formatting in Python is exact but slow, so format each distinct value once:
    # voucher amounts take a dozen values across millions of rows.
    encoded = pc.dictionary_encode(values)
    scalar_type = {16: np.float16, 32: np.float32, 64: np.float64}[
        values.type.bit_width
    ]
    distinct = encoded.dictionary.to_numpy(zero_copy_only=False)
    # str() of a NumPy scalar is the shortest round-trip text for its own width.
    rendered = pa.array([str(scalar_type(value)) for value in distinct], pa.string())
    return rendered.take(encoded.indices)
