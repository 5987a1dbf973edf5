"""Where a source file came from, as raw.load_log and the publish log record it.

The generator (`python -m loader generate`) marks its files in their Parquet
key-value metadata, so that every answer can say plainly when it comes from
synthetic demo data rather than real vouchers.
"""

from typing import Final

ORIGIN_METADATA_KEY: Final = b"voucher_selection.origin"
ORIGIN_SYNTHETIC: Final = "synthetic"
ORIGIN_FILE: Final = "file"
