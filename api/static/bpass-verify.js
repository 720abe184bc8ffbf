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
  // §3.3.5: proof configuration = proof without proofValue; @context from the document.
  const config = { ...proof };
  delete config.proofValue;
  if (proof["@context"] !== undefined) {
    const doc = [].concat(document["@context"] ?? []);
    const prf = [].concat(proof["@context"]);
    if (canonicalize(doc.slice(0, prf.length)) !== canonicalize(prf)) throw new VerifyError("proof", "@context mismatch");
  }
  if (document["@context"] !== undefined) config["@context"] = document["@context"];
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
