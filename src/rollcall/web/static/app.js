// rollcall portal: sortable and filterable tables, and the dashboard's live head counts.
"use strict";

// Text as searched: without accents or case ("Émile" is found by "emile", "İsmail" by
// "ismail", "Weiß" by "weiss"), as the server folds names (storage.names.folded).
// Latin letters Unicode does not decompose, as rollcall/accents.py writes them.
const OWN_LETTERS = { "ø": "o", "ł": "l", "ı": "i", "đ": "d", "ð": "d", "ħ": "h", "ŧ": "t",
  "æ": "ae", "œ": "oe", "þ": "th" };

function folded(text) {
  return text.normalize("NFKD").replace(/\p{M}/gu, "").toLocaleLowerCase("en")
    .replace(/[øłıđðħŧæœþ]/g, (ch) => OWN_LETTERS[ch]).replace(/ß/g, "ss");
}

function cellValue(row, index) {
  const cell = row.cells[index];
  if (!cell) return "";
  const raw = cell.dataset.sort !== undefined ? cell.dataset.sort : cell.textContent.trim();
  const num = Number(raw);
  return raw !== "" && !Number.isNaN(num) ? num : raw;
}

// Names among their letters, whatever their accents and case ("Émile" came after "Zoë").
const collator = new Intl.Collator(undefined, { sensitivity: "base", numeric: true });

function compare(x, y) {
  if (typeof x === "number" && typeof y === "number") return x - y;
  return collator.compare(String(x), String(y));
}

function makeSortable(table) {
  const headers = table.tHead ? Array.from(table.tHead.rows[0].cells) : [];
  headers.forEach((th, index) => {
    // A column of checkboxes, pictures or buttons has nothing to sort by: its header is no
    // tab stop (a keyboard user tabbed through them for nothing: a UX review).
    if (th.hasAttribute("data-nosort") || th.textContent.trim() === "") return;
    th.tabIndex = 0;
    const sort = () => {
      const ascending = th.getAttribute("aria-sort") !== "ascending";
      headers.forEach((h) => h.removeAttribute("aria-sort"));
      th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
      const body = table.tBodies[0];
      const rows = Array.from(body.rows).filter((r) => r.cells.length === headers.length);
      rows.sort((a, b) => {
        return compare(cellValue(a, index), cellValue(b, index)) * (ascending ? 1 : -1);
      });
      rows.forEach((r) => body.appendChild(r));
    };
    th.addEventListener("click", sort);
    th.addEventListener("keydown", (e) => { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); sort(); } });
  });
}

function makeFilter(input) {
  const table = document.getElementById(input.dataset.filterFor);
  if (!table) return;
  input.addEventListener("input", () => {
    const words = folded(input.value).split(/\s+/).filter(Boolean);
    Array.from(table.tBodies[0].rows).forEach((row) => {
      const text = folded(row.textContent);
      row.hidden = !words.every((w) => text.includes(w));
    });
  });
}

function formatClock(seconds) {
  if (seconds === null || seconds === undefined) return "";
  const s = Math.round(seconds), h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
  const pad = (n) => String(n).padStart(2, "0");
  return h ? `${h}:${pad(m)}:${pad(r)}` : `${m}:${pad(r)}`;
}

function pollLive(box) {
  const update = async () => {
    try {
      const response = await fetch(box.dataset.liveUrl, { credentials: "same-origin", headers: { Accept: "application/json" } });
      if (!response.ok) return;
      const data = await response.json();
      const known = new Set();
      data.sessions.forEach((s) => {
        known.add(s.session);
        const card = Array.from(box.querySelectorAll("[data-session]")).find((c) => c.dataset.session === s.session);
        if (!card) { window.location.reload(); return; }  // a new session started: redraw the page
        const set = (field, value) => { const el = card.querySelector(`[data-field=${field}]`); if (el) el.textContent = value; };
        set("head_count", s.head_count ?? "–");
        set("recognized", s.recognized ?? "–");
        set("progress", s.samples ? `sample ${s.samples} at ${formatClock(s.t)}` : "no sample yet");
        set("here", s.here);
        set("expected", s.expected);
        set("missing", s.missing.length ? s.missing.join(", ") : "no one");
        set("stalled", s.stalled);
        const stalled = card.querySelector("[data-field=stalled]");
        if (stalled) stalled.hidden = !s.stalled;
      });
      box.querySelectorAll("[data-session]").forEach((card) => { if (!known.has(card.dataset.session)) card.classList.add("ended"); });
    } catch (err) { /* offline for a moment: try again on the next tick */ }
  };
  setInterval(update, 5000);
}

// A form that undoes something asks first (the text is in its data-confirm). "{person}" in it
// is the person chosen in the form's select: a mis-pick from a long list is then seen before
// it is confirmed.
function askFirst(form) {
  form.addEventListener("submit", (e) => {
    const chosen = form.querySelector("select[name=person]");
    const name = chosen && chosen.selectedIndex >= 0 ? chosen.options[chosen.selectedIndex].text : "";
    if (!window.confirm(form.dataset.confirm.replace("{person}", name))) e.preventDefault();
  });
}

document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("form[data-confirm]").forEach(askFirst);
  document.querySelectorAll("table[data-sortable]").forEach(makeSortable);
  document.querySelectorAll("input[data-filter-for]").forEach(makeFilter);
  document.querySelectorAll("[data-live-url]").forEach(pollLive);
});
