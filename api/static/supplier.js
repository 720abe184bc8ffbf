// supplier.js: the supplier page. Sign a file's records in this browser with the supplier's key.
//
// 1. The key file (PKCS#8 PEM as `bpass keys new` writes it, or an Ed25519 JWK) is read here and
//    imported as a non-extractable WebCrypto key; it is never sent anywhere.
// 2. Sign in: POST /auth/challenge, sign the challenge's UTF-8 bytes, POST /auth/token.
// 3. POST /imports/validate: the node checks every row (a problem+json report with each row and
//    column otherwise) and returns each row's unsigned record in chain order.
// 4. Sign in chain order as `bpass import` does (passport.service.imports.sign_rows): fill
//    chain.previous and the references to lots earlier rows create with the hashes of the records
//    signed before; conceal the members the kind does not declare public (RFC 9901 Disclosures,
//    salts from crypto.getRandomValues); add the eddsa-jcs-2022 proof (W3C vc-di-eddsa §3.3.1).
// 5. POST /records/batch, a batch at a time; show each record's hash and log index.

import { canonicalize, concat, hex, sha256 } from "/static/bpass-verify.js";

const enc = new TextEncoder();
const BATCH = 500;
const B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
const FORMATS = { csv: "csv", xlsx: "xlsx", jsonl: "jsonl", ndjson: "jsonl" };
const MEDIA = {
  csv: "text/csv",
  xlsx: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
  jsonl: "application/x-ndjson",
};

export class PageError extends Error {
  constructor(message, problem = null) {
    super(message);
    this.problem = problem;
  }
}

// -- encodings ---------------------------------------------------------------------------------
export function toBase58(bytes) {
  let n = 0n;
  for (const b of bytes) n = (n << 8n) | BigInt(b);
  let out = "";
  while (n > 0n) { out = B58[Number(n % 58n)] + out; n /= 58n; }
  for (const b of bytes) { if (b !== 0) break; out = "1" + out; }
  return out;
}

export function b64url(bytes) {
  let bin = "";
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

export function fromB64url(text) {
  if (typeof text !== "string" || !/^[A-Za-z0-9_-]*$/.test(text)) throw new PageError("not base64url");
  const bin = atob(text.replace(/-/g, "+").replace(/_/g, "/") + "=".repeat((4 - (text.length % 4)) % 4));
  return Uint8Array.from(bin, (c) => c.charCodeAt(0));
}

// Multikey (Controlled Identifiers §2.2.2): 'z' + base58btc(0xed 0x01 || 32-byte key).
export function multikey(publicKey) {
  return "z" + toBase58(concat(Uint8Array.of(0xed, 0x01), publicKey));
}

// -- an encrypted key file ---------------------------------------------------------------------
// `bpass keys` encrypts a key file with a passphrase (BPASS_KEY_PASSPHRASE) as PKCS#8
// EncryptedPrivateKeyInfo (RFC 5958 §3) under PBES2 (RFC 8018 §6.2): PBKDF2 (§5.2) derives an
// AES-CBC key from the passphrase, which decrypts the plain PKCS#8 key. WebCrypto does both steps;
// only the few DER fields that name the algorithms and carry their parameters are read here.
const OID = {
  pbes2: "2a864886f70d01050d", // 1.2.840.113549.1.5.13
  pbkdf2: "2a864886f70d01050c", // 1.2.840.113549.1.5.12
  "2a864886f70d0207": "SHA-1", // hmacWithSHA1, PBKDF2's default PRF (RFC 8018 §A.2)
  "2a864886f70d0209": "SHA-256", // hmacWithSHA256
  "2a864886f70d020a": "SHA-384", // hmacWithSHA384
  "2a864886f70d020b": "SHA-512", // hmacWithSHA512
  "608648016503040102": 128, // aes128-CBC-Pad (RFC 8018 §B.2.5)
  "60864801650304012a": 256, // aes256-CBC-Pad
};

function derNode(bytes, at, end = bytes.length) {
  if (at + 2 > end) throw new PageError("the encrypted key file is damaged");
  let length = bytes[at + 1];
  let head = 2;
  if (length & 0x80) {
    const n = length & 0x7f;
    if (n < 1 || n > 3) throw new PageError("the encrypted key file is damaged");
    length = 0;
    for (let i = 0; i < n; i++) length = length * 256 + bytes[at + 2 + i];
    head += n;
  }
  const start = at + head;
  if (start + length > end) throw new PageError("the encrypted key file is damaged");
  return { tag: bytes[at], start, end: start + length };
}

function derChildren(bytes, node, tag = 0x30) {
  if (node.tag !== tag) throw new PageError("the encrypted key file is not PKCS#8 EncryptedPrivateKeyInfo");
  const out = [];
  for (let at = node.start; at < node.end; at = out[out.length - 1].end) out.push(derNode(bytes, at, node.end));
  return out;
}

const derHex = (bytes, node) => Array.from(bytes.subarray(node.start, node.end), (b) => b.toString(16).padStart(2, "0")).join("");
const derInt = (bytes, node) => bytes.subarray(node.start, node.end).reduce((n, b) => n * 256 + b, 0);

// The plain PKCS#8 DER inside an encrypted key file's DER, or a PageError saying what is wrong.
export async function decryptPkcs8(der, passphrase) {
  const unsupported = "the key file is encrypted with an algorithm this page does not read (it reads PBES2: PBKDF2 and AES-CBC, as bpass writes)";
  const [algorithm, encrypted] = derChildren(der, derNode(der, 0));
  const [scheme, params] = derChildren(der, algorithm);
  if (derHex(der, scheme) !== OID.pbes2) throw new PageError(unsupported);
  const [kdf, cipher] = derChildren(der, params);
  const [kdfId, kdfParams] = derChildren(der, kdf);
  const [cipherId, iv] = derChildren(der, cipher);
  if (derHex(der, kdfId) !== OID.pbkdf2) throw new PageError(unsupported);
  const [salt, rounds, ...rest] = derChildren(der, kdfParams);
  const prf = rest.find((n) => n.tag === 0x30);
  const hash = prf ? OID[derHex(der, derChildren(der, prf)[0])] : "SHA-1";
  const bits = OID[derHex(der, cipherId)];
  if (typeof hash !== "string" || typeof bits !== "number" || iv.tag !== 0x04 || salt.tag !== 0x04) {
    throw new PageError(unsupported);
  }
  const base = await crypto.subtle.importKey("raw", enc.encode(passphrase), "PBKDF2", false, ["deriveKey"]);
  const aes = await crypto.subtle.deriveKey(
    { name: "PBKDF2", salt: der.slice(salt.start, salt.end), iterations: derInt(der, rounds), hash },
    base, { name: "AES-CBC", length: bits }, false, ["decrypt"]);
  try {
    const plain = await crypto.subtle.decrypt(
      { name: "AES-CBC", iv: der.slice(iv.start, iv.end) }, aes, der.slice(encrypted.start, encrypted.end));
    return new Uint8Array(plain);
  } catch (e) {
    throw new PageError("the passphrase does not open this key file");
  }
}

// -- the key -----------------------------------------------------------------------------------
// Returns {key: non-extractable CryptoKey, publicKey, multikey, did}. A PEM is imported once as
// extractable only to read its public half (the JWK's x; PKCS#8 v1 holds the seed alone), then
// imported again non-extractable; the extractable handle and its JWK go out of scope at once. An
// encrypted PEM is opened with `passphrase` first (decryptPkcs8).
export async function importSigningKey(text, passphrase = "") {
  const alg = { name: "Ed25519" };
  let jwk;
  const trimmed = text.trim();
  if (trimmed.startsWith("{")) {
    jwk = JSON.parse(trimmed);
    if (jwk.kty !== "OKP" || jwk.crv !== "Ed25519" || typeof jwk.d !== "string" || typeof jwk.x !== "string") {
      throw new PageError("the JWK is not an Ed25519 private key (kty OKP, crv Ed25519, d and x)");
    }
  } else {
    const match = /-----BEGIN (ENCRYPTED )?PRIVATE KEY-----([A-Za-z0-9+/=\s]+)-----END \1?PRIVATE KEY-----/.exec(trimmed);
    if (!match) throw new PageError("not a PKCS#8 PEM private key (-----BEGIN PRIVATE KEY-----) nor a JWK");
    let der = Uint8Array.from(atob(match[2].replace(/\s+/g, "")), (c) => c.charCodeAt(0));
    if (match[1]) {
      if (!passphrase) {
        throw new PageError("this key file is encrypted: type its passphrase (the BPASS_KEY_PASSPHRASE it was written with) in the field above");
      }
      try {
        der = await decryptPkcs8(der, passphrase);
      } catch (e) {
        if (e instanceof PageError) throw e;
        throw new PageError("the encrypted key file is damaged: it is not PKCS#8 EncryptedPrivateKeyInfo");
      }
    }
    let loose;
    try {
      loose = await crypto.subtle.importKey("pkcs8", der, alg, true, ["sign"]);
    } catch (e) {
      throw new PageError(match[1] ? "the passphrase does not open this key file" : "the PEM is not an Ed25519 private key");
    }
    jwk = await crypto.subtle.exportKey("jwk", loose);
  }
  const publicKey = fromB64url(jwk.x);
  let key;
  try {
    key = await crypto.subtle.importKey(
      "jwk", { kty: "OKP", crv: "Ed25519", d: jwk.d, x: jwk.x }, alg, false, ["sign"]);
  } catch (e) {
    throw new PageError("the JWK's private and public halves do not form an Ed25519 key");
  }
  const mk = multikey(publicKey);
  return { key, publicKey, multikey: mk, did: "did:key:" + mk };
}

async function sign(key, bytes) {
  return new Uint8Array(await crypto.subtle.sign({ name: "Ed25519" }, key, bytes));
}

// -- HTTP --------------------------------------------------------------------------------------
async function call(url, options) {
  const response = await fetch(url, { ...options, credentials: "omit", cache: "no-store" });
  const type = response.headers.get("content-type") || "";
  const body = type.includes("json") ? await response.json() : await response.text();
  if (!response.ok) {
    const detail = typeof body === "object" && body ? body.detail || body.title : String(body);
    throw new PageError(detail || `HTTP ${response.status}`, typeof body === "object" ? body : null);
  }
  return body;
}

function postJson(url, value, token = null) {
  const headers = { "Content-Type": "application/json" };
  if (token) headers.Authorization = "Bearer " + token;
  return call(url, { method: "POST", headers, body: JSON.stringify(value) });
}

// POST /auth/challenge, sign its exact UTF-8 bytes, POST /auth/token: a bearer token.
export async function signIn(signer, did) {
  const { challenge } = await postJson("/auth/challenge", { did });
  const signature = "z" + toBase58(await sign(signer.key, enc.encode(challenge)));
  const { access_token: token } = await postJson("/auth/token", { did, challenge, signature });
  return token;
}

export function fileFormat(name) {
  const suffix = name.includes(".") ? name.slice(name.lastIndexOf(".") + 1).toLowerCase() : "";
  const fmt = FORMATS[suffix];
  if (!fmt) throw new PageError("name the file .csv, .xlsx or .jsonl so its format is known");
  return fmt;
}

export async function checkFile(token, kind, file) {
  const fmt = fileFormat(file.name);
  const query = new URLSearchParams({ kind, format: fmt, name: file.name });
  return call("/imports/validate?" + query, {
    method: "POST",
    headers: { Authorization: "Bearer " + token, "Content-Type": MEDIA[fmt] },
    body: await file.arrayBuffer(),
  });
}

// -- signing, as passport.service.imports.sign_rows --------------------------------------------
// RFC 9901 §4.2.1-4.2.3: Disclosure = base64url(JSON [salt, name, value]) (written as RFC 8785
// JSON, as signing.disclosures does); digest = base64url(SHA-256(ASCII(Disclosure))).
async function disclosure(name, value) {
  const salt = b64url(crypto.getRandomValues(new Uint8Array(16))); // 128 bits, §9.3
  const encoded = b64url(enc.encode(canonicalize([salt, name, value])));
  return { encoded, digest: b64url(await sha256(enc.encode(encoded))) };
}

// passport.records.confidential.conceal_subject: every member not declared public is concealed;
// the digests sorted in _sd so their order says nothing; _sd_alg names SHA-256.
export async function concealSubject(subject, publicMembers) {
  if (publicMembers === null || Object.keys(subject).every((m) => publicMembers.includes(m))) {
    return [subject, []];
  }
  const out = {};
  const made = [];
  for (const [name, value] of Object.entries(subject)) {
    if (publicMembers.includes(name)) out[name] = value;
    else made.push(await disclosure(name, value));
  }
  out._sd = made.map((d) => d.digest).sort();
  out._sd_alg = "sha-256";
  return [out, made.map((d) => d.encoded)];
}

// W3C vc-di-eddsa §3.3.1 (eddsa-jcs-2022), as signing.proofs.create_proof: the proof repeats the
// record's @context; hashData = SHA-256(JCS(proof config)) || SHA-256(JCS(record)).
export async function addProof(record, key, verificationMethod) {
  const proof = {
    type: "DataIntegrityProof",
    cryptosuite: "eddsa-jcs-2022",
    created: record.validFrom,
    verificationMethod,
    proofPurpose: "assertionMethod",
    "@context": [...record["@context"]],
  };
  const hashData = concat(
    await sha256(enc.encode(canonicalize(proof))),
    await sha256(enc.encode(canonicalize(record))),
  );
  proof.proofValue = "z" + toBase58(await sign(key, hashData));
  return { ...record, proof };
}

// The drafts are the node's; the page signs none of another kind, issuer or key than the
// supplier's, nor out of chain order (their subjects are the node's reading of the rows).
export function checkDrafts(report, kind, did, mk) {
  const refuse = (what) => { throw new PageError(`the node's drafts ${what}: nothing signed`); };
  if (report.kind !== kind) refuse(`are of kind ${report.kind}, not ${kind}`);
  if (report.issuer !== did) refuse(`are for ${report.issuer}, not ${did}`);
  if (report.verificationMethod !== `${did}#${mk}`) refuse("name another key than the one read here");
  if (!Array.isArray(report.drafts) || report.drafts.length === 0) refuse("are empty");
  report.drafts.forEach((draft, i) => {
    const r = draft.record;
    if (r.issuer !== did || r.type[1] !== kind) refuse(`hold a record of another issuer or kind (row ${draft.row})`);
    if (r.chain.sequence !== report.chainHead.sequence + i + 1) refuse(`are out of chain order (row ${draft.row})`);
    if ("proof" in r) refuse(`hold a proof already (row ${draft.row})`);
  });
}

function setAt(node, path, value) {
  for (const part of path.slice(0, -1)) node = node[part];
  node[path[path.length - 1]] = value;
}

// Every draft signed in chain order: [{row, record, disclosures, hash}].
export async function signDrafts(report, key, { confidential = true } = {}) {
  const created = new Map();
  let previous = report.chainHead.hash;
  const out = [];
  for (const draft of report.drafts) {
    const record = structuredClone(draft.record);
    if (previous !== null) record.chain.previous = previous;
    for (const { path, lot } of draft.pending) setAt(record.credentialSubject, path, created.get(lot));
    let disclosures = [];
    if (confidential) {
      [record.credentialSubject, disclosures] = await concealSubject(record.credentialSubject, report.public);
    }
    const signed = await addProof(record, key, report.verificationMethod);
    const hash = "sha256:" + hex(await sha256(enc.encode(canonicalize(signed))));
    for (const lot of draft.creates) if (!created.has(lot)) created.set(lot, hash);
    out.push({ row: draft.row, record: signed, disclosures, hash });
    previous = hash;
  }
  return out;
}

// POST /records/batch a batch at a time; a rejection names the row (the problem's index).
export async function appendSigned(signed, onBatch = () => {}) {
  const receipts = [];
  for (let at = 0; at < signed.length; at += BATCH) {
    const part = signed.slice(at, at + BATCH);
    const items = part.map((s) => (s.disclosures.length ? { record: s.record, disclosures: s.disclosures } : s.record));
    let got;
    try {
      got = await postJson("/records/batch", items);
    } catch (e) {
      const index = e.problem && Number.isInteger(e.problem.index) ? e.problem.index : null;
      const where = index === null ? "" : `row ${part[index].row}: `;
      throw new PageError(`${where}${e.message} (${receipts.length} records appended before)`, e.problem);
    }
    got.forEach((r, i) => receipts.push({ row: part[i].row, ...r }));
    onBatch(receipts);
  }
  return receipts;
}

// -- the page ----------------------------------------------------------------------------------
const $ = (id) => document.getElementById(id);

function say(id, text, kind = "") {
  const el = $(id);
  el.textContent = text;
  el.className = "status" + (kind ? " " + kind : "");
}

function fillTable(id, rows) {
  const table = $(id);
  const body = table.querySelector("tbody");
  body.replaceChildren();
  for (const cells of rows) {
    const tr = document.createElement("tr");
    for (const [text, css] of cells) {
      const td = document.createElement("td");
      td.textContent = String(text);
      if (css) td.className = css;
      tr.append(td);
    }
    body.append(tr);
  }
  table.hidden = rows.length === 0;
}

const PREVIEW_ROWS = 50;

function showPreview(report) {
  const list = $("preview-list");
  list.replaceChildren();
  for (const draft of report ? report.drafts.slice(0, PREVIEW_ROWS) : []) {
    const item = document.createElement("li");
    const pre = document.createElement("pre");
    pre.textContent = `row ${draft.row}: ` + JSON.stringify(draft.record.credentialSubject, null, 1);
    item.append(pre);
    list.append(item);
  }
  if (report && report.drafts.length > PREVIEW_ROWS) {
    const more = document.createElement("li");
    more.textContent = `and ${report.drafts.length - PREVIEW_ROWS} more rows`;
    list.append(more);
  }
  $("preview").hidden = !report;
}

function describe(e) {
  if (e.problem && e.problem.code) return `${e.message} [${e.problem.code}]`;
  return e.message;
}

function setup() {
  const state = { signer: null, did: null, token: null, report: null };
  // The key is read when a file is chosen, and again when the passphrase changes; a read of the
  // same file with the same passphrase as the key held is skipped (leaving the passphrase field
  // fires "change" again, which must not drop the key under a sign-in in flight).
  let held = { file: null, passphrase: null };
  const readKey = async () => {
    const chosen = { file: $("key-file").files[0] ?? null, passphrase: $("passphrase").value };
    if (state.signer && chosen.file === held.file && chosen.passphrase === held.passphrase) return;
    held = chosen;
    state.signer = null;
    state.token = null;
    $("sign-in").disabled = true;
    $("check").disabled = true;
    const file = chosen.file;
    if (!file) return;
    try {
      const signer = await importSigningKey(await file.text(), chosen.passphrase);
      if (held !== chosen) return; // a later read took over
      state.signer = signer;
      if (!$("did").value) $("did").value = state.signer.did;
      $("sign-in").disabled = false;
      say("key-status", `Key ${state.signer.multikey} read; it stays in this browser.`);
    } catch (e) {
      if (held === chosen) say("key-status", describe(e), "bad");
    }
  };
  $("key-file").addEventListener("change", readKey);
  $("passphrase").addEventListener("change", readKey);
  $("sign-in").addEventListener("click", async () => {
    try {
      if (!state.signer) throw new PageError("choose your key file first");
      const did = $("did").value.trim();
      state.token = await signIn(state.signer, did);
      state.did = did;
      $("check").disabled = false;
      say("key-status", `Signed in as ${did}.`, "ok");
    } catch (e) {
      say("key-status", describe(e), "bad");
    }
  });
  $("check").addEventListener("click", () => check(state));
  $("append").addEventListener("click", () => append(state));
  document.body.dataset.ready = "true";
}

async function check(state) {
  state.report = null;
  $("append").disabled = true;
  fillTable("problems", []);
  fillTable("receipts", []);
  showPreview(null);
  say("append-status", "");
  const file = $("data-file").files[0];
  if (!file) { say("check-status", "Choose a file first.", "bad"); return; }
  say("check-status", "Checking…");
  try {
    const report = await checkFile(state.token, $("kind").value, file);
    checkDrafts(report, $("kind").value, state.did, state.signer.multikey);
    state.report = report;
    showPreview(report);
    const n = report.drafts.length;
    say("check-status", `${n} row${n === 1 ? "" : "s"} valid: ready to sign as ${report.kind} records.`, "ok");
    $("append").textContent = `Sign and append ${n} record${n === 1 ? "" : "s"}`;
    $("append").disabled = false;
  } catch (e) {
    const problems = e.problem && Array.isArray(e.problem.problems) ? e.problem.problems : [];
    fillTable("problems", problems.map((p) => [[p.row], [p.column, "mono"], [p.message]]));
    const count = problems.length ? `${problems.length} problem${problems.length === 1 ? "" : "s"}: ` : "";
    say("check-status", count + "nothing was signed or appended. " + (problems.length ? "" : describe(e)), "bad");
  }
}

async function append(state) {
  $("append").disabled = true;
  try {
    say("append-status", "Signing in this browser…");
    const signed = await signDrafts(state.report, state.signer.key, { confidential: $("confidential").checked });
    say("append-status", "Appending…");
    const shown = (receipts) =>
      fillTable("receipts", receipts.map((r) => [[r.row], [r.recordHash, "mono"], [r.leafIndex]]));
    const receipts = await appendSigned(signed, shown);
    shown(receipts);
    say("append-status", `${receipts.length} records appended and logged.`, "ok");
  } catch (e) {
    say("append-status", describe(e), "bad");
  } finally {
    state.report = null; // a draft is signed once: check the file again for another run
  }
}

if (typeof document !== "undefined" && $("key-file")) setup();
