"""An immutable, validated copy of the marts that every request reads from.

A snapshot is built from the rows of the three mart tables in one go and checked
for consistency (one build, one set of bounds) before it is ever served, so a
request sees either the whole previous build or the whole new one.

The variants' bounds are read from voucher_segment_modes, which copies them from
the seed in the same dbt build as the modes: the bounds a customer is placed
with are always the bounds the amounts were computed with. The seed table is
not read: the API's role may only read its own three views (serving.*).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any

from api import contract
from api.timestamps import format_utc
from dwh.origin import ORIGIN_SYNTHETIC
from serving.schema import CURRENT_BUILD_COLUMNS

# The measures this service knows how to compute from a request. The seed (as
# copied into voucher_segment_modes) says which measure each segment uses and
# where its variants start and end.
SUPPORTED_MEASURES = frozenset({"total_orders", "days_since_last_order"})


class SnapshotInvalid(ValueError):
    """The mart rows do not form one consistent, usable build (yet)."""


@dataclass(frozen=True, slots=True)
class SegmentDefinition:
    """A variant and its inclusive bounds, as voucher_segment_modes carries them."""

    segment_name: str
    segment_variant: str
    measure: str
    lower_bound: int
    upper_bound: int | None  # None = unbounded above
    # The seed's words for people; None in a build published before them.
    segment_label: str | None = None
    variant_label: str | None = None

    def contains(self, value: int) -> bool:
        if value < self.lower_bound:
            return False
        return self.upper_bound is None or value <= self.upper_bound


# Where built_at sits in a voucher_segment_modes row: the amounts and counts
# come before it, the seed's labels after it.
SEGMENT_MODES_BUILT_AT = 9


@dataclass(frozen=True, slots=True)
class MartRows:
    """The raw rows of the mart tables, columns in the order of the SELECTs.

    segment_modes: country_code, segment_name, segment_variant, measure,
        lower_bound, upper_bound, voucher_amount, voucher_amount_count,
        segment_voucher_count, built_at, segment_label, variant_label
    country_modes: country_code, voucher_amount, voucher_amount_count,
        country_voucher_count, built_at
    amount_counts: country_code, segment_name, segment_variant, voucher_amount,
        voucher_count, built_at
    """

    segment_modes: tuple[tuple[Any, ...], ...]
    country_modes: tuple[tuple[Any, ...], ...]
    amount_counts: tuple[tuple[Any, ...], ...]
    # serving.current_build: the publish log's row of this build, columns
    # as serving.schema.CURRENT_BUILD_COLUMNS (None: not from a warehouse).
    build: tuple[Any, ...] | None = None


# Columns added to serving.current_build after its first version, with what
# a build published before them is taken to have.
# (build_target: not known for a build published before it was shown.)
_ADDED_COLUMN_DEFAULTS = {
    "source_origin": "file",
    "load_count": 1,
    "build_target": None,
}


@dataclass(frozen=True, slots=True)
class PublishedBuild:
    """Which build a snapshot is: fields named as CURRENT_BUILD_COLUMNS."""

    publish_id: int
    invocation_id: str
    built_at: datetime
    published_at: datetime
    load_id: str
    source_file: str
    source_sha256: str
    source_rows: int
    loaded_at: datetime
    source_origin: str  # "synthetic": the generator's demo data; else "file"
    load_count: int  # loads the build read; source_* name the newest
    build_target: str | None  # the dbt adapter it was built on: spark, ...

    @classmethod
    def from_row(cls, row: tuple[Any, ...]) -> PublishedBuild:
        # Columns are only ever added at the end (serving.schema): a view an
        # older version made lacks the newest ones, which have defaults here.
        missing = CURRENT_BUILD_COLUMNS[len(row) :]
        if len(row) > len(CURRENT_BUILD_COLUMNS) or not set(missing) <= set(
            _ADDED_COLUMN_DEFAULTS
        ):
            raise SnapshotInvalid("serving.current_build has unexpected columns")
        values = dict(zip(CURRENT_BUILD_COLUMNS, row, strict=False))
        return cls(**{**_ADDED_COLUMN_DEFAULTS, **values})

    def describe(self) -> dict[str, Any]:
        """For /ready and /api/segments: which build, from which file."""
        return {
            "publish_id": int(self.publish_id),
            "invocation_id": self.invocation_id,
            "built_at": format_utc(_as_utc(self.built_at)),
            "published_at": format_utc(_as_utc(self.published_at)),
            "source_file": self.source_file,
            "source_sha256": self.source_sha256,
            "source_rows": int(self.source_rows),
            "loaded_at": format_utc(_as_utc(self.loaded_at)),
            "source_origin": self.source_origin,
            "synthetic": self.source_origin == ORIGIN_SYNTHETIC,
            "load_count": int(self.load_count),
            "built_on": self.build_target,
        }


@dataclass(frozen=True, slots=True)
class VariantMode:
    """The most used amount of one country x segment x variant (None: no history)."""

    voucher_amount: int | None
    voucher_amount_count: int
    segment_voucher_count: int


@dataclass(frozen=True, slots=True)
class CountryMode:
    """The country-wide most used amount, the fallback answer."""

    voucher_amount: int
    voucher_amount_count: int
    country_voucher_count: int


def country_key(country: str) -> str:
    """How country names are compared: trimmed and case-insensitive."""
    return country.strip().casefold()


@dataclass(frozen=True, slots=True)
class MartSnapshot:
    """One build of the marts, indexed for O(1) lookups. Never mutated."""

    built_at: datetime
    built_at_text: str  # RFC 3339, rendered once for every answer
    loaded_at: datetime
    segments: Mapping[str, tuple[SegmentDefinition, ...]]
    countries: Mapping[str, str]  # country_key -> canonical spelling
    variant_modes: Mapping[tuple[str, str, str], VariantMode]
    country_modes: Mapping[str, CountryMode]
    distributions: Mapping[tuple[str, str, str], tuple[tuple[int, int], ...]]
    # segment -> the variant of every measure value 0..n-1 (None: no variant);
    # the last entry also holds for every larger value. Built from the bounds
    # above, so placing a customer is one index instead of a scan.
    placements: Mapping[str, tuple[str | None, ...]]
    # (country, segment, variant) -> the variant's amount, None: no history.
    variant_amounts: Mapping[tuple[str, str, str], int | None]
    build: PublishedBuild | None = None

    @classmethod
    def from_rows(cls, rows: MartRows, loaded_at: datetime) -> MartSnapshot:
        """Index and check the rows; raise SnapshotInvalid if they are not usable."""
        built_at = _single_build(rows)
        segments = _index_definitions(_definitions_in(rows.segment_modes))
        known_variants = {
            (d.segment_name, d.segment_variant)
            for defs in segments.values()
            for d in defs
        }

        country_modes: dict[str, CountryMode] = {}
        countries: dict[str, str] = {}
        without_vouchers: set[str] = set()
        for country, amount, amount_count, voucher_count, _ in rows.country_modes:
            key = country_key(country)
            if key in countries or country in without_vouchers:
                raise SnapshotInvalid(f"country {country!r} appears twice in the mart")
            if amount is None:
                # In scope but no kept voucher: nothing to answer with, so the
                # country is not covered (its variant rows are all empty too).
                without_vouchers.add(country)
                continue
            countries[key] = country
            country_modes[country] = CountryMode(
                int(amount), int(amount_count), int(voucher_count)
            )
        if not country_modes:
            raise SnapshotInvalid("the mart has no country with vouchers")

        def known(country: str, segment: str, variant: str) -> bool:
            if (segment, variant) not in known_variants:
                raise SnapshotInvalid(
                    f"{segment}/{variant} is not in voucher_segment_modes"
                )
            if country in without_vouchers:
                return False
            if country not in country_modes:
                raise SnapshotInvalid(f"{country} has segment rows but no country mode")
            return True

        variant_modes: dict[tuple[str, str, str], VariantMode] = {}
        for row in rows.segment_modes:
            country, segment, variant, _, _, _, amount, amount_count, total = row[
                :SEGMENT_MODES_BUILT_AT
            ]
            if not known(country, segment, variant):
                continue
            key = (country, segment, variant)
            if key in variant_modes:
                raise SnapshotInvalid(f"voucher_segment_modes repeats {key}")
            variant_modes[key] = VariantMode(
                _int_or_none(amount), int(amount_count), int(total)
            )

        distributions: dict[tuple[str, str, str], list[tuple[int, int]]] = {}
        for country, segment, variant, amount, count, _ in rows.amount_counts:
            if known(country, segment, variant):
                distributions.setdefault((country, segment, variant), []).append(
                    (int(amount), int(count))
                )

        return cls(
            built_at=built_at,
            built_at_text=format_utc(built_at),
            loaded_at=loaded_at,
            segments=MappingProxyType(segments),
            countries=MappingProxyType(countries),
            variant_modes=MappingProxyType(variant_modes),
            country_modes=MappingProxyType(country_modes),
            distributions=MappingProxyType(
                {key: tuple(sorted(pairs)) for key, pairs in distributions.items()}
            ),
            placements=MappingProxyType(_placements(segments)),
            variant_amounts=MappingProxyType(
                {key: mode.voucher_amount for key, mode in variant_modes.items()}
            ),
            build=None if rows.build is None else PublishedBuild.from_row(rows.build),
        )

    def canonical_country(self, country: str) -> str | None:
        """The mart's spelling of a country, or None if the mart does not cover it."""
        return self.countries.get(country_key(country))

    def measure_of(self, segment_name: str) -> str | None:
        definitions = self.segments.get(segment_name)
        return definitions[0].measure if definitions else None

    def variant_for(self, segment_name: str, value: int) -> str | None:
        """The variant whose inclusive bounds hold value, None if none does."""
        placement = self.placements.get(segment_name)
        if placement is not None and value >= 0:
            return placement[value] if value < len(placement) else placement[-1]
        return _variant_containing(self.segments.get(segment_name, ()), value)

    def variant_amount(self, country: str, segment: str, variant: str) -> int | None:
        return self.variant_amounts.get((country, segment, variant))

    def country_amount(self, country: str) -> int:
        return self.country_modes[country].voucher_amount

    def describe_build(self) -> dict[str, Any] | None:
        """Which build and data this snapshot answers from (/ready,
        /api/segments): the publish log's entry, and the rows the cleaning
        kept (the country-wide modes count every kept row of a country)."""
        if self.build is None:
            return None
        kept = sum(mode.country_voucher_count for mode in self.country_modes.values())
        return {**self.build.describe(), "rows_kept": kept}

    def catalogue(self) -> contract.Catalogue:
        """The /api/segments document: definitions, and per country the amounts."""
        build = self.describe_build()
        return contract.Catalogue(
            built_at=self.built_at_text,
            build=None if build is None else contract.Build(**build),
            segments=[
                contract.SegmentDefinition(
                    segment_name=name,
                    measure=definitions[0].measure,
                    label=definitions[0].segment_label,
                    variants=[
                        contract.VariantDefinition(
                            segment_variant=d.segment_variant,
                            lower_bound=d.lower_bound,
                            upper_bound=d.upper_bound,
                            label=d.variant_label,
                        )
                        for d in definitions
                    ],
                )
                for name, definitions in self.segments.items()
            ],
            countries=[
                self._country_catalogue(country)
                for country in sorted(self.country_modes)
            ],
        )

    def _country_catalogue(self, country: str) -> contract.CountryCatalogue:
        fallback = self.country_modes[country]
        return contract.CountryCatalogue(
            country_code=country,
            fallback=contract.Fallback(
                voucher_amount=fallback.voucher_amount,
                voucher_amount_count=fallback.voucher_amount_count,
                country_voucher_count=fallback.country_voucher_count,
            ),
            segments=[
                contract.SegmentAmounts(
                    segment_name=name,
                    variants=[
                        self._variant_catalogue(country, name, d.segment_variant)
                        for d in definitions
                    ],
                )
                for name, definitions in self.segments.items()
            ],
        )

    def _variant_catalogue(
        self, country: str, segment: str, variant: str
    ) -> contract.VariantAmounts:
        key = (country, segment, variant)
        mode = self.variant_modes.get(key, VariantMode(None, 0, 0))
        return contract.VariantAmounts(
            segment_variant=variant,
            voucher_amount=mode.voucher_amount,
            voucher_amount_count=mode.voucher_amount_count,
            segment_voucher_count=mode.segment_voucher_count,
            distribution=[
                contract.AmountCount(voucher_amount=amount, voucher_count=count)
                for amount, count in self.distributions.get(key, ())
            ],
        )


def _definitions_in(
    segment_modes: tuple[tuple[Any, ...], ...],
) -> list[tuple[Any, ...]]:
    """The seed's rows as voucher_segment_modes repeats them for every country.

    The model cross-joins countries with the seed, so every country must carry
    every variant with the same measure and bounds; anything else is refused.
    """
    definitions: dict[tuple[str, str], tuple[Any, ...]] = {}
    variants_of: dict[str, set[tuple[str, str]]] = {}
    for row in segment_modes:
        country, name, variant, measure, lower, upper = row[:6]
        segment_label, variant_label = row[SEGMENT_MODES_BUILT_AT + 1 :]
        definition = (
            name,
            variant,
            measure,
            lower,
            upper,
            segment_label,
            variant_label,
        )
        seen = definitions.setdefault((name, variant), definition)
        if seen != definition:
            raise SnapshotInvalid(
                f"voucher_segment_modes gives {name}/{variant} two different "
                f"definitions: {seen[2:]} and {definition[2:]}"
            )
        variants_of.setdefault(country, set()).add((name, variant))
    for country, variants in variants_of.items():
        missing = definitions.keys() - variants
        if missing:
            name, variant = sorted(missing)[0]
            raise SnapshotInvalid(
                f"voucher_segment_modes has no {name}/{variant} row for {country}"
            )
    return list(definitions.values())


def _index_definitions(
    rows: list[tuple[Any, ...]],
) -> dict[str, tuple[SegmentDefinition, ...]]:
    by_segment: dict[str, list[SegmentDefinition]] = {}
    for name, variant, measure, lower, upper, segment_label, variant_label in rows:
        if measure not in SUPPORTED_MEASURES:
            raise SnapshotInvalid(f"segment {name} uses unknown measure {measure!r}")
        if lower is None or (upper is not None and upper < lower):
            raise SnapshotInvalid(f"variant {name}/{variant} has invalid bounds")
        by_segment.setdefault(name, []).append(
            SegmentDefinition(
                name,
                variant,
                measure,
                int(lower),
                _int_or_none(upper),
                segment_label,
                variant_label,
            )
        )
    if not by_segment:
        raise SnapshotInvalid("voucher_segment_modes defines no segment")
    indexed = {}
    for name, definitions in sorted(by_segment.items()):
        definitions.sort(key=lambda d: d.lower_bound)
        if len({d.measure for d in definitions}) != 1:
            raise SnapshotInvalid(f"segment {name} mixes measures")
        for below, above in zip(definitions, definitions[1:], strict=False):
            if below.upper_bound is None or below.upper_bound >= above.lower_bound:
                raise SnapshotInvalid(
                    f"variants {below.segment_variant} and {above.segment_variant} "
                    f"of {name} overlap"
                )
        indexed[name] = tuple(definitions)
    return indexed


# Bounds past this are placed by a scan: a table that long would waste memory.
_MAX_PLACEMENT_TABLE = 100_000


def _placements(
    segments: Mapping[str, tuple[SegmentDefinition, ...]],
) -> dict[str, tuple[str | None, ...]]:
    """Per segment, the variant of each value 0..n-1, where n-1 exceeds every
    finite bound and so stands for all larger values as well."""
    placements = {}
    for name, definitions in segments.items():
        size = 2 + max(
            0, *(max(d.lower_bound, d.upper_bound or 0) for d in definitions)
        )
        if size <= _MAX_PLACEMENT_TABLE:
            placements[name] = tuple(
                _variant_containing(definitions, value) for value in range(size)
            )
    return placements


def _variant_containing(
    definitions: tuple[SegmentDefinition, ...], value: int
) -> str | None:
    for definition in definitions:
        if definition.contains(value):
            return definition.segment_variant
    return None


def _single_build(rows: MartRows) -> datetime:
    stamps = {row[SEGMENT_MODES_BUILT_AT] for row in rows.segment_modes}
    stamps |= {row[-1] for row in rows.country_modes}
    stamps |= {row[-1] for row in rows.amount_counts}
    if not rows.country_modes or not rows.segment_modes:
        raise SnapshotInvalid("the mart is empty")
    if len(stamps) != 1 or None in stamps:
        # The publish step copies one build in one transaction; rows of two
        # builds mean something else wrote the serving tables: keep the last.
        raise SnapshotInvalid("the mart tables come from different builds")
    return _as_utc(stamps.pop())


def _as_utc(value: datetime) -> datetime:
    # The marts store naive UTC timestamps; an aware value is converted.
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def _int_or_none(value: Any) -> int | None:
    return None if value is None else int(value)
