"""The lookup page in a real browser: Debian's Chromium, headless, via Playwright.

Chromium uses the page as a marketer would: choose a country, fill in the
form, submit, read the answer, the problem details and the charts. Every
rendered value is compared with what the API itself answers. The fixtures
(the mart built by the pipeline, gunicorn, Chromium) are in conftest.py. A
screenshot lands in build/artifacts/lookup-page.png (the README's copy is
docs/img/lookup-page.png).
"""

from __future__ import annotations

from tests.api.gunicorn_server import Server
from tests.browser.conftest import API_KEY, ARTIFACTS, open_page, share

ARTIFACT = ARTIFACTS / "lookup-page.png"


def fill_lookup(page, country: str, segment: str, **fields: str) -> None:
    """Fill the form through the labels a user reads (so the labels must work)."""
    page.get_by_label("Country").select_option(country)
    page.get_by_label("Segment", exact=True).select_option(segment)
    for label in ("Orders so far", "Last order", "First order", "As of"):
        page.get_by_label(label).fill(fields.get(label, ""))
    page.get_by_label("Customer id").fill(fields.get("Customer id", ""))


def api_answer(server: Server, body: dict) -> tuple[int, dict]:
    status, _, answer = server.request("POST", "/api/vouchervalue", body)
    return status, answer


def variant_of(catalogue: dict, country: str, segment: str, variant: str) -> dict:
    [entry] = [c for c in catalogue["countries"] if c["country_code"] == country]
    [seg] = [s for s in entry["segments"] if s["segment_name"] == segment]
    [found] = [v for v in seg["variants"] if v["segment_variant"] == variant]
    return found


def test_a_lookup_shows_the_api_answer_and_why(page, server):
    from playwright.sync_api import expect

    open_page(page, server)
    fill_lookup(
        page,
        "Peru",
        "frequent_segment",
        **{"Orders so far": "7", "Customer id": "c-42"},
    )
    page.get_by_role("button", name="Look up voucher").click()
    status, expected = api_answer(
        server,
        {
            "country_code": "Peru",
            "segment_name": "frequent_segment",
            "total_orders": 7,
            "customer_id": "c-42",
        },
    )
    assert status == 200 and expected["source"] == "segment", expected
    customer = page.locator("dt", has_text="Customer").locator("+ dd")
    expect(customer).to_have_text("c-42")
    amount = page.locator("#answer-amount")
    expect(amount).to_have_attribute("data-amount", str(expected["voucher_amount"]))
    assert amount.inner_text() == f"{expected['voucher_amount']:,}"
    # One line in an analyst's words, from the answer's variant and country.
    expect(page.locator("#answer-headline")).to_have_text(
        f"Send a {expected['voucher_amount']:,} voucher: most used for Peru "
        "customers with 5-13 orders so far"
    )
    source = page.locator("#answer-source")
    expect(source).to_have_attribute("data-source", "segment")
    assert source.inner_text().startswith("From the segment.")
    assert "Peru customers of frequent_segment 5-13" in source.inner_text()
    # The counts the mode was taken from, with their share.
    _, _, catalogue = server.request("GET", "/api/segments")
    variant = variant_of(catalogue, "Peru", "frequent_segment", "5-13")
    count, total = variant["voucher_amount_count"], variant["segment_voucher_count"]
    assert f"({count:,} of {total:,} vouchers, {share(count, total)})" in (
        source.inner_text()
    )
    assert "with 7 orders so far" in source.inner_text()
    # The chart of the variant that answered is marked as this customer's.
    current = page.locator("figure.variant.current")
    expect(current).to_have_attribute("data-variant", "5-13")
    ARTIFACT.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACT), full_page=True)

    # 45 orders: above every frequent variant, so the country-wide mode.
    fill_lookup(page, "Peru", "frequent_segment", **{"Orders so far": "45"})
    page.get_by_role("button", name="Look up voucher").click()
    status, expected = api_answer(
        server,
        {
            "country_code": "Peru",
            "segment_name": "frequent_segment",
            "total_orders": 45,
        },
    )
    assert status == 200 and expected["source"] == "country_fallback", expected
    expect(source).to_have_attribute("data-source", "country_fallback")
    assert amount.get_attribute("data-amount") == str(expected["voucher_amount"])
    assert source.inner_text().startswith(
        "Country fallback. No variant of frequent_segment holds 45 orders so far"
    )
    expect(page.locator("#answer-headline")).to_have_text(
        f"Send a {expected['voucher_amount']:,} voucher: the most used in all of "
        "Peru, as no frequent_segment variant holds this customer"
    )


def test_a_refused_lookup_shows_the_problem_at_its_field(page, server):
    from playwright.sync_api import expect

    open_page(page, server)
    fill_lookup(
        page,
        "Latvia",
        "recency_segment",
        **{"Last order": "2019-01-01", "As of": "2018-07-01"},
    )
    page.get_by_role("button", name="Look up voucher").click()
    status, problem = api_answer(
        server,
        {
            "country_code": "Latvia",
            "segment_name": "recency_segment",
            "last_order_ts": "2019-01-01",
            "as_of": "2018-07-01",
        },
    )
    assert status == 422, problem
    [error] = problem["errors"]
    box = page.locator("#problem")
    # A sentence, then the list; the API's title and status in small print.
    expect(box.locator("h3")).to_have_text("Some fields need fixing:")
    expect(box.locator(".technical")).to_have_text(
        f"The API answered 422 {problem['title']}."
    )
    expect(box.get_by_role("listitem")).to_have_text(
        "Last order is after the reference time (“As of”, or now when “As of” "
        "is absent)"
    )
    assert error["detail"].startswith("is after the reference time (as_of,")
    # Focus moves to the summary, so a screen reader reads it at once.
    expect(box).to_be_focused()
    field = page.get_by_label("Last order")
    expect(field).to_have_attribute("aria-invalid", "true")
    line = page.locator("#last_order_ts-error")
    expect(line).to_be_visible()
    expect(line).to_contain_text("Last order is after the reference time (“As of”")
    assert "last_order_ts-error" in field.get_attribute("aria-describedby").split()
    # The summary links to the field, also from the keyboard.
    page.keyboard.press("Tab")
    expect(box.get_by_role("link")).to_be_focused()
    page.keyboard.press("Enter")
    expect(field).to_be_focused()

    # A required field left out: the API says which, the page shows it there.
    fill_lookup(page, "Latvia", "frequent_segment")
    page.get_by_role("button", name="Look up voucher").click()
    expect(page.locator("#total_orders-error")).to_contain_text(
        "Orders so far is required for frequent_segment"
    )
    expect(field).not_to_have_attribute("aria-invalid", "true")
    expect(page.locator("#last_order_ts-error")).to_be_hidden()


def test_each_variant_chart_has_one_bar_per_amount_and_marks_the_mode(page, server):
    from playwright.sync_api import expect

    open_page(page, server)
    status, _, catalogue = server.request("GET", "/api/segments")
    assert status == 200
    for country in catalogue["countries"]:
        page.get_by_label("Country").select_option(country["country_code"])
        for segment in country["segments"]:
            for variant in segment["variants"]:
                figure = page.locator(
                    f'figure[data-segment="{segment["segment_name"]}"]'
                    f'[data-variant="{variant["segment_variant"]}"]'
                )
                expect(figure).to_have_count(1)
                amounts = [d["voucher_amount"] for d in variant["distribution"]]
                if variant["voucher_amount"] is None:
                    expect(figure.locator("svg")).to_have_count(0)
                    expect(figure).to_contain_text("country fallback")
                    continue
                bars = figure.locator("svg g.bar")
                expect(bars).to_have_count(len(amounts))
                rendered = bars.evaluate_all("bars => bars.map(b => b.dataset.amount)")
                assert [int(amount) for amount in rendered] == amounts
                mode = figure.locator("svg g.bar.mode")
                expect(mode).to_have_count(1)
                expect(mode).to_have_attribute(
                    "data-amount", str(variant["voucher_amount"])
                )
                expect(mode).to_contain_text("mode")
                # Each count with its share of the variant's vouchers.
                total = sum(d["voucher_count"] for d in variant["distribution"])
                counts = bars.locator("text.count").all_text_contents()
                assert counts == [
                    f"{d['voucher_count']:,} ({share(d['voucher_count'], total)})"
                    for d in variant["distribution"]
                ]
                label = figure.locator("svg").get_attribute("aria-label")
                assert f"{variant['voucher_amount']:,}: " in label
                assert "(most used)" in label


def test_the_form_can_be_used_from_the_keyboard(page, server):
    from playwright.sync_api import expect

    open_page(page, server)
    fill_lookup(page, "Peru", "recency_segment", **{"Last order": "2018-05-03"})
    page.get_by_label("As of").fill("2018-07-01")
    # Tab from the last field reaches the submit button; Enter submits.
    page.get_by_label("Customer id").focus()
    submit = page.get_by_role("button", name="Look up voucher")
    for _ in range(5):
        page.keyboard.press("Tab")
        if submit.evaluate("button => button === document.activeElement"):
            break
    expect(submit).to_be_focused()
    page.keyboard.press("Enter")
    status, expected = api_answer(
        server,
        {
            "country_code": "Peru",
            "segment_name": "recency_segment",
            "last_order_ts": "2018-05-03",
            "as_of": "2018-07-01",
        },
    )
    assert status == 200, expected
    expect(page.locator("#answer-amount")).to_have_attribute(
        "data-amount", str(expected["voucher_amount"])
    )
    days = page.locator("dt", has_text="Days since last order").locator("+ dd")
    expect(days).to_have_text(f"{expected['days_since_last_order']:,}")


def test_with_an_api_key_the_page_asks_for_it_and_then_works(page, key_server):
    from playwright.sync_api import expect

    page.goto(f"{key_server.url}/")
    box = page.locator("#problem")
    expect(box.locator("h3")).to_have_text("This service needs its API key.")
    expect(box).to_contain_text("Enter the key under “API key”")
    expect(box.locator(".technical")).to_have_text(
        "The API answered 401 Missing or wrong API key."
    )
    expect(page.locator("#key-details")).to_have_attribute("open", "")
    key = page.get_by_label("API key")
    key.fill(API_KEY)
    key.press("Tab")  # a change event: the page loads the segments with the key
    expect(page.locator("#status")).to_contain_text("Segments loaded")
    expect(box).to_have_count(0)
    fill_lookup(page, "Peru", "frequent_segment", **{"Orders so far": "7"})
    page.get_by_role("button", name="Look up voucher").click()
    status, expected = api_answer(
        key_server,
        {"country_code": "Peru", "segment_name": "frequent_segment", "total_orders": 7},
    )
    assert status == 401  # without the key, the API itself refuses
    _, _, expected = key_server.request(
        "POST",
        "/api/vouchervalue",
        {"country_code": "Peru", "segment_name": "frequent_segment", "total_orders": 7},
        {"Authorization": f"Bearer {API_KEY}"},
    )
    expect(page.locator("#answer-amount")).to_have_attribute(
        "data-amount", str(expected["voucher_amount"])
    )


def test_example_customer_fills_the_form_from_the_example_file(page, server):
    from playwright.sync_api import expect

    from api.examples import EXAMPLE_REQUEST

    open_page(page, server)
    page.get_by_role("button", name="Example customer").click()
    expect(page.locator("#status")).to_contain_text("Example customer filled in")
    for field, value in EXAMPLE_REQUEST.items():
        assert page.locator(f"#{field}").input_value() == str(value), field
    page.get_by_role("button", name="Look up voucher").click()
    expect(page.locator("#status")).to_have_text("Answer ready.")
    status, expected = api_answer(server, EXAMPLE_REQUEST)
    assert status == 200, expected
    amount = page.locator("#answer-amount")
    expect(amount).to_have_attribute("data-amount", str(expected["voucher_amount"]))


def test_the_header_says_which_data_the_answers_come_from(page, server):
    from playwright.sync_api import expect

    open_page(page, server)
    build = server.request("GET", "/api/segments")[2]["build"]
    line = page.locator("#data-source")
    expect(line).to_be_visible()
    text = line.inner_text()
    assert build["source_file"] in text
    assert f"{build['rows_kept']:,} kept" in text
    # The package's mart is loaded from the generator's output: said plainly.
    assert build["synthetic"] is True
    expect(line.locator("strong")).to_have_text("Synthetic demo data")
