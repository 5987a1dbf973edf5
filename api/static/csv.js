// CSV in and out, for the lookup page's campaign upload: no DOM, no API, so
// the rules of the format sit in one place (RFC 4180, read leniently the way
// spreadsheets write it) and app.js only deals in rows.
"use strict";

const CSV = (function () {
  const BOM = "\ufeff";
  // Excel writes ";" where the decimal separator is a comma (most of Europe
  // and Latin America), and "Text (tab delimited)" uses tabs.
  const DELIMITERS = [",", ";", "\t"];

  class CsvError extends Error {}

  // The delimiter that occurs most often (outside quotes) in the first record.
  function detectDelimiter(text) {
    const seen = new Map(DELIMITERS.map((d) => [d, 0]));
    let quoted = false;
    for (const c of text) {
      if (c === '"') quoted = !quoted;
      else if (!quoted && (c === "\n" || c === "\r")) break;
      else if (!quoted && seen.has(c)) seen.set(c, seen.get(c) + 1);
    }
    let best = ",";
    for (const [d, count] of seen) if (count > seen.get(best)) best = d;
    return best;
  }

  // Records as {row, cells}; row is the record's number counted as a
  // spreadsheet shows it (the header is row 1, a blank line is a row too), so
  // a refused customer can be found in the file. CRLF, LF and lone CR all end
  // a record; a leading BOM is dropped; a quote that opens a field may hold
  // delimiters, line breaks and doubled quotes; a quote anywhere else is text.
  function parse(text, delimiter) {
    if (text.startsWith(BOM)) text = text.slice(1);
    const sep = delimiter || detectDelimiter(text);
    const records = [];
    let cells = [];
    let cell = "";
    let quoted = false;
    let fieldStart = true;
    let quoteRow = 0;
    const endCell = () => {
      cells.push(cell);
      cell = "";
      fieldStart = true;
    };
    const endRecord = () => {
      endCell();
      records.push({ row: records.length + 1, cells });
      cells = [];
    };
    for (let i = 0; i < text.length; i++) {
      const c = text[i];
      if (quoted) {
        if (c !== '"') cell += c;
        else if (text[i + 1] === '"') {
          cell += '"';
          i++;
        } else quoted = false;
      } else if (c === '"' && fieldStart) {
        quoted = true;
        fieldStart = false;
        quoteRow = records.length + 1;
      } else if (c === sep) {
        endCell();
      } else if (c === "\r" || c === "\n") {
        if (c === "\r" && text[i + 1] === "\n") i++;
        endRecord();
      } else {
        cell += c;
        fieldStart = false;
      }
    }
    if (quoted) {
      throw new CsvError(`a quoted value that starts in row ${quoteRow} never ends (a closing " is missing)`);
    }
    // The last record, unless the text ended with a line break.
    if (cells.length || cell !== "" || !fieldStart) endRecord();
    return { delimiter: sep, records };
  }

  function isBlank(cells) {
    return cells.every((cell) => cell.trim() === "");
  }

  // Rows of strings back to CSV text; CRLF line ends, as RFC 4180 and Excel do.
  function format(rows, delimiter) {
    const sep = delimiter || ",";
    const quote = (value) => {
      const text = value === null || value === undefined ? "" : String(value);
      return text.includes(sep) || /["\r\n]|^\s|\s$/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
    };
    return rows.map((cells) => cells.map(quote).join(sep) + "\r\n").join("");
  }

  return Object.freeze({ BOM, CsvError, detectDelimiter, parse, isBlank, format });
})();
