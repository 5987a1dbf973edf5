// The lookup page: fills the pickers from GET /api/segments, sends the form to
// POST /api/vouchervalue, shows the answer or the problem details, draws one
// bar chart per segment variant of the chosen country, and sends a campaign
// (a CSV file of customers, read by csv.js) through POST /api/vouchervalues.
// No framework, no build: every element is made with the DOM API, so no text
// from the API or from a file is ever parsed as HTML. The API computes every
// variant and amount; this script only puts them into words.
"use strict";

(function () {
  const form = document.getElementById("lookup");
  const statusLine = document.getElementById("status");
  const dataSourceLine = document.getElementById("data-source");
  const answerBox = document.getElementById("answer");
  const chartsBox = document.getElementById("charts");
  const countrySelect = document.getElementById("country_code");
  const segmentSelect = document.getElementById("segment_name");
  const keyInput = document.getElementById("api_key");
  const keyDetails = document.getElementById("key-details");
  const campaignForm = document.getElementById("campaign");
  const campaignFile = document.getElementById("campaign_file");
  const campaignStatus = document.getElementById("campaign-status");
  const campaignBox = document.getElementById("campaign-result");

  // The request fields, in form order; each has an input and an error line.
  const FIELDS = [
    "country_code",
    "segment_name",
    "total_orders",
    "last_order_ts",
    "first_order_ts",
    "as_of",
    "customer_id",
  ];
  const MEASURES = {
    total_orders: { field: "total_orders", words: "orders so far", unit: "orders" },
    days_since_last_order: {
      field: "last_order_ts",
      words: "days since last order",
      unit: "days",
    },
  };
  const SVG = "http://www.w3.org/2000/svg";
  const number = new Intl.NumberFormat("en");
  const percent = new Intl.NumberFormat("en", { style: "percent", maximumFractionDigits: 1 });

  let catalogue = null; // the last GET /api/segments document
  let answer = null; // the last successful lookup
  let busy = false;

  // --- DOM and wording helpers -------------------------------------------------

  function el(tag, attributes, children) {
    const node = document.createElement(tag);
    return fill(node, attributes, children);
  }

  function svg(tag, attributes, children) {
    return fill(document.createElementNS(SVG, tag), attributes, children);
  }

  function fill(node, attributes, children) {
    for (const [name, value] of Object.entries(attributes || {})) {
      if (value !== null && value !== undefined) node.setAttribute(name, String(value));
    }
    for (const child of [].concat(children === undefined ? [] : children)) {
      node.append(child instanceof Node ? child : String(child));
    }
    return node;
  }

  function labelOf(field) {
    const label = document.querySelector(`label[for="${field}"]`);
    return label ? label.firstChild.textContent.trim() : field;
  }

  // The API's details name fields as the JSON does ("before first_order_ts");
  // the form says them as its labels do.
  function inWords(detail) {
    return detail.replace(/\b[a-z]+(?:_[a-z]+)+\b/g, (name) =>
      FIELDS.includes(name) ? `“${labelOf(name)}”` : name,
    );
  }

  // "12.5%" of a whole; "<0.1%" rather than a "0%" that hides a real count.
  function share(part, whole) {
    if (!whole) return "–";
    const ratio = part / whole;
    return ratio > 0 && ratio < 0.001 ? "<0.1%" : percent.format(ratio);
  }

  // "a 2,640" but "an 800", "an 11,000": by how the number is said.
  function articleFor(amount) {
    const digits = String(Math.trunc(Math.abs(amount)));
    const lead = digits.slice(0, digits.length % 3 || 3);
    return lead[0] === "8" || lead === "11" || lead === "18" ? "an" : "a";
  }

  function customerCount(count) {
    return `${number.format(count)} ${count === 1 ? "customer" : "customers"}`;
  }

  function setStatus(text) {
    statusLine.textContent = text;
  }

  // --- talking to the API ----------------------------------------------------

  async function call(method, path, body) {
    const headers = { Accept: "application/json, application/problem+json" };
    const key = keyInput.value.trim();
    if (key) headers.Authorization = `Bearer ${key}`;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    let response;
    try {
      response = await fetch(path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        cache: "no-store",
      });
    } catch (error) {
      return {
        ok: false,
        status: 0,
        problem: { title: "The API did not answer", detail: String(error.message || error) },
      };
    }
    let data = null;
    try {
      data = await response.json();
    } catch (error) {
      data = null;
    }
    if (response.ok && data) return { ok: true, status: response.status, data };
    const problem =
      data && typeof data === "object"
        ? data
        : { title: `HTTP ${response.status}`, detail: "The answer was not JSON." };
    return { ok: false, status: response.status, problem };
  }

  async function loadCatalogue() {
    setStatus("Loading segments…");
    const result = await call("GET", "/api/segments");
    if (!result.ok) {
      catalogue = null;
      fillPickers();
      renderCharts();
      setStatus("Segments could not be loaded.");
      showProblem(result, { lead: "The segments could not be loaded.", origin: "segments" });
      return false;
    }
    catalogue = result.data;
    if (answerBox.querySelector('[data-origin="segments"]')) {
      // The problem shown was this load's own (say, a missing key): it is solved.
      answerBox.replaceChildren(el("p", { class: "placeholder" }, "Segments loaded: fill in the customer."));
    }
    fillPickers();
    renderCharts();
    renderDataSource(catalogue.build);
    setStatus(`Segments loaded from the build of ${catalogue.built_at}.`);
    return true;
  }

  // Which data every answer comes from, said plainly: the file, when it was
  // loaded, the rows the cleaning kept, and whether it is the generator's
  // synthetic demo data rather than real vouchers.
  function renderDataSource(build) {
    if (!build) {
      dataSourceLine.hidden = true;
      return;
    }
    // RFC 3339 UTC from the API, shown to the minute.
    const loaded = build.loaded_at
      ? ` loaded ${build.loaded_at.slice(0, 16).replace("T", " ")} UTC`
      : "";
    const kept =
      build.rows_kept !== undefined
        ? `, ${number.format(build.rows_kept)} kept by the cleaning rules`
        : "";
    const parts = [
      `Data: ${build.source_file} (${number.format(build.source_rows)} vouchers${kept}),${loaded}.`,
    ];
    if (build.synthetic) {
      parts.push(" ", el("strong", {}, "Synthetic demo data"),
        ": made by the project's generator, not real vouchers.");
    }
    dataSourceLine.classList.toggle("synthetic", Boolean(build.synthetic));
    dataSourceLine.replaceChildren(...parts);
    dataSourceLine.hidden = false;
  }

  // --- the form ----------------------------------------------------------------

  function fillPickers() {
    const countries = catalogue ? catalogue.countries.map((c) => c.country_code) : [];
    const segments = catalogue ? catalogue.segments : [];
    replaceOptions(
      countrySelect,
      countries.map((code) => [code, code]),
      "No countries (segments not loaded)",
    );
    replaceOptions(
      segmentSelect,
      segments.map((s) => [s.segment_name, s.segment_name]),
      "No segments (segments not loaded)",
    );
    showSegmentHint();
  }

  function replaceOptions(select, options, emptyText) {
    const previous = select.value;
    select.replaceChildren();
    if (!options.length) select.append(el("option", { value: "" }, emptyText));
    for (const [value, text] of options) select.append(el("option", { value }, text));
    if (options.some(([value]) => value === previous)) select.value = previous;
  }

  function measureOf(segment) {
    return MEASURES[segment.measure] || { field: null, words: segment.measure, unit: "" };
  }

  function segmentDefinition(name) {
    return catalogue ? catalogue.segments.find((s) => s.segment_name === name) : undefined;
  }

  function showSegmentHint() {
    const hint = document.getElementById("segment_name-hint");
    const segment = segmentDefinition(segmentSelect.value);
    const needed = segment ? measureOf(segment).field : null;
    for (const field of form.querySelectorAll(".field[data-measure]")) {
      field.classList.toggle("needed", Boolean(segment) && field.dataset.measure === segment.measure);
    }
    hint.textContent = segment
      ? `Places the customer by ${measureOf(segment).words}: fill in “${labelOf(needed)}”.`
      : "";
  }

  // A whole number is sent as a JSON number; anything else as the text it is,
  // for the API to refuse with its own reason. Past 2^53 a number would arrive
  // changed, so it stays text too.
  function orderCount(text) {
    const value = Number(text);
    return /^-?\d+$/.test(text) && Number.isSafeInteger(value) ? value : text;
  }

  function readForm() {
    const body = {};
    for (const field of FIELDS) {
      const value = document.getElementById(field).value.trim();
      if (value === "") continue;
      body[field] = field === "total_orders" ? orderCount(value) : value;
    }
    return body;
  }

  function clearErrors() {
    for (const field of FIELDS) {
      const input = document.getElementById(field);
      const error = document.getElementById(`${field}-error`);
      input.removeAttribute("aria-invalid");
      error.replaceChildren();
      error.hidden = true;
    }
  }

  function markInvalid(field, detail) {
    const input = document.getElementById(field);
    const error = document.getElementById(`${field}-error`);
    input.setAttribute("aria-invalid", "true");
    error.append(el("span", {}, `${labelOf(field)} ${detail}. `));
    error.hidden = false;
  }

  async function submit(event) {
    event.preventDefault();
    if (busy) return;
    busy = true;
    form.setAttribute("aria-busy", "true");
    clearErrors();
    try {
      if (!catalogue) await loadCatalogue(); // e.g. an API key was just typed in
      setStatus("Looking up…");
      const result = await call("POST", "/api/vouchervalue", readForm());
      if (result.ok) {
        answer = result.data;
        if (catalogue && answer.built_at !== catalogue.built_at) await loadCatalogue();
        renderAnswer(answer);
        renderCharts();
        setStatus("Answer ready.");
      } else {
        answer = null;
        renderCharts();
        showProblem(result, { focus: true });
        setStatus("The lookup was refused.");
      }
    } finally {
      busy = false;
      form.removeAttribute("aria-busy");
    }
  }

  // --- problems ------------------------------------------------------------------

  // What went wrong, as a sentence, by the problem's type; the API's own title
  // and status stay underneath in small print, for whoever has to debug it.
  const PROBLEM_SENTENCES = {
    "invalid-fields": "Some fields need fixing:",
    "unknown-country": "This country is not covered.",
    unauthorized: "This service needs its API key.",
    "malformed-body": "The request could not be read.",
    "body-too-large": "That is too much to send at once.",
    "too-many-customers": "That is too many customers to send at once.",
    "unsupported-media-type": "The request was not sent as JSON.",
    "mart-unavailable": "The voucher data cannot be read just now; try again in a few seconds.",
  };

  function problemSentence(result) {
    const type = String(result.problem.type || "");
    const sentence = PROBLEM_SENTENCES[type.slice(type.lastIndexOf(":") + 1)];
    if (sentence) return sentence;
    if (!result.status) return "The API did not answer.";
    return `The API refused this: ${result.problem.title || "it gave no reason"}.`;
  }

  // The problem as a box; options.fields marks and links the form's fields
  // (the single lookup), options.id and options.origin tag the box.
  function problemBox(result, options) {
    const problem = result.problem;
    const box = el(
      "div",
      { class: "problem", id: options.id || "problem", tabindex: "-1", "data-origin": options.origin, "data-status": result.status },
      el("h3", {}, problemSentence(result)),
    );
    if (options.lead) box.append(el("p", {}, options.lead));
    const errors = Array.isArray(problem.errors) ? problem.errors : [];
    // With a list of fields the detail ("Fix these fields: …") says nothing more.
    if (problem.detail && !errors.length) {
      box.append(el("p", { class: "detail", id: `${options.id || "problem"}-detail` }, problem.detail));
    }
    if (errors.length) {
      const list = el("ul", { class: "field-errors" });
      for (const error of errors) {
        const field = String(error.field || "");
        const detail = String(error.detail || "is invalid");
        if (options.fields && FIELDS.includes(field)) {
          markInvalid(field, inWords(detail));
          const link = el("a", { href: `#${field}` }, `${labelOf(field)} ${inWords(detail)}`);
          link.addEventListener("click", (event) => {
            event.preventDefault();
            document.getElementById(field).focus();
          });
          list.append(el("li", {}, link));
        } else {
          list.append(el("li", {}, `${field || "The body"} ${detail}`));
        }
      }
      box.append(list);
    }
    if (result.status === 401) {
      keyDetails.open = true;
      box.append(el("p", {}, "Enter the key under “API key” (or check it) and try again."));
    }
    if (result.status) {
      box.append(el("p", { class: "technical" }, `The API answered ${result.status} ${problem.title || ""}`.trim() + "."));
    }
    return box;
  }

  function showProblem(result, options) {
    const box = problemBox(result, { fields: true, ...options });
    answerBox.replaceChildren(box);
    if (options.focus) box.focus();
  }

  // --- answers -------------------------------------------------------------------

  function renderAnswer(a) {
    const amount = el(
      "strong",
      { id: "answer-amount", "data-amount": a.voucher_amount },
      number.format(a.voucher_amount),
    );
    const headline = el("p", { class: "headline", id: "answer-headline" }, [
      `Send ${articleFor(a.voucher_amount)} `,
      amount,
      ` voucher: ${audience(a, "this customer")}`,
    ]);
    const source = el("p", { id: "answer-source", "data-source": a.source }, explain(a));
    const facts = el("dl", { class: "facts" });
    const add = (term, value) => facts.append(el("dt", {}, term), el("dd", {}, value));
    if (a.customer_id !== null && a.customer_id !== undefined) add("Customer", String(a.customer_id));
    add("Country", a.country_code);
    add("Segment", a.segment_name);
    add("Variant", a.segment_variant === null ? "none" : a.segment_variant);
    add("Orders so far", a.total_orders === null ? "—" : number.format(a.total_orders));
    add(
      "Days since last order",
      a.days_since_last_order === null ? "—" : number.format(a.days_since_last_order),
    );
    add("Counted to", a.as_of);
    add("Build", a.built_at);
    answerBox.replaceChildren(headline, source, facts);
  }

  // Whom an answer's amount is for, from its country, segment, variant and
  // source: "most used for Peru customers whose last order was 180+ days ago".
  // `who` names the customers when none of the segment's variants holds them.
  function audience(a, who) {
    const segment = segmentDefinition(a.segment_name);
    const measure = segment ? measureOf(segment) : null;
    if (a.source === "segment") {
      let which = `of ${a.segment_name} ${a.segment_variant}`;
      if (measure && measure.field === "total_orders") which = `with ${a.segment_variant} orders so far`;
      if (measure && measure.field === "last_order_ts") which = `whose last order was ${a.segment_variant} days ago`;
      return `most used for ${a.country_code} customers ${which}`;
    }
    const why =
      a.segment_variant === null
        ? `no ${a.segment_name} variant holds ${who}`
        : `${a.segment_name} ${a.segment_variant} has no vouchers there`;
    return `the most used in all of ${a.country_code}, as ${why}`;
  }

  // This customer's own value of the segment's measure, in words.
  function customerValue(a) {
    const segment = segmentDefinition(a.segment_name);
    if (segment && measureOf(segment).field === "total_orders") {
      return `${number.format(a.total_orders)} orders so far`;
    }
    return `a last order ${number.format(a.days_since_last_order)} days ago`;
  }

  // Why the answer is what it is, with the counts the mode was taken from.
  function explain(a) {
    const country = countryEntry(a.country_code);
    if (a.source === "segment") {
      const variant = variantEntry(country, a.segment_name, a.segment_variant);
      const counts = variant
        ? ` (${number.format(variant.voucher_amount_count)} of ${number.format(variant.segment_voucher_count)} ` +
          `vouchers, ${share(variant.voucher_amount_count, variant.segment_voucher_count)})`
        : "";
      return [
        el("strong", {}, "From the segment. "),
        `${number.format(a.voucher_amount)} is the amount handed out most often to ${a.country_code} ` +
          `customers of ${a.segment_name} ${a.segment_variant}${counts}; this customer is one of them, ` +
          `with ${customerValue(a)}.`,
      ];
    }
    const fallback = country ? country.fallback : null;
    const counts = fallback
      ? ` (${number.format(fallback.voucher_amount_count)} of ${number.format(fallback.country_voucher_count)} ` +
        `vouchers, ${share(fallback.voucher_amount_count, fallback.country_voucher_count)})`
      : "";
    const why =
      a.segment_variant === null
        ? `No variant of ${a.segment_name} holds ${customerValue(a)}`
        : `Variant ${a.segment_variant} of ${a.segment_name} has no vouchers in ${a.country_code}`;
    return [
      el("strong", {}, "Country fallback. "),
      `${why}, so the answer is the amount handed out most often in all of ${a.country_code}${counts}.`,
    ];
  }

  // --- charts -------------------------------------------------------------------

  function countryEntry(code) {
    return catalogue ? catalogue.countries.find((c) => c.country_code === code) : undefined;
  }

  function variantEntry(country, segmentName, variantName) {
    if (!country) return undefined;
    const segment = country.segments.find((s) => s.segment_name === segmentName);
    return segment ? segment.variants.find((v) => v.segment_variant === variantName) : undefined;
  }

  function renderCharts() {
    const country = countryEntry(countrySelect.value);
    if (!country) {
      chartsBox.replaceChildren(el("p", { class: "placeholder" }, "Choose a country to see its charts."));
      return;
    }
    const fallback = country.fallback;
    const parts = [
      el(
        "p",
        { class: "fallback" },
        `${country.country_code}: the amount handed out most often over all vouchers is ` +
          `${number.format(fallback.voucher_amount)} (${number.format(fallback.voucher_amount_count)} ` +
          `of ${number.format(fallback.country_voucher_count)}, ` +
          `${share(fallback.voucher_amount_count, fallback.country_voucher_count)}), ` +
          "the answer when a segment has none.",
      ),
    ];
    for (const segment of catalogue.segments) {
      const measure = measureOf(segment);
      const grid = el("div", { class: "variants" });
      for (const definition of segment.variants) {
        grid.append(variantFigure(country, segment, measure, definition));
      }
      parts.push(
        el("section", { class: "segment-charts", "data-segment": segment.segment_name }, [
          el("h3", {}, [
            segment.segment_name,
            // The seed's words when the build has them, else the measure's.
            el("span", { class: "by" }, ` by ${(segment.label || measure.words).toLowerCase()}`),
          ]),
          grid,
        ]),
      );
    }
    chartsBox.replaceChildren(...parts);
  }

  function variantFigure(country, segment, measure, definition) {
    const name = definition.segment_variant;
    const variant = variantEntry(country, segment.segment_name, name) || {
      voucher_amount: null,
      distribution: [],
    };
    const current =
      answer &&
      answer.country_code === country.country_code &&
      answer.segment_name === segment.segment_name &&
      answer.segment_variant === name;
    // The seed's label ("5 to 13 orders"); a build published before the seed
    // had labels gets the same words from the bounds.
    const range =
      definition.label ||
      (definition.upper_bound === null
        ? `${definition.lower_bound} ${measure.unit} or more`
        : `${definition.lower_bound} to ${definition.upper_bound} ${measure.unit}`);
    const caption = [el("span", { class: "variant-name" }, name), ` ${range}`];
    if (current) caption.push(el("span", { class: "current-mark" }, " · this customer"));
    const figure = el(
      "figure",
      {
        class: current ? "variant current" : "variant",
        "data-segment": segment.segment_name,
        "data-variant": name,
      },
      el("figcaption", {}, caption),
    );
    if (variant.voucher_amount === null || !variant.distribution.length) {
      figure.append(el("p", { class: "empty" }, "No vouchers: its customers get the country fallback."));
      return figure;
    }
    figure.append(barChart(variant.distribution, variant.voucher_amount, `${segment.segment_name} ${name}`));
    return figure;
  }

  // Horizontal bars, one per amount (in amount order), each with its count and
  // its share of the variant's vouchers; the mode is marked by colour and by
  // the word "mode" inside its bar (the longest, by definition), so the mark
  // does not rely on colour alone.
  function barChart(distribution, mode, title) {
    const row = 24;
    const width = 300;
    const labelWidth = 50;
    const room = width - labelWidth - 96; // the rest holds "12,345 (12.3%)"
    const most = Math.max(...distribution.map((d) => d.voucher_count));
    const total = distribution.reduce((sum, d) => sum + d.voucher_count, 0);
    const counted = (d) => `${number.format(d.voucher_count)} (${share(d.voucher_count, total)})`;
    const summary = distribution
      .map((d) => `${number.format(d.voucher_amount)}: ${counted(d)}${d.voucher_amount === mode ? " (most used)" : ""}`)
      .join("; ");
    const chart = svg("svg", {
      class: "bars",
      viewBox: `0 0 ${width} ${distribution.length * row}`,
      role: "img",
      "aria-label": `Vouchers per amount, ${title}: ${summary}`,
    });
    distribution.forEach((d, index) => {
      const y = index * row;
      const isMode = d.voucher_amount === mode;
      const length = Math.max(2, Math.round((d.voucher_count / most) * room));
      chart.append(
        svg(
          "g",
          {
            class: isMode ? "bar mode" : "bar",
            "data-amount": d.voucher_amount,
            "data-count": d.voucher_count,
          },
          [
            svg("title", {}, `${number.format(d.voucher_amount)}: ${counted(d)} of the vouchers`),
            svg("text", { class: "amount", x: labelWidth - 8, y: y + row / 2, "text-anchor": "end", "dominant-baseline": "central" }, number.format(d.voucher_amount)),
            svg("rect", { x: labelWidth, y: y + 3, width: length, height: row - 6, rx: 3 }),
            svg(
              "text",
              { class: "count", x: labelWidth + length + 5, y: y + row / 2, "dominant-baseline": "central" },
              counted(d),
            ),
          ].concat(
            isMode
              ? [svg("text", { class: "mode-mark", x: labelWidth + length - 6, y: y + row / 2, "text-anchor": "end", "dominant-baseline": "central" }, "mode")]
              : [],
          ),
        ),
      );
    });
    return chart;
  }

  // --- the campaign: a CSV file of customers through POST /api/vouchervalues --

  // The batch route's limits as this service ships them; a 413 that names
  // lower ones (another deployment's) makes the page cut smaller and resend.
  const BATCH_LIMITS = { customers: 10000, bytes: 4 * 1024 * 1024 };
  // No row can be answered without these; whatever else a row's segment needs,
  // the API asks for row by row.
  const REQUIRED_COLUMNS = ["country_code", "segment_name"];
  const ANSWER_COLUMNS = ["segment_variant", "voucher_amount", "source", "error"];
  const REFUSED_SHOWN = 100; // the others are in the answered file's error column
  const DELIMITER_NAMES = { ",": "comma", ";": "semicolon", "\t": "tab" };
  const encoder = new TextEncoder();

  let campaignBusy = false;
  let campaignUrl = null; // the answered file's blob: URL, revoked when replaced

  function setCampaignStatus(text) {
    campaignStatus.textContent = text;
  }

  // The file's customers, or a CSV.CsvError saying in one line what is wrong
  // with the file itself.
  async function readCampaign(file) {
    const bytes = new Uint8Array(await file.arrayBuffer());
    const bom = bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf;
    let text;
    let encoding = "UTF-8";
    try {
      text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    } catch (error) {
      // Excel's plain "CSV" on Windows is Windows-1252, not UTF-8.
      text = new TextDecoder("windows-1252").decode(bytes);
      encoding = "Windows-1252";
    }
    const { delimiter, records } = CSV.parse(text);
    const rows = records.filter((record) => !CSV.isBlank(record.cells));
    if (!rows.length) throw new CSV.CsvError("The file is empty.");
    const [head, ...customers] = rows;
    const header = head.cells.map((name) => name.trim());
    const columns = {}; // request field -> index of its column
    header.forEach((name, index) => {
      const field = name.toLowerCase();
      if (!FIELDS.includes(field)) return;
      if (field in columns) throw new CSV.CsvError(`The column ${field} appears twice in the header row.`);
      columns[field] = index;
    });
    if (!Object.keys(columns).length) {
      throw new CSV.CsvError(
        `Row ${head.row} is not a header row: it should name the columns, ` +
          "such as country_code, segment_name, total_orders (see the template).",
      );
    }
    const missing = REQUIRED_COLUMNS.filter((field) => !(field in columns));
    if (missing.length) {
      throw new CSV.CsvError(
        `The file has no ${missing.join(" and no ")} column (its columns: ${header.join(", ")}).`,
      );
    }
    if (!customers.length) throw new CSV.CsvError("The file has a header row but no customers.");
    return {
      name: file.name,
      // Without a BOM Excel reads UTF-8 as its local code page: an answered
      // file keeps the input's, and gets one when the input was not UTF-8.
      bom: bom || encoding !== "UTF-8",
      encoding,
      delimiter,
      header,
      columns,
      customers: customers.map((record) => campaignRow(record, header.length, columns, delimiter)),
    };
  }

  function campaignRow(record, width, columns, delimiter) {
    const body = {};
    for (const [field, index] of Object.entries(columns)) {
      const value = (record.cells[index] || "").trim();
      if (value !== "") body[field] = field === "total_orders" ? orderCount(value) : value;
    }
    // A value past the last column is most often a delimiter inside a value
    // without quotes: every column after it would be read shifted, so the row
    // is not sent at all.
    const extra = record.cells.slice(width).some((cell) => cell.trim() !== "");
    const refused = extra
      ? `has more values than the header has columns (a ${DELIMITER_NAMES[delimiter]} inside a value that is not in quotes?)`
      : null;
    return { row: record.row, cells: record.cells, body, refused, result: null };
  }

  // Sends the rows in chunks within the limits, in file order; fills each
  // row's result ({status, answer} or {status, problem}).
  async function sendCampaign(rows) {
    const sent = rows.filter((row) => !row.refused);
    const sizes = sent.map((row) => encoder.encode(JSON.stringify(row.body)).length);
    const limits = { ...BATCH_LIMITS };
    const builds = new Set();
    let next = 0;
    while (next < sent.length) {
      const end = chunkEnd(sizes, next, limits);
      setCampaignStatus(
        `Sending customers ${number.format(next + 1)}–${number.format(end)} of ${number.format(sent.length)}…`,
      );
      const result = await call("POST", "/api/vouchervalues", {
        customers: sent.slice(next, end).map((row) => row.body),
      });
      if (!result.ok) {
        if (result.status === 413 && lowerLimits(limits, result.problem)) continue;
        return { failed: result, answered: next, total: sent.length };
      }
      result.data.results.forEach((item, index) => {
        sent[next + index].result = item;
      });
      builds.add(result.data.built_at);
      next = end;
    }
    return { builds: [...builds] };
  }

  // Where the chunk starting at `start` ends: as many customers as fit both
  // limits, counting {"customers":[…]} and the commas between the bodies.
  function chunkEnd(sizes, start, limits) {
    let bytes = '{"customers":[]}'.length;
    let end = start;
    while (end < sizes.length && end - start < limits.customers) {
      const more = sizes[end] + (end > start ? 1 : 0);
      if (end > start && bytes + more > limits.bytes) break;
      bytes += more;
      end++;
    }
    return end;
  }

  // A 413 names the limit it enforces; true when that is lower than the one
  // the chunk was cut for, so a smaller chunk can pass.
  function lowerLimits(limits, problem) {
    if (problem.max_customers > 0 && problem.max_customers < limits.customers) {
      limits.customers = problem.max_customers;
      return true;
    }
    if (problem.max_body_bytes > 0 && problem.max_body_bytes < limits.bytes) {
      limits.bytes = problem.max_body_bytes;
      return true;
    }
    return false;
  }

  function answerOf(row) {
    return row.result && row.result.status === 200 ? row.result.answer : null;
  }

  // A refused row's reason, from its problem document: each field (named as
  // the file's column) and what is wrong with it, else the problem's detail.
  function refusalReason(campaign, row) {
    if (row.refused) return row.refused;
    const problem = (row.result && row.result.problem) || {};
    const errors = Array.isArray(problem.errors) ? problem.errors : [];
    if (errors.length) {
      return errors
        .map((error) => {
          const column = campaign.header[campaign.columns[error.field]] || error.field;
          return `${column} ${error.detail}`;
        })
        .join("; ");
    }
    return problem.detail || problem.title || `refused (${row.result ? row.result.status : "not sent"})`;
  }

  // The input's columns, then the answer's; an answered file sent again gets
  // fresh answers, not a second set of answer columns.
  function answeredCsv(campaign) {
    const kept = campaign.header
      .map((name, index) => [name, index])
      .filter(([name]) => !ANSWER_COLUMNS.includes(name.toLowerCase()));
    const lines = [kept.map(([name]) => name).concat(ANSWER_COLUMNS)];
    for (const row of campaign.customers) {
      const a = answerOf(row);
      lines.push(
        kept
          .map(([, index]) => (index < row.cells.length ? row.cells[index] : ""))
          .concat(
            a
              ? [a.segment_variant === null ? "" : a.segment_variant, String(a.voucher_amount), a.source, ""]
              : ["", "", "", refusalReason(campaign, row)],
          ),
      );
    }
    return (campaign.bom ? CSV.BOM : "") + CSV.format(lines, campaign.delimiter);
  }

  // Answered customers grouped by what they get, in the catalogue's order of
  // segments and variants.
  function campaignGroups(rows) {
    const groups = new Map();
    for (const row of rows) {
      const a = answerOf(row);
      if (!a) continue;
      const key = JSON.stringify([a.country_code, a.segment_name, a.segment_variant, a.voucher_amount, a.source]);
      if (!groups.has(key)) groups.set(key, { answer: a, customers: 0 });
      groups.get(key).customers++;
    }
    const order = (a) => {
      const segments = catalogue ? catalogue.segments : [];
      const s = segments.findIndex((segment) => segment.segment_name === a.segment_name);
      const variants = s < 0 ? [] : segments[s].variants.map((v) => v.segment_variant);
      const v = a.segment_variant === null ? variants.length : variants.indexOf(a.segment_variant);
      return [s < 0 ? segments.length : s, v];
    };
    return [...groups.values()].sort((x, y) => {
      const [a, b] = [x.answer, y.answer];
      const [sa, va] = order(a);
      const [sb, vb] = order(b);
      return (
        a.country_code.localeCompare(b.country_code) ||
        sa - sb ||
        a.segment_name.localeCompare(b.segment_name) ||
        va - vb ||
        a.voucher_amount - b.voucher_amount
      );
    });
  }

  function renderCampaign(campaign, outcome) {
    const rows = campaign.customers;
    const total = rows.length;
    const counts = { segment: 0, country_fallback: 0, refused: 0 };
    const refused = [];
    for (const row of rows) {
      const a = answerOf(row);
      if (a) counts[a.source] = (counts[a.source] || 0) + 1;
      else {
        counts.refused++;
        refused.push(row);
      }
    }
    const part = (count, words) => `${number.format(count)} ${words} (${share(count, total)})`;
    const parts = [
      el(
        "p",
        {
          id: "campaign-counts",
          "data-customers": total,
          "data-segment": counts.segment,
          "data-country-fallback": counts.country_fallback,
          "data-refused": counts.refused,
        },
        `${customerCount(total)} in ${campaign.name}: ` +
          `${part(counts.segment, "get their segment's most used amount")}, ` +
          `${part(counts.country_fallback, "their country's")}, ` +
          `${part(counts.refused, "refused")}.`,
      ),
    ];
    const [build] = outcome.builds;
    parts.push(
      el(
        "p",
        { class: outcome.builds.length > 1 ? "warning" : "hint" },
        outcome.builds.length > 1
          ? `A new build was published while the file was sent: its rows come from the builds of ` +
              `${outcome.builds.join(" and ")}. Send the file again for answers from one build.`
          : build
            ? `Answered from the build of ${build}.`
            : "No row was sent.",
      ),
    );
    campaignUrl = URL.createObjectURL(new Blob([answeredCsv(campaign)], { type: "text/csv;charset=utf-8" }));
    const download = `${campaign.name.replace(/\.(csv|txt)$/i, "")}-answered.csv`;
    parts.push(
      el("p", {}, [
        el("a", { id: "campaign-download", class: "download", href: campaignUrl, download }, `Download ${download}`),
        ": the file's columns and rows, with segment_variant, voucher_amount and source, " +
          "or the reason in error for a refused row.",
      ]),
    );
    parts.push(groupsTable(campaignGroups(rows), total));
    if (refused.length) parts.push(...refusedList(campaign, refused));
    campaignBox.replaceChildren(...parts);
  }

  function groupsTable(groups, total) {
    const body = el("tbody");
    for (const { answer: a, customers } of groups) {
      body.append(
        el(
          "tr",
          {
            "data-country": a.country_code,
            "data-segment": a.segment_name,
            "data-variant": a.segment_variant === null ? "" : a.segment_variant,
            "data-amount": a.voucher_amount,
            "data-source": a.source,
            "data-customers": customers,
          },
          [
            el("td", { class: "number" }, number.format(a.voucher_amount)),
            el("td", {}, `${a.segment_name} ${a.segment_variant === null ? "(no variant)" : a.segment_variant}`),
            el("td", {}, audience(a, "them")),
            el("td", { class: "number" }, number.format(customers)),
            el("td", { class: "number" }, share(customers, total)),
          ],
        ),
      );
    }
    return el("table", { id: "campaign-groups", class: "groups" }, [
      el("caption", {}, "Customers per voucher amount and segment variant"),
      el("thead", {}, el("tr", {}, [
        el("th", { scope: "col", class: "number" }, "Voucher"),
        el("th", { scope: "col" }, "Variant"),
        el("th", { scope: "col" }, "Who gets it"),
        el("th", { scope: "col", class: "number" }, "Customers"),
        el("th", { scope: "col", class: "number" }, "Share"),
      ])),
      body,
    ]);
  }

  function refusedList(campaign, refused) {
    const list = el("ol", { id: "campaign-refused", class: "refused" });
    for (const row of refused.slice(0, REFUSED_SHOWN)) {
      const id = row.body.customer_id;
      list.append(
        el("li", { "data-row": row.row }, [
          el("strong", {}, `Row ${row.row}`),
          `${id === undefined ? "" : ` (customer ${id})`}: ${refusalReason(campaign, row)}`,
        ]),
      );
    }
    const parts = [
      el("h3", {}, "Refused rows"),
      el("p", { class: "hint" }, "Row numbers as a spreadsheet shows them: the header is row 1."),
      list,
    ];
    if (refused.length > REFUSED_SHOWN) {
      parts.push(
        el(
          "p",
          { class: "hint" },
          `And ${number.format(refused.length - REFUSED_SHOWN)} more: see the error column of the answered file.`,
        ),
      );
    }
    return parts;
  }

  async function submitCampaign(event) {
    event.preventDefault();
    if (campaignBusy) return;
    const [file] = campaignFile.files;
    if (!file) {
      setCampaignStatus("Choose a CSV file first.");
      return;
    }
    campaignBusy = true;
    campaignForm.setAttribute("aria-busy", "true");
    campaignBox.replaceChildren();
    if (campaignUrl) URL.revokeObjectURL(campaignUrl); // its link just went
    campaignUrl = null;
    try {
      setCampaignStatus(`Reading ${file.name}…`);
      let campaign;
      try {
        campaign = await readCampaign(file);
      } catch (error) {
        if (!(error instanceof CSV.CsvError)) throw error;
        const message = /^[A-Z]/.test(error.message) ? error.message : `The file has ${error.message}.`;
        setCampaignStatus(`${file.name} was not sent.`);
        campaignBox.replaceChildren(el("p", { class: "problem file-problem", id: "campaign-file-problem" }, message));
        return;
      }
      if (!catalogue) await loadCatalogue(); // for the words; the answers need none
      const outcome = await sendCampaign(campaign.customers);
      if (outcome.failed) {
        setCampaignStatus(`Stopped after ${number.format(outcome.answered)} of ${customerCount(outcome.total)}.`);
        campaignBox.replaceChildren(
          problemBox(outcome.failed, {
            id: "campaign-problem",
            lead: "The campaign could not be sent; nothing was answered for download.",
          }),
        );
        return;
      }
      renderCampaign(campaign, outcome);
      setCampaignStatus(
        `${customerCount(campaign.customers.length)} read from ${campaign.name} ` +
          `(${campaign.encoding}, ${DELIMITER_NAMES[campaign.delimiter]}-separated) and answered.`,
      );
    } finally {
      campaignBusy = false;
      campaignForm.removeAttribute("aria-busy");
    }
  }

  // --- wiring ------------------------------------------------------------------

  // The example lookup, from the one file the API docs and tests also read.
  async function fillExample() {
    let example;
    try {
      const response = await fetch("/static/example-request.json", { cache: "no-store" });
      example = await response.json();
    } catch (error) {
      setStatus("The example could not be loaded.");
      return;
    }
    clearErrors();
    for (const field of FIELDS) {
      const value = example[field];
      document.getElementById(field).value = value === undefined || value === null ? "" : String(value);
    }
    showSegmentHint();
    renderCharts();
    setStatus("Example customer filled in: look it up.");
  }

  form.addEventListener("submit", submit);
  document.getElementById("fill-example").addEventListener("click", fillExample);
  countrySelect.addEventListener("change", renderCharts);
  segmentSelect.addEventListener("change", showSegmentHint);
  keyInput.addEventListener("change", loadCatalogue);
  campaignForm.addEventListener("submit", submitCampaign);
  loadCatalogue();
})();
