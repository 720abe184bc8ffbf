// The passport page: fetch the public verification bundle, verify it on this device
// (bpass-verify.js, WebCrypto), check that every value the page shows is the signed value, and
// say so in an aria-live verdict naming each check. Coded values are shown as words (the page's
// word list, passport-words.json, shared with the server) and dates in words in the reader's
// local time (Intl.DateTimeFormat); the check compares the signed value kept in ``data-value`` or
// ``datetime`` and that the words shown are the ones for it.
import { verifyBundle } from "./bpass-verify.js";

const LABELS = {
  bundle: "Evidence bundle",
  checkpoint: "Log checkpoint signature",
  inclusion: "Records in the public log",
  signatures: "Record signatures",
  operator: "Ledger operator",
  "passport record": "Passport record",
  "OEM key": "Manufacturer's registered key",
  status: "Status history",
  partitions: "Signed passport data",
  "shown data": "Data shown on this page",
};

const MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August",
  "September", "October", "November", "December"];

// A date or timestamp in words, in UTC, as the server writes it (api/pages.py date_words).
function dateWords(iso) {
  const day = /^(\d{4})-(\d{2})-(\d{2})$/.exec(iso);
  if (day) {
    const [y, m, d] = day.slice(1).map(Number);
    return m >= 1 && m <= 12 ? `${d} ${MONTHS[m - 1]} ${y}` : iso;
  }
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(iso)) return iso;
  const t = new Date(iso);
  if (Number.isNaN(t.getTime())) return iso;
  const two = (n) => String(n).padStart(2, "0");
  return `${t.getUTCDate()} ${MONTHS[t.getUTCMonth()]} ${t.getUTCFullYear()}, ${two(t.getUTCHours())}:${two(t.getUTCMinutes())} UTC`;
}

// The same date or time for the reader: a date as written, a timestamp in local time.
function localDate(iso) {
  const locales = [...(navigator.languages ?? []).filter((l) => l.startsWith("en")), "en-GB"];
  if (/^\d{4}-\d{2}-\d{2}$/.test(iso)) {
    return new Intl.DateTimeFormat(locales, { dateStyle: "long", timeZone: "UTC" }).format(new Date(`${iso}T00:00:00Z`));
  }
  return new Intl.DateTimeFormat(locales, { dateStyle: "long", timeStyle: "short" }).format(new Date(iso));
}

// What each <time data-ptr> showed as the server sent it, before it is shown in local time.
const served = new Map();

function localiseDates() {
  for (const el of document.querySelectorAll("time[data-ptr]")) {
    const iso = el.getAttribute("datetime") ?? "";
    served.set(el, el.textContent.trim());
    if (served.get(el) === dateWords(iso) && dateWords(iso) !== iso) el.textContent = localDate(iso);
  }
}

// The words the page shows for ``value`` (a marked element's own text), or why they are wrong.
function shownText(el, value, words) {
  if (el.tagName === "TIME") {
    const text = served.get(el) ?? el.textContent.trim();
    if (el.getAttribute("datetime") !== String(value)) return { text: el.getAttribute("datetime"), ok: false };
    return { text, ok: text === dateWords(String(value)) };
  }
  const text = el.textContent.trim();
  if (el.dataset.words !== undefined) {
    if (!words) return { text, ok: false, why: "the page's word list could not be loaded" };
    const table = words[el.dataset.words] ?? {};
    const word = Object.hasOwn(table, String(value)) ? table[String(value)] : String(value);
    return { text, ok: el.dataset.value === String(value) && text === word };
  }
  return { text, ok: text === String(value) };
}

function pointerGet(root, pointer) {
  let node = root;
  for (const raw of pointer.split("/").slice(1)) {
    const key = raw.replaceAll("~1", "/").replaceAll("~0", "~");
    if (node === null || typeof node !== "object" || !(key in node)) return undefined;
    node = node[key];
  }
  return node;
}

// What the page may show: values of the verified records and partitions, or computed by the
// verifier from them (status, lastUpdated, successor, cessation), as the ledger builds the view
// (passport.document.body.document_from); nothing else.
function verifiedDocument(passport) {
  const s = passport.record?.credentialSubject ?? {};
  const doc = {
    passportId: s.passportId,
    schemaVersion: s.schemaVersion,
    batteryId: s.batteryId,
    status: passport.status,
    issuedAt: passport.record?.validFrom,
    lastUpdated: passport.lastUpdated,
    economicOperator: s.economicOperator,
  };
  if (s.predecessor) doc.predecessor = s.predecessor.passportId;
  if (passport.successor) doc.successor = passport.successor;
  if (passport.ceasedAt) doc.ceasedAt = passport.ceasedAt;
  for (const [n, data] of Object.entries(passport.partitions ?? {})) doc[`point${n}`] = data;
  return doc;
}

// Every value the page marks as passport data must equal the verified value at its pointer; a
// value with no verified counterpart fails (the page would show something nobody signed).
function shownData(report, words) {
  const check = { check: "shown data", ok: false, detail: "" };
  if (!report.passport?.partitions?.["1"] || !report.passport.record) {
    check.detail = "nothing verified to compare the page with";
    return check;
  }
  const doc = verifiedDocument(report.passport);
  let compared = 0;
  for (const el of document.querySelectorAll("[data-ptr]")) {
    const pointer = el.dataset.ptr;
    const value = pointerGet(doc, pointer);
    if (value === undefined || value === null || typeof value === "object") {
      check.detail = `the page shows “${el.textContent.trim()}” for ${pointer}, which is no value of the signed passport`;
      return check;
    }
    const shown = shownText(el, value, words);
    if (!shown.ok) {
      check.detail = shown.why ?? `the page shows “${shown.text}” for ${pointer}, the signed passport says “${value}”`;
      return check;
    }
    compared++;
  }
  check.ok = compared > 0;
  check.detail = check.ok ? `${compared} values on this page equal the signed passport` : "no value to compare";
  return check;
}

function pinnedKey() {
  try { return localStorage.getItem(`bpass.logKey:${location.origin}`) ?? undefined; } catch { return undefined; }
}

function pin(key) {
  try { localStorage.setItem(`bpass.logKey:${location.origin}`, key); } catch { /* private mode */ }
}

function render(report) {
  const verdict = document.getElementById("verdict");
  const list = document.getElementById("checks");
  const failed = report.checks.filter((c) => !c.ok);
  list.replaceChildren(...report.checks.map((c) => {
    const li = document.createElement("li");
    li.className = c.ok ? "ok" : "failed";
    li.dataset.check = c.check;
    const mark = document.createElement("span");
    mark.className = "mark";
    mark.setAttribute("aria-hidden", "true");
    mark.textContent = c.ok ? "✓" : "✗";
    const name = document.createElement("strong");
    name.textContent = `${LABELS[c.check] ?? c.check}: ${c.ok ? "passed" : "FAILED"}`;
    const detail = document.createElement("span");
    detail.className = "detail";
    detail.textContent = c.detail;
    li.append(mark, name, detail);
    return li;
  }));
  const why = document.createElement("span");
  why.className = "why";
  if (failed.length === 0) {
    verdict.className = "verdict ok";
    verdict.textContent = "✓ Verified";
    why.textContent = `All ${report.checks.length} checks passed: signed by ${report.passport.issuer?.name ?? "the manufacturer"} with its registered key, and held by the public log.`;
  } else {
    verdict.className = "verdict failed";
    verdict.textContent = "✗ Verification failed";
    why.textContent = `Failed: ${failed.map((c) => `${LABELS[c.check] ?? c.check} (${c.check})`).join(", ")}. Do not rely on this page.`;
    document.getElementById("checks-box").open = true;
  }
  verdict.dataset.result = failed.length === 0 ? "verified" : "failed";
  verdict.dataset.failed = failed.map((c) => c.check).join(",");
  verdict.append(why);
}

async function loadWords() {
  try {
    const response = await fetch(new URL("./passport-words.json", import.meta.url), { cache: "no-cache" });
    return response.ok ? await response.json() : null;
  } catch {
    return null;
  }
}

async function run() {
  const main = document.querySelector("main");
  localiseDates();
  const words = loadWords();
  let report;
  try {
    const response = await fetch(main.dataset.bundle, { headers: { Accept: "application/json" }, cache: "no-store" });
    if (!response.ok) throw new Error(`the server answered ${response.status}`);
    let bundle;
    try {
      bundle = JSON.parse(await response.text());
    } catch {
      throw new Error("the bundle is not valid JSON");
    }
    const pinned = pinnedKey();
    report = await verifyBundle(bundle, { passportId: main.dataset.passportId, pinnedLogKey: pinned });
    report.checks.push(shownData(report, await words));
    if (report.checks.every((c) => c.ok) && pinned === undefined) pin(bundle.log.verifierKey);
  } catch (e) {
    report = { checks: [{ check: "bundle", ok: false, detail: e.message }], passport: {} };
  }
  render(report);
}

run();
