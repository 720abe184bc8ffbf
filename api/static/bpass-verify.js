// bpass-verify.js: verify a battery passport in the browser, trusting no server.
//
// Everything here runs on the reader's device with WebCrypto (Ed25519, SHA-256): RFC 8785
// canonical JSON, W3C Data Integrity eddsa-jcs-2022 proofs, RFC 9162 Merkle inclusion proofs and
// C2SP signed-note checkpoints. No external resources; an ES module with no dependencies.

const enc = new TextEncoder();

export class VerifyError extends Error {
  constructor(check, message) {
    super(message);
    this.check = check;
  }
}

// -- bytes -------------------------------------------------------------------------------------
export function concat(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
}

export function equalBytes(a, b) {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
  return diff === 0;
}

export function hex(bytes) {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

export function fromHex(text) {
  if (!/^([0-9a-f]{2})*$/.test(text)) throw new VerifyError("format", "not lowercase hex");
  const out = new Uint8Array(text.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(text.slice(2 * i, 2 * i + 2), 16);
  return out;
}

export function fromBase64(text) {
  // Standard base64 (RFC 4648 §4), canonical padding only.
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4 !== 0) {
    throw new VerifyError("format", "not base64");
  }
  const bin = atob(text);
  const out = Uint8Array.from(bin, (c) => c.charCodeAt(0));
  if (btoa(String.fromCharCode(...out)) !== text) throw new VerifyError("format", "non-canonical base64");
  return out;
}

const B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

export function fromBase58(text) {
  let n = 0n;
  for (const ch of text) {
    const d = B58.indexOf(ch);
    if (d < 0) throw new VerifyError("format", "not base58btc");
    n = n * 58n + BigInt(d);
  }
  const body = [];
  while (n > 0n) { body.push(Number(n & 255n)); n >>= 8n; }
  let zeros = 0;
  while (zeros < text.length && text[zeros] === "1") zeros++;
  return Uint8Array.from([...new Array(zeros).fill(0), ...body.reverse()]);
}

// -- RFC 8785 canonical JSON -------------------------------------------------------------------
// JSON.stringify already serialises strings (§3.2.2.2) and numbers (§3.2.2.3, ECMAScript
// Number.prototype.toString) as RFC 8785 requires; keys sort by UTF-16 code units (§3.2.3),
// which is what Array.prototype.sort does on strings.
export function canonicalize(value) {
  if (value === null || typeof value === "boolean" || typeof value === "string") return JSON.stringify(value);
  if (typeof value === "number") {
    if (!Number.isFinite(value)) throw new VerifyError("format", "NaN/Infinity are not JSON");
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return "[" + value.map(canonicalize).join(",") + "]";
  if (typeof value === "object") {
    return "{" + Object.keys(value).sort().map((k) => JSON.stringify(k) + ":" + canonicalize(value[k])).join(",") + "}";
  }
  throw new VerifyError("format", "not a JSON value");
}

export async function sha256(bytes) {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
}

export async function recordHash(record) {
  return "sha256:" + hex(await sha256(enc.encode(canonicalize(record))));
}

// -- Ed25519 (WebCrypto) -----------------------------------------------------------------------
export async function ed25519Verify(publicKey, signature, message) {
  if (publicKey.length !== 32 || signature.length !== 64) return false;
  try {
    const key = await crypto.subtle.importKey("raw", publicKey, { name: "Ed25519" }, false, ["verify"]);
    return await crypto.subtle.verify({ name: "Ed25519" }, key, signature, message);
  } catch (e) {
    return false;
  }
}

// Multikey (Controlled Identifiers §2.2.2): 'z' + base58btc(0xed 0x01 || 32-byte key).
export function decodeMultikey(multikey) {
  if (typeof multikey !== "string" || !multikey.startsWith("z")) throw new VerifyError("key", "not a base58btc Multikey");
  const raw = fromBase58(multikey.slice(1));
  if (raw.length !== 34 || raw[0] !== 0xed || raw[1] !== 0x01) throw new VerifyError("key", "not an Ed25519 Multikey");
  return raw.slice(2);
}

// -- Data Integrity, eddsa-jcs-2022 (W3C vc-di-eddsa §3.3.2) -----------------------------------
export async function verifyDataIntegrity(document, publicKey) {
  const proof = document.proof;
  if (!proof || typeof proof !== "object" || Array.isArray(proof)) throw new VerifyError("proof", "no single proof");
  if (proof.type !== "DataIntegrityProof" || proof.cryptosuite !== "eddsa-jcs-2022") {
    throw new VerifyError("proof", "not an eddsa-jcs-2022 DataIntegrityProof");
  }
  if (proof.proofPurpose !== "assertionMethod") throw new VerifyError("proof", "wrong proofPurpose");
  // §3.3.2 step 1-3: the unsecured document is the document without its proof.
  const unsecured = { ...document };
  delete unsecured.proof;
  // §3.3.5 (Recommendation of 2025-05-15): proof configuration = the proof options as they
  // are (the proof without proofValue); the document's @context is in it only if the proof's is.
  const config = { ...proof };
  delete config.proofValue;
  // §3.3.2 step 4: a proof @context must begin the document's, and then stands for it.
  if (proof["@context"] !== undefined) {
    if (document["@context"] === undefined) throw new VerifyError("proof", "@context mismatch");
    const doc = [].concat(document["@context"]);
    const prf = [].concat(proof["@context"]);
    if (canonicalize(doc.slice(0, prf.length)) !== canonicalize(prf)) throw new VerifyError("proof", "@context mismatch");
    unsecured["@context"] = proof["@context"];
  }
  if (typeof proof.proofValue !== "string" || !proof.proofValue.startsWith("z")) {
    throw new VerifyError("proof", "proofValue is not base58btc multibase");
  }
  const signature = fromBase58(proof.proofValue.slice(1));
  // §3.3.4: hashData = SHA-256(canonical proof config) || SHA-256(canonical document).
  const hashData = concat(
    await sha256(enc.encode(canonicalize(config))),
    await sha256(enc.encode(canonicalize(unsecured))),
  );
  if (!(await ed25519Verify(publicKey, signature, hashData))) throw new VerifyError("signature", "the signature does not verify");
  return true;
}

// -- RFC 9162 Merkle tree ----------------------------------------------------------------------
export async function hashLeaf(data) { return sha256(concat(Uint8Array.of(0), data)); }
export async function hashChildren(l, r) { return sha256(concat(Uint8Array.of(1), l, r)); }

// RFC 9162 §2.1.3.2: verify an inclusion proof.
export async function verifyInclusion(leafHash, index, size, proof, root) {
  if (!(index >= 0 && index < size)) throw new VerifyError("inclusion", "leaf index outside the tree");
  for (const h of [leafHash, root, ...proof]) {
    if (!(h instanceof Uint8Array) || h.length !== 32) throw new VerifyError("inclusion", "hashes must be 32 bytes");
  }
  let fn = index, sn = size - 1, r = leafHash;
  for (const p of proof) {
    if (sn === 0) throw new VerifyError("inclusion", "proof too long");
    if (fn % 2 === 1 || fn === sn) {
      r = await hashChildren(p, r);
      if (fn % 2 === 0) { while (fn % 2 === 0 && fn !== 0) { fn = Math.floor(fn / 2); sn = Math.floor(sn / 2); } }
    } else {
      r = await hashChildren(r, p);
    }
    fn = Math.floor(fn / 2); sn = Math.floor(sn / 2);
  }
  if (sn !== 0) throw new VerifyError("inclusion", "proof too short");
  if (!equalBytes(r, root)) throw new VerifyError("inclusion", "the proof does not lead to the checkpoint's root");
  return true;
}

// The ledger's leaf: JCS {"acceptedAt", "record"} (see docs/design.md).
export async function ledgerLeafHash(recordHashValue, acceptedAt) {
  return hashLeaf(enc.encode(canonicalize({ acceptedAt, record: recordHashValue })));
}

// -- C2SP signed note and tlog-checkpoint ------------------------------------------------------
export function parseVerifierKey(vkey) {
  const parts = vkey.split("+");
  if (parts.length !== 3 || !/^[0-9a-f]{8}$/.test(parts[1])) throw new VerifyError("checkpoint", "malformed verifier key");
  const raw = fromBase64(parts[2]);
  if (raw.length !== 33 || raw[0] !== 1) throw new VerifyError("checkpoint", "not an Ed25519 verifier key");
  return { name: parts[0], keyId: fromHex(parts[1]), publicKey: raw.slice(1) };
}

export async function openNote(note, vkey) {
  const key = parseVerifierKey(vkey);
  // key ID = SHA-256(name || 0x0A || 0x01 || public key)[:4]
  const expectedId = (await sha256(concat(enc.encode(key.name + "\n"), Uint8Array.of(1), key.publicKey))).slice(0, 4);
  if (!equalBytes(expectedId, key.keyId)) throw new VerifyError("checkpoint", "verifier key id mismatch");
  const split = note.lastIndexOf("\n\n");
  if (split < 0 || !note.endsWith("\n")) throw new VerifyError("checkpoint", "malformed signed note");
  const text = note.slice(0, split + 1);
  const lines = note.slice(split + 2, -1).split("\n");
  for (const line of lines) {
    const m = /^\u2014 (\S+) (\S+)$/.exec(line);
    if (!m) throw new VerifyError("checkpoint", "malformed signature line");
    if (m[1] !== key.name) continue;
    const sig = fromBase64(m[2]);
    if (sig.length !== 68 || !equalBytes(sig.slice(0, 4), key.keyId)) continue;
    if (await ed25519Verify(key.publicKey, sig.slice(4), enc.encode(text))) return text;
    throw new VerifyError("checkpoint", "the checkpoint signature does not verify");
  }
  throw new VerifyError("checkpoint", "no signature by the log key");
}

export async function openCheckpoint(note, vkey) {
  const text = await openNote(note, vkey);
  const lines = text.slice(0, -1).split("\n");
  if (lines.length < 3 || !/^(0|[1-9][0-9]*)$/.test(lines[1])) throw new VerifyError("checkpoint", "malformed checkpoint");
  const rootHash = fromBase64(lines[2]);
  if (rootHash.length !== 32) throw new VerifyError("checkpoint", "root hash is not 32 bytes");
  return { origin: lines[0], size: Number(lines[1]), rootHash };
}

// -- A record with its receipt -----------------------------------------------------------------
// Checks, in order: the record's proof under the key its verification method names, that key
// being `expectedKey` (when given), the checkpoint's signature by the log key, and the record's
// inclusion under the checkpoint. Returns a list of {check, ok, detail}.
export async function verifyRecordWithReceipt(record, receipt, logVerifierKey, expectedMultikey) {
  const results = [];
  const step = async (check, fn) => {
    try {
      const detail = await fn();
      results.push({ check, ok: true, detail: detail ?? "" });
      return true;
    } catch (e) {
      results.push({ check, ok: false, detail: e.message });
      return false;
    }
  };
  const vm = record?.proof?.verificationMethod ?? "";
  const multikey = vm.split("#")[1];
  await step("signature", async () => {
    if (vm.split("#")[0] !== record.issuer) throw new VerifyError("signature", "verification method is not the issuer's");
    await verifyDataIntegrity(record, decodeMultikey(multikey));
    return `signed by ${record.issuer}`;
  });
  if (expectedMultikey !== undefined) {
    await step("issuer key", async () => {
      if (multikey !== expectedMultikey) throw new VerifyError("key", "signed with a key that is not the issuer's registered key");
      return multikey;
    });
  }
  let checkpoint = null;
  await step("checkpoint", async () => {
    checkpoint = await openCheckpoint(receipt.checkpoint, logVerifierKey);
    if (checkpoint.size !== receipt.treeSize) throw new VerifyError("checkpoint", "receipt and checkpoint sizes differ");
    return `${checkpoint.origin}, ${checkpoint.size} records`;
  });
  await step("inclusion", async () => {
    if (!checkpoint) throw new VerifyError("inclusion", "no verified checkpoint");
    const h = await recordHash(record);
    if (h !== receipt.recordHash) throw new VerifyError("inclusion", "the record's hash differs from the receipt's");
    const leaf = await ledgerLeafHash(h, receipt.acceptedAt);
    await verifyInclusion(leaf, receipt.leafIndex, checkpoint.size, receipt.inclusionProof.map(fromBase64), checkpoint.rootHash);
    return `leaf ${receipt.leafIndex} of ${checkpoint.size}`;
  });
  return results;
}

// -- A passport's offline verification bundle ----------------------------------------------------
// Bundle (version 1): {type: "BatteryPassportBundle", version: 1, log: {origin, verifierKey},
// checkpoint, passport: {id, record}, records: [{record, leafIndex, acceptedAt, inclusionProof}],
// partitions: {"1": signed partition, ...}}. Every record's inclusion proof is against the
// bundle's one checkpoint.

// The signed partitions a bundle serves: top-level, or inside the served view's evidence.
export const partitionsOf = (bundle) => bundle?.partitions ?? bundle?.view?.evidence?.partitions ?? {};
const kindOf = (record) => (Array.isArray(record?.type) ? record.type[1] : undefined);
const subjectOf = (record) => record?.credentialSubject ?? {};
const signerOf = (record) => {
  const vm = record?.proof?.verificationMethod;
  return typeof vm === "string" ? vm.split("#")[1] : undefined;
};

// The first key an ActorRegistration gives its actor: a did:key's own key, else the one it names.
export function initialKey(subject) {
  const did = String(subject?.id ?? "");
  return did.startsWith("did:key:") ? did.slice("did:key:".length) : subject?.publicKeyMultibase;
}

// Replay registrations, rotations and revocations in log order. Returns the actors and, for each
// record by a known actor, whether its signing key was that actor's current key at its leaf and
// not marked compromised at its acceptance time.
export function replayKeys(entries, operatorDid) {
  const actors = new Map();
  const keyOk = new Map();
  const problems = [];
  for (const e of entries) {
    const r = e.record;
    const kind = kindOf(r);
    const s = subjectOf(r);
    const signer = signerOf(r);
    const issuer = actors.get(r.issuer);
    const signedByCurrent = issuer !== undefined && issuer.current === signer;
    const compromised = issuer?.compromised.get(signer);
    const ok = signedByCurrent && !(compromised !== undefined && Date.parse(e.acceptedAt) >= Date.parse(compromised));
    if (kind === "ActorRegistration" && r.issuer === s.id && s.id === operatorDid) {
      actors.set(s.id, { did: s.id, name: s.name, roles: s.roles ?? [], current: initialKey(s), registeredAt: e.leafIndex, compromised: new Map() });
      keyOk.set(e.leafIndex, signer === initialKey(s));
      continue;
    }
    keyOk.set(e.leafIndex, ok);
    if (!ok) {
      if (kind === "ActorRegistration" || kind === "KeyRotation" || kind === "KeyRevocation") {
        problems.push(`${kind} at leaf ${e.leafIndex} is not signed by its issuer's current key`);
      }
      continue;
    }
    if (kind === "ActorRegistration" && r.issuer === operatorDid) {
      actors.set(s.id, { did: s.id, name: s.name, roles: s.roles ?? [], current: initialKey(s), registeredAt: e.leafIndex, compromised: new Map() });
    } else if (kind === "KeyRotation") {
      issuer.current = s.nextKey;
    } else if (kind === "KeyRevocation") {
      const target = actors.get(s.actor);
      if (target === undefined || (r.issuer !== operatorDid && r.issuer !== s.actor)) {
        problems.push(`KeyRevocation at leaf ${e.leafIndex} is not by the operator or the key's actor`);
        continue;
      }
      target.compromised.set(s.key, s.compromisedFrom);
      if (target.current === s.key) target.current = s.nextKey;
    }
  }
  return { actors, keyOk, problems };
}

// Verify a bundle. `options.passportId`: the passport the reader asked for; `options.pinnedLogKey`:
// a log verifier key the reader trusts (else the bundle's own, reported as such). Returns
// {ok, checks: [{check, ok, detail}], firstFailure, passport} where `passport` holds what was
// verified: the record, its issuer, the status and the partitions' data.
export async function verifyBundle(bundle, options = {}) {
  const checks = [];
  const step = async (check, fn) => {
    try {
      const detail = await fn();
      checks.push({ check, ok: true, detail: detail ?? "" });
      return true;
    } catch (e) {
      checks.push({ check, ok: false, detail: e instanceof VerifyError || e instanceof Error ? e.message : String(e) });
      return false;
    }
  };
  const out = { record: null, issuer: null, status: null, lastUpdated: null, successor: null, ceasedAt: null, partitions: {}, operator: null };
  const entries = Array.isArray(bundle?.records) ? [...bundle.records].sort((a, b) => a.leafIndex - b.leafIndex) : [];

  await step("bundle", async () => {
    if (bundle?.type !== "BatteryPassportBundle" || bundle.version !== 1) throw new VerifyError("bundle", "not a version 1 BatteryPassportBundle");
    if (typeof bundle.checkpoint !== "string" || typeof bundle.log?.verifierKey !== "string") throw new VerifyError("bundle", "no checkpoint or log key");
    if (!entries.length || !entries.every((e) => e && typeof e.record === "object" && Number.isSafeInteger(e.leafIndex) && Array.isArray(e.inclusionProof))) {
      throw new VerifyError("bundle", "records are missing or malformed");
    }
    if (options.passportId !== undefined && bundle.passport?.id !== options.passportId) {
      throw new VerifyError("bundle", `the bundle is for ${bundle.passport?.id}, not ${options.passportId}`);
    }
    return `${entries.length} records, partitions ${Object.keys(partitionsOf(bundle)).join(", ") || "none"}`;
  });

  let checkpoint = null;
  await step("checkpoint", async () => {
    const vkey = options.pinnedLogKey ?? bundle.log?.verifierKey;
    if (options.pinnedLogKey !== undefined && bundle.log?.verifierKey !== options.pinnedLogKey) {
      throw new VerifyError("checkpoint", "the bundle names another log key than the one trusted");
    }
    checkpoint = await openCheckpoint(bundle.checkpoint, vkey);
    if (bundle.log?.origin !== undefined && checkpoint.origin !== bundle.log.origin) throw new VerifyError("checkpoint", "the checkpoint is from another log");
    return `signed by ${checkpoint.origin} at ${checkpoint.size} records`;
  });

  const hashes = new Map();
  await step("inclusion", async () => {
    if (!checkpoint) throw new VerifyError("inclusion", "no verified checkpoint to check against");
    for (const e of entries) {
      const h = await recordHash(e.record);
      hashes.set(e.leafIndex, h);
      const leaf = await ledgerLeafHash(h, e.acceptedAt);
      try {
        await verifyInclusion(leaf, e.leafIndex, checkpoint.size, e.inclusionProof.map(fromBase64), checkpoint.rootHash);
      } catch (err) {
        throw new VerifyError("inclusion", `record at leaf ${e.leafIndex} is not in the log: ${err.message}`);
      }
    }
    return `${entries.length} records are in the log at ${checkpoint.size}`;
  });

  await step("signatures", async () => {
    for (const e of entries) {
      const r = e.record;
      const vm = String(r?.proof?.verificationMethod ?? "");
      if (vm.split("#")[0] !== r?.issuer) throw new VerifyError("signature", `record at leaf ${e.leafIndex}: the key is not named under its issuer`);
      try {
        await verifyDataIntegrity(r, decodeMultikey(vm.split("#")[1]));
      } catch (err) {
        throw new VerifyError("signature", `record at leaf ${e.leafIndex} (${kindOf(r)}): ${err.message}`);
      }
    }
    return `${entries.length} eddsa-jcs-2022 proofs verify`;
  });

  const opEntry = entries.find((e) => kindOf(e.record) === "ActorRegistration" && e.record.issuer === subjectOf(e.record).id);
  const operatorDid = opEntry?.record.issuer;
  const keys = replayKeys(entries, operatorDid);
  await step("operator", async () => {
    if (!opEntry) throw new VerifyError("operator", "the operator's self-registration is missing");
    if (opEntry.leafIndex !== 0) throw new VerifyError("operator", "the operator's registration is not the log's first record");
    if (!(subjectOf(opEntry.record).roles ?? []).includes("operator")) throw new VerifyError("operator", "the first record does not register an operator");
    if (!keys.keyOk.get(0)) throw new VerifyError("operator", "the operator's registration is not signed with its own key");
    out.operator = { did: operatorDid, name: subjectOf(opEntry.record).name };
    return `${subjectOf(opEntry.record).name} (${operatorDid}), leaf 0`;
  });

  const pEntry = entries.find((e) => hashes.get(e.leafIndex) === bundle.passport?.record)
    ?? entries.find((e) => kindOf(e.record) === "BatteryPassport" && subjectOf(e.record).passportId === bundle.passport?.id);
  await step("passport record", async () => {
    if (!pEntry) throw new VerifyError("passport", "the passport's record is not in the bundle");
    const r = pEntry.record;
    if (kindOf(r) !== "BatteryPassport") throw new VerifyError("passport", "the named record is not a BatteryPassport");
    if (subjectOf(r).passportId !== bundle.passport.id) throw new VerifyError("passport", "the record is for another passport");
    if (hashes.size && hashes.get(pEntry.leafIndex) !== bundle.passport.record) throw new VerifyError("passport", "the record's hash differs from the one the bundle names");
    out.record = r;
    return `${subjectOf(r).passportId}, leaf ${pEntry.leafIndex}`;
  });

  await step("OEM key", async () => {
    if (!pEntry) throw new VerifyError("key", "no passport record");
    const r = pEntry.record;
    if (keys.problems.length) throw new VerifyError("key", keys.problems[0]);
    const oem = keys.actors.get(r.issuer);
    if (!oem) throw new VerifyError("key", `the issuer ${r.issuer} has no registration by the operator in the bundle`);
    const allowed = subjectOf(r).predecessor ? ["oem", "repairer"] : ["oem"];
    if (!oem.roles.some((role) => allowed.includes(role))) throw new VerifyError("key", `${oem.name} is not registered as ${allowed.join(" or ")}`);
    if (subjectOf(r).economicOperator?.id !== r.issuer) throw new VerifyError("key", "the economic operator named is not the record's issuer");
    if (!keys.keyOk.get(pEntry.leafIndex)) throw new VerifyError("key", `signed with ${signerOf(r)}, not ${oem.name}'s registered key at that time`);
    out.issuer = { did: oem.did, name: oem.name, roles: oem.roles, key: signerOf(r) };
    return `${oem.name}: key ${signerOf(r)} registered at leaf ${oem.registeredAt}`;
  });

  // Lifecycle: status changes and updates of this passport, by registered keys, in log order.
  const lifecycle = entries.filter((e) => ["PassportStatusChange", "PassportUpdate"].includes(kindOf(e.record)) && subjectOf(e.record).passportId === bundle.passport?.id);
  await step("status", async () => {
    if (!pEntry) throw new VerifyError("status", "no passport record");
    let status = subjectOf(pEntry.record).status;
    // Computed here, as the ledger does (passport.document.rules): lastUpdated is the validFrom
    // of the latest status change or update, else the passport record's; a successor and the
    // cessation (recycled) come from the status changes.
    let lastUpdated = pEntry.record.validFrom;
    let successor = null;
    let ceasedAt = null;
    for (const e of lifecycle) {
      if (subjectOf(e.record).passport !== bundle.passport.record) throw new VerifyError("status", `record at leaf ${e.leafIndex} refers to another passport record`);
      if (keys.actors.has(e.record.issuer) && !keys.keyOk.get(e.leafIndex)) throw new VerifyError("status", `record at leaf ${e.leafIndex} is not signed with its issuer's registered key`);
      if (kindOf(e.record) === "PassportStatusChange") {
        if (subjectOf(e.record).from !== status) throw new VerifyError("status", `${subjectOf(e.record).from} → ${subjectOf(e.record).to} does not follow ${status}`);
        status = subjectOf(e.record).to;
        if (successor === null && subjectOf(e.record).successor) successor = subjectOf(e.record).successor.passportId;
        if (ceasedAt === null && status === "recycled") ceasedAt = e.record.validFrom;
      }
      lastUpdated = e.record.validFrom;
    }
    out.status = status;
    out.lastUpdated = lastUpdated;
    out.successor = successor;
    out.ceasedAt = ceasedAt;
    return `${status}${lifecycle.length ? ` after ${lifecycle.length} lifecycle records` : ""}`;
  });

  await step("partitions", async () => {
    if (!pEntry) throw new VerifyError("partition", "no passport record");
    const parts = partitionsOf(bundle);
    const numbers = Object.keys(parts);
    if (!numbers.length) throw new VerifyError("partition", "the bundle holds no partition");
    // Who commits to each partition now: the passport record, then later point-4 commitments.
    const committing = new Map();
    for (const e of [pEntry, ...lifecycle]) {
      for (const [n, h] of Object.entries(subjectOf(e.record).partitions ?? {})) committing.set(n, { hash: h, record: e.record });
    }
    for (const n of numbers) {
      const p = parts[n];
      const c = committing.get(n);
      if (!c) throw new VerifyError("partition", `no signed record commits to partition ${n}`);
      if (subjectOf(p).partition !== Number(n) || subjectOf(p).passportId !== bundle.passport.id) throw new VerifyError("partition", `partition ${n} is labelled for another place`);
      if ((await recordHash(p)) !== c.hash) throw new VerifyError("partition", `partition ${n} differs from the one the signed record commits to`);
      if (p.issuer !== c.record.issuer || p?.proof?.verificationMethod !== c.record.proof.verificationMethod) throw new VerifyError("partition", `partition ${n} is not signed by its record's key`);
      try {
        await verifyDataIntegrity(p, decodeMultikey(signerOf(p)));
      } catch (err) {
        throw new VerifyError("partition", `partition ${n}: ${err.message}`);
      }
      out.partitions[n] = subjectOf(p).data;
    }
    return `partition${numbers.length > 1 ? "s" : ""} ${numbers.join(", ")} match the signed commitments`;
  });

  const failed = checks.filter((c) => !c.ok);
  return { ok: failed.length === 0, checks, firstFailure: failed[0] ?? null, passport: out };
}
