"""The lookup page's campaign upload in a real browser (Chromium via Playwright).

An analyst's CSV file goes in through the file input; the page reads it, sends
its customers through POST /api/vouchervalues in chunks under the limits,
shows a summary and offers the answered file. Every number and reason on the
page, and every cell of the answered file, is compared with what the batch
route itself answers for the same customers. Fixtures (the mart built by the
pipeline, gunicorn, Chromium) are in conftest.py.
"""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from pathlib import Path

from api.problems import BodyTooLarge, problem_document
from api.resources.page import STATIC_DIR
from tests.api.gunicorn_server import Server
from tests.browser.conftest import API_KEY, open_page, share

ANSWER_COLUMNS = ["segment_variant", "voucher_amount", "source", "error"]
BATCH = "/api/vouchervalues"
BATCH_LIMIT = 10_000  # ApiConfig.max_batch_customers, as gunicorn serves it
HEADER = [
    "customer_id",
    "country_code",
    "segment_name",
    "total_orders",
    "last_order_ts",
    "first_order_ts",
    "as_of",
    "note",
]
# An analyst's file as Excel's "CSV UTF-8" writes it: a BOM, CRLF, quotes
# around values with commas, quotes or line breaks, blank lines (",,,"
# included), a column the API does not know, and rows it refuses. Rows count
# as a spreadsheet shows them: the header is row 1, the blank lines 4 and 11.
CAMPAIGN = (
    "\ufeff" + ",".join(HEADER) + "\r\n"
    'c-1,Peru,frequent_segment,7,,,,"plain"\r\n'
    'c-2,peru ,frequent_segment,45,,,,"has, a comma"\r\n'
    "\r\n"
    'c-3,Latvia,recency_segment,,2018-05-03,2017-05-03,2018-07-01,"says ""hi"""\r\n'
    'c-4,Peru,recency_segment,3,2018-06-20 10:00:00,,2018-07-01,"two\r\nlines"\r\n'
    "c-5,Peru,frequent_segment,abc,,,,\r\n"
    "c-6,Narnia,frequent_segment,3,,,,\r\n"
    "c-7,Latvia,frequent_segment,15.0,,,,\r\n"
    "c-8,Latvia,frequent_segment,20,,,,\r\n"
    ",,,,,,,\r\n"
    "c-9,Peru,recency_segment,,2018-01-01,,2018-07-01,\r\n"
)
CAMPAIGN_ROWS = [2, 3, 5, 6, 7, 8, 9, 10, 12]
NOTES = ["plain", "has, a comma", 'says "hi"', "two\r\nlines", "", "", "", "", ""]
# What the page must send for them: the request's columns only, cells
# trimmed, empty ones left out, whole numbers as JSON numbers and anything
# else as written, for the API to refuse.
CUSTOMERS = [
    {
        "customer_id": "c-1",
        "country_code": "Peru",
        "segment_name": "frequent_segment",
        "total_orders": 7,
    },
    {
        "customer_id": "c-2",
        "country_code": "peru",
        "segment_name": "frequent_segment",
        "total_orders": 45,
    },
    {
        "customer_id": "c-3",
        "country_code": "Latvia",
        "segment_name": "recency_segment",
        "last_order_ts": "2018-05-03",
        "first_order_ts": "2017-05-03",
        "as_of": "2018-07-01",
    },
    {
        "customer_id": "c-4",
        "country_code": "Peru",
        "segment_name": "recency_segment",
        "total_orders": 3,
        "last_order_ts": "2018-06-20 10:00:00",
        "as_of": "2018-07-01",
    },
    {
        "customer_id": "c-5",
        "country_code": "Peru",
        "segment_name": "frequent_segment",
        "total_orders": "abc",
    },
    {
        "customer_id": "c-6",
        "country_code": "Narnia",
        "segment_name": "frequent_segment",
        "total_orders": 3,
    },
    {
        "customer_id": "c-7",
        "country_code": "Latvia",
        "segment_name": "frequent_segment",
        "total_orders": "15.0",
    },
    {
        "customer_id": "c-8",
        "country_code": "Latvia",
        "segment_name": "frequent_segment",
        "total_orders": 20,
    },
    {
        "customer_id": "c-9",
        "country_code": "Peru",
        "segment_name": "recency_segment",
        "last_order_ts": "2018-01-01",
        "as_of": "2018-07-01",
    },
]


def batch(server: Server, customers: list[dict]) -> dict:
    """The batch route's answer for these customers, in chunks as it allows."""
    merged: dict = {"counts": Counter(), "results": []}
    for start in range(0, len(customers), BATCH_LIMIT):
        chunk = customers[start : start + BATCH_LIMIT]
        status, _, answer = server.request("POST", BATCH, {"customers": chunk})
        assert status == 200, answer
        merged["counts"].update(answer["counts"])
        merged["results"] += answer["results"]
    return merged


def reason(result: dict) -> str:
    """A refused customer's reason as the page words it, from its problem."""
    problem = result["problem"]
    if problem.get("errors"):
        return "; ".join(f"{e['field']} {e['detail']}" for e in problem["errors"])
    return problem["detail"]


def upload(page, path: Path) -> None:
    page.get_by_label("Campaign file (CSV)").set_input_files(str(path))
    page.get_by_role("button", name="Look up campaign").click()


def sent_batches(page) -> list[dict]:
    """Every batch body the page sends from now on."""
    bodies: list[dict] = []
    page.on(
        "request",
        lambda request: (
            bodies.append(request.post_data_json)
            if request.url.endswith(BATCH)
            else None
        ),
    )
    return bodies


def assert_summary_matches(page, expected: dict) -> None:
    """The counts and the groups table say what the batch route answered."""
    from playwright.sync_api import expect

    results = expected["results"]
    counts = page.locator("#campaign-counts")
    expect(counts).to_have_attribute("data-customers", str(len(results)))
    for source in ("segment", "country_fallback", "refused"):
        attribute = f"data-{source.replace('_', '-')}"
        expect(counts).to_have_attribute(attribute, str(expected["counts"][source]))
    groups = Counter(
        (
            a["country_code"],
            a["segment_name"],
            a["segment_variant"] or "",
            str(a["voucher_amount"]),
            a["source"],
        )
        for a in (r["answer"] for r in results if r["status"] == 200)
    )
    rows = page.locator("#campaign-groups tbody tr").evaluate_all(
        """rows => rows.map(row => [
             [row.dataset.country, row.dataset.segment, row.dataset.variant,
              row.dataset.amount, row.dataset.source],
             Number(row.dataset.customers),
             row.cells[4].textContent])"""
    )
    assert {tuple(key): count for key, count, _ in rows} == dict(groups)
    assert len(rows) == len(groups)
    # Shares are of every customer in the file, refused ones included.
    for _, count, shown in rows:
        assert shown == share(count, len(results))


def read_answered(path: Path) -> tuple[bool, list[list[str]]]:
    data = path.read_bytes()
    text = data.decode("utf-8-sig")
    return data.startswith(b"\xef\xbb\xbf"), list(csv.reader(io.StringIO(text)))


def test_a_campaign_is_summarised_and_answered_as_the_batch_route_answers_it(
    page, server, tmp_path
):
    from playwright.sync_api import expect

    file = tmp_path / "campaign.csv"
    file.write_bytes(CAMPAIGN.encode())
    open_page(page, server)
    sent = sent_batches(page)
    upload(page, file)
    expect(page.locator("#campaign-status")).to_have_text(
        "9 customers read from campaign.csv (UTF-8, comma-separated) and answered."
    )
    assert sent == [{"customers": CUSTOMERS}]
    expected = batch(server, CUSTOMERS)
    assert expected["counts"]["refused"] == 3, expected  # abc, Narnia, "15.0"
    assert expected["counts"]["country_fallback"] >= 1, expected  # 45 orders
    assert_summary_matches(page, expected)
    total = len(CUSTOMERS)
    counts = expected["counts"]
    expect(page.locator("#campaign-counts")).to_have_text(
        f"{total} customers in campaign.csv: {counts['segment']} get their "
        f"segment's most used amount ({share(counts['segment'], total)}), "
        f"{counts['country_fallback']} their country's "
        f"({share(counts['country_fallback'], total)}), "
        f"{counts['refused']} refused ({share(counts['refused'], total)})."
    )

    # Each refused row by its row number, with the reason from its problem.
    refused = page.locator("#campaign-refused li")
    expected_refused = [
        (row, customer, result)
        for row, customer, result in zip(
            CAMPAIGN_ROWS, CUSTOMERS, expected["results"], strict=True
        )
        if result["status"] != 200
    ]
    expect(refused).to_have_count(len(expected_refused))
    for row, customer, result in expected_refused:
        item = page.locator(f'#campaign-refused li[data-row="{row}"]')
        expect(item).to_have_text(
            f"Row {row} (customer {customer['customer_id']}): {reason(result)}"
        )
    abc = page.locator('#campaign-refused li[data-row="7"]')
    expect(abc).to_contain_text("total_orders must be a whole number >= 0")
    narnia = page.locator('#campaign-refused li[data-row="8"]')
    expect(narnia).to_contain_text("no vouchers for country 'Narnia'")

    # The answered file: the input's columns and rows (blank lines dropped),
    # then the answer's columns; a BOM because the input had one.
    with page.expect_download() as download:
        page.locator("#campaign-download").click()
    assert download.value.suggested_filename == "campaign-answered.csv"
    bom, lines = read_answered(Path(download.value.path()))
    assert bom
    assert lines[0] == HEADER + ANSWER_COLUMNS
    assert len(lines) == 1 + total
    for line, customer, note, result in zip(
        lines[1:], CUSTOMERS, NOTES, expected["results"], strict=True
    ):
        assert line[0] == customer["customer_id"]
        assert line[len(HEADER) - 1] == note  # the unknown column, as it was
        if result["status"] == 200:
            answer = result["answer"]
            assert line[len(HEADER) :] == [
                answer["segment_variant"] or "",
                str(answer["voucher_amount"]),
                answer["source"],
                "",
            ]
        else:
            assert line[len(HEADER) :] == ["", "", "", reason(result)]
    assert lines[2][1] == "peru "  # the input's cells as written, not trimmed


def test_a_large_file_is_sent_in_chunks_under_the_limit_with_progress(
    page, server, tmp_path
):
    from playwright.sync_api import expect

    count = BATCH_LIMIT + 50
    customers = [
        {
            "customer_id": f"c-{i}",
            "country_code": ("Peru", "Latvia")[i % 2],
            "segment_name": "frequent_segment",
            "total_orders": i % 41,
        }
        for i in range(count)
    ]
    file = tmp_path / "large.csv"
    with file.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(customers[0]))
        writer.writeheader()
        writer.writerows(customers)
    open_page(page, server)
    # The status line's every text, as the page wrote it.
    page.evaluate(
        """() => {
          window.statusLog = [];
          const line = document.getElementById("campaign-status");
          new MutationObserver(() => window.statusLog.push(line.textContent))
            .observe(line, {childList: true, characterData: true, subtree: true});
        }"""
    )
    sent = sent_batches(page)
    upload(page, file)
    expect(page.locator("#campaign-status")).to_have_text(
        f"{count:,} customers read from large.csv (UTF-8, comma-separated) "
        "and answered.",
        timeout=30_000,
    )
    assert [len(body["customers"]) for body in sent] == [BATCH_LIMIT, 50]
    assert [c for body in sent for c in body["customers"]] == customers
    log = page.evaluate("window.statusLog")
    assert f"Sending customers 1–10,000 of {count:,}…" in log, log
    assert f"Sending customers 10,001–{count:,} of {count:,}…" in log, log
    assert_summary_matches(page, batch(server, customers))
    with page.expect_download() as download:
        page.locator("#campaign-download").click()
    bom, lines = read_answered(Path(download.value.path()))
    assert not bom  # none in, none out
    assert len(lines) == 1 + count


def test_a_413_naming_a_lower_limit_makes_the_page_cut_smaller(page, server, tmp_path):
    """Another deployment's lower body limit: the page resends in smaller
    chunks, each within the limit the 413 named, and loses no customer."""
    from playwright.sync_api import expect

    limit = 1500
    customers = [
        {
            "customer_id": f"customer-{i:04d}",
            "country_code": "Peru",
            "segment_name": "frequent_segment",
            "total_orders": i,
        }
        for i in range(30)
    ]
    file = tmp_path / "small-limit.csv"
    file.write_text(
        "customer_id,country_code,segment_name,total_orders\n"
        + "".join(
            f"{c['customer_id']},Peru,frequent_segment,{c['total_orders']}\n"
            for c in customers
        )
    )
    bodies: list[bytes] = []

    def limited(route) -> None:
        body = route.request.post_data_buffer
        bodies.append(body)
        if len(body) > limit:
            route.fulfill(
                status=413,
                content_type="application/problem+json",
                body=json.dumps(problem_document(BodyTooLarge(limit_bytes=limit))),
            )
        else:
            route.continue_()

    open_page(page, server)
    page.route(f"**{BATCH}", limited)
    upload(page, file)
    expect(page.locator("#campaign-counts")).to_be_visible()
    assert len(bodies[0]) > limit  # cut for the shipped 4 MiB: refused
    assert len(bodies) > 3 and all(len(body) <= limit for body in bodies[1:])
    resent = [c for body in bodies[1:] for c in json.loads(body)["customers"]]
    assert resent == customers
    assert_summary_matches(page, batch(server, customers))


def test_a_wrong_file_gets_one_line_and_sends_nothing(page, server, tmp_path):
    from playwright.sync_api import expect

    cases = {
        "empty.csv": ("", "The file is empty."),
        "blank.csv": ("\r\n,,\r\n", "The file is empty."),
        "no-header.csv": (
            "1,Peru,frequent_segment,7\n",
            "Row 1 is not a header row: it should name the columns, such as "
            "country_code, segment_name, total_orders (see the template).",
        ),
        "no-country.csv": (
            "customer_id,segment_name,total_orders\nc-1,frequent_segment,7\n",
            "The file has no country_code column "
            "(its columns: customer_id, segment_name, total_orders).",
        ),
        "neither.csv": (
            "customer_id,total_orders\nc-1,7\n",
            "The file has no country_code and no segment_name column "
            "(its columns: customer_id, total_orders).",
        ),
        "header-only.csv": (
            "country_code,segment_name\r\n",
            "The file has a header row but no customers.",
        ),
        "twice.csv": (
            "country_code,segment_name,Country_Code\nPeru,frequent_segment,Peru\n",
            "The column country_code appears twice in the header row.",
        ),
        "open-quote.csv": (
            'country_code,segment_name,note\nPeru,frequent_segment,"oops\n',
            "The file has a quoted value that starts in row 2 never ends "
            '(a closing " is missing).',
        ),
    }
    open_page(page, server)
    sent = sent_batches(page)
    problem = page.locator("#campaign-file-problem")
    for name, (text, message) in cases.items():
        file = tmp_path / name
        file.write_text(text)
        upload(page, file)
        expect(problem).to_have_text(message)
        expect(page.locator("#campaign-status")).to_have_text(f"{name} was not sent.")
    assert sent == []

    # A row with more values than the header has columns is not sent: its
    # columns would be read shifted. The other rows are answered.
    file = tmp_path / "shifted.csv"
    file.write_text(
        "customer_id,country_code,segment_name,total_orders\n"
        "c-1,Peru,frequent_segment,7\n"
        "c-2,Smith, John,Peru,frequent_segment,7\n"
    )
    upload(page, file)
    expect(page.locator("#campaign-counts")).to_have_attribute("data-refused", "1")
    assert [len(body["customers"]) for body in sent] == [1]
    expect(page.locator('#campaign-refused li[data-row="3"]')).to_contain_text(
        "Row 3 (customer c-2): has more values than the header has columns "
        "(a comma inside a value that is not in quotes?)"
    )


def test_excel_files_with_semicolons_in_windows_1252_are_read_and_answered_alike(
    page, server, tmp_path
):
    """Excel's plain "CSV" where the decimal mark is a comma: semicolons, the
    Windows code page, no BOM. The answered file keeps the semicolons and
    gets a BOM, so Excel reads its UTF-8 right."""
    from playwright.sync_api import expect

    file = tmp_path / "pedidos.csv"
    file.write_bytes(
        "cliente;country_code;segment_name;total_orders\r\n"
        "José Ñúñez;Peru;frequent_segment;7\r\n".encode("cp1252")
    )
    open_page(page, server)
    upload(page, file)
    expect(page.locator("#campaign-status")).to_have_text(
        "1 customer read from pedidos.csv (Windows-1252, semicolon-separated) "
        "and answered."
    )
    _, _, answer = server.request(
        "POST",
        "/api/vouchervalue",
        {"country_code": "Peru", "segment_name": "frequent_segment", "total_orders": 7},
    )
    with page.expect_download() as download:
        page.locator("#campaign-download").click()
    data = Path(download.value.path()).read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    lines = list(csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"))
    assert lines == [
        ["cliente", "country_code", "segment_name", "total_orders", *ANSWER_COLUMNS],
        [
            "José Ñúñez",
            "Peru",
            "frequent_segment",
            "7",
            answer["segment_variant"],
            str(answer["voucher_amount"]),
            answer["source"],
            "",
        ],
    ]


def test_the_template_downloads_parses_and_is_answered_in_full(page, server):
    from playwright.sync_api import expect

    open_page(page, server)
    with page.expect_download() as download:
        page.get_by_role("link", name="campaign template").click()
    assert download.value.suggested_filename == "campaign-template.csv"
    path = Path(download.value.path())
    assert path.read_bytes() == (STATIC_DIR / "campaign-template.csv").read_bytes()
    rows = list(csv.DictReader(io.StringIO(path.read_text())))
    assert len(rows) >= 2

    sent = sent_batches(page)
    upload(page, path)
    expect(page.locator("#campaign-counts")).to_have_attribute(
        "data-customers", str(len(rows))
    )
    [body] = sent
    expected = batch(server, body["customers"])
    assert expected["counts"]["refused"] == 0, expected
    assert_summary_matches(page, expected)
    expect(page.locator("#campaign-refused")).to_have_count(0)


def test_with_an_api_key_the_campaign_says_so_and_then_works(
    page, key_server, tmp_path
):
    from playwright.sync_api import expect

    file = tmp_path / "campaign.csv"
    file.write_bytes(CAMPAIGN.encode())
    page.goto(f"{key_server.url}/")
    upload(page, file)
    box = page.locator("#campaign-problem")
    expect(box.locator("h3")).to_have_text("This service needs its API key.")
    expect(box).to_contain_text("nothing was answered for download")
    expect(page.locator("#campaign-download")).to_have_count(0)
    expect(page.locator("#key-details")).to_have_attribute("open", "")

    page.get_by_label("API key").fill(API_KEY)
    page.get_by_role("button", name="Look up campaign").click()
    expect(page.locator("#campaign-counts")).to_have_attribute("data-customers", "9")
    expect(box).to_have_count(0)
