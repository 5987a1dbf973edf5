// The lookup page: fills the pickers from GET /api/segments, sends the form to
// POST /api/vouchervalue, shows the answer or the problem details, and draws one
// bar chart per segment variant of the chosen country. No framework, no build:
// every element is made with the DOM API, so no text from the API is ever
// parsed as HTML.
"use strict";

(function () {
  const form = document.getElementById("lookup");
  const statusLine = document.getElementById("status");
  const answerBox = document.getElementById("answer");
  const chartsBox = document.getElementById("charts");
  const countrySelect = document.getElementById("country_code");
  const segmentSelect = document.getElementById("segment_name");
  const keyInput = document.getElementById("api_key");
  const keyDetails = document.getElementById("key-details");

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
    total_orders: { field: "total_orders", words: "total orders", unit: "orders" },
    days_since_last_order: {
      field: "last_order_ts",
      words: "days since the last order",
      unit: "days",
    },
  };
  const SVG = "http://www.w3.org/2000/svg";
  const number = new Intl.NumberFormat("en");

  let catalogue = null; // the last GET /api/segments document
  let answer = null; // the last successful lookup
  let busy = false;

  // --- DOM helpers -----------------------------------------------------------

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
    setStatus(`Segments loaded from the build of ${catalogue.built_at}.`);
    return true;
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

  function readForm() {
    const body = {};
    for (const field of FIELDS) {
      const value = document.getElementById(field).value.trim();
      if (value === "") continue;
      // A number when it is one; otherwise the text, for the API to explain.
      body[field] = field === "total_orders" && /^-?\d+$/.test(value) ? Number(value) : value;
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

  // --- answers and problems ----------------------------------------------------

  function showProblem(result, options) {
    const problem = result.problem;
    const title = problem.title || "Error";
    const box = el("div", { class: "problem", id: "problem", tabindex: "-1", "data-origin": options.origin }, [
      el("h3", {}, result.status ? `${title} (${result.status})` : title),
    ]);
    if (options.lead) box.append(el("p", {}, options.lead));
    if (problem.detail) box.append(el("p", { class: "detail", id: "problem-detail" }, problem.detail));
    if (Array.isArray(problem.errors) && problem.errors.length) {
      const list = el("ul", { class: "field-errors" });
      for (const error of problem.errors) {
        const field = String(error.field || "");
        const detail = String(error.detail || "is invalid");
        if (FIELDS.includes(field)) {
          markInvalid(field, detail);
          const link = el("a", { href: `#${field}` }, `${labelOf(field)} ${detail}`);
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
      box.append(el("p", {}, "This service needs an API key: enter it under “API key” and try again."));
    }
    answerBox.replaceChildren(box);
    if (options.focus) box.focus();
  }

  function renderAnswer(a) {
    const amount = el(
      "strong",
      { id: "answer-amount", "data-amount": a.voucher_amount },
      number.format(a.voucher_amount),
    );
    const source = el("p", { id: "answer-source", "data-source": a.source }, explain(a));
    const facts = el("dl", { class: "facts" });
    const add = (term, value) => facts.append(el("dt", {}, term), el("dd", {}, value));
    if (a.customer_id !== null && a.customer_id !== undefined) add("Customer", String(a.customer_id));
    add("Country", a.country_code);
    add("Segment", a.segment_name);
    add("Variant", a.segment_variant === null ? "none" : a.segment_variant);
    add("Total orders", a.total_orders === null ? "—" : number.format(a.total_orders));
    add(
      "Days since last order",
      a.days_since_last_order === null ? "—" : number.format(a.days_since_last_order),
    );
    add("Counted to", a.as_of);
    add("Build", a.built_at);
    answerBox.replaceChildren(
      el("p", { class: "amount" }, [el("span", { class: "amount-label" }, "Voucher amount"), amount]),
      source,
      facts,
    );
  }

  // Why the answer is what it is, in words a marketer reads.
  function explain(a) {
    const country = countryEntry(a.country_code);
    const segment = segmentDefinition(a.segment_name);
    const measure = segment ? measureOf(segment) : null;
    const value =
      measure && measure.field === "total_orders"
        ? `${a.total_orders} total orders`
        : `${a.days_since_last_order} days since the last order`;
    if (a.source === "segment") {
      const variant = variantEntry(country, a.segment_name, a.segment_variant);
      const share = variant
        ? ` (${number.format(variant.voucher_amount_count)} of ${number.format(variant.segment_voucher_count)} vouchers)`
        : "";
      return [
        el("strong", {}, "From the segment. "),
        `${number.format(a.voucher_amount)} is the most used amount among customers of ` +
          `${a.segment_name} ${a.segment_variant} in ${a.country_code}${share}; ` +
          `this customer is in that variant with ${value}.`,
      ];
    }
    const fallback = country ? country.fallback : null;
    const share = fallback
      ? ` (${number.format(fallback.voucher_amount_count)} of ${number.format(fallback.country_voucher_count)} vouchers)`
      : "";
    const why =
      a.segment_variant === null
        ? `no variant of ${a.segment_name} holds ${value}`
        : `variant ${a.segment_variant} of ${a.segment_name} has no vouchers in ${a.country_code}`;
    return [
      el("strong", {}, "Country fallback. "),
      `${why}, so the answer is the most used amount in all of ${a.country_code}${share}.`,
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
        `${country.country_code}: the most used amount over all vouchers is ` +
          `${number.format(fallback.voucher_amount)} (${number.format(fallback.voucher_amount_count)} ` +
          `of ${number.format(fallback.country_voucher_count)}), the answer when a segment has none.`,
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
          el("h3", {}, [segment.segment_name, el("span", { class: "by" }, ` by ${measure.words}`)]),
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
    const range =
      definition.upper_bound === null
        ? `${definition.lower_bound} ${measure.unit} or more`
        : `${definition.lower_bound} to ${definition.upper_bound} ${measure.unit}`;
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

  // Horizontal bars, one per amount (in amount order); the mode is marked by
  // colour and by the word "mode" inside its bar (the longest, by definition),
  // so the mark does not rely on colour alone.
  function barChart(distribution, mode, title) {
    const row = 24;
    const width = 260;
    const labelWidth = 50;
    const room = width - labelWidth - 52;
    const most = Math.max(...distribution.map((d) => d.voucher_count));
    const summary = distribution
      .map((d) => `${number.format(d.voucher_amount)}: ${number.format(d.voucher_count)}${d.voucher_amount === mode ? " (most used)" : ""}`)
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
            svg("title", {}, `${number.format(d.voucher_amount)}: ${number.format(d.voucher_count)} vouchers`),
            svg("text", { class: "amount", x: labelWidth - 8, y: y + row / 2, "text-anchor": "end", "dominant-baseline": "central" }, number.format(d.voucher_amount)),
            svg("rect", { x: labelWidth, y: y + 3, width: length, height: row - 6, rx: 3 }),
            svg(
              "text",
              { class: "count", x: labelWidth + length + 5, y: y + row / 2, "dominant-baseline": "central" },
              number.format(d.voucher_count),
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
  loadCatalogue();
})();
