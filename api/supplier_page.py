"""The supplier page's markup (``GET /supplier``): the supplier's key file, the upload, the check's
report, and signing and appending in the browser (``/static/supplier.js``).

Static markup: everything the page shows comes from the supplier's own files and the node's
answers, written into the page by its script with ``textContent`` (never as markup). Same-origin
CSS and JavaScript only, under the pages' strict Content-Security-Policy
(:data:`api.pages.SECURITY_HEADERS`).
"""

from __future__ import annotations

from html import escape

from passport.records.envelope import known_kinds

SUPPLIER_KINDS = ("Extraction", "Transformation", "Transfer", "TransferAcceptance")
"""The kinds offered first (a supplier's daily records); every other kind follows."""


def _kind_options() -> str:
    rest = sorted(k for k in known_kinds() if k not in SUPPLIER_KINDS)
    return "".join(
        f'<option value="{escape(k)}">{escape(k)}</option>'
        for k in (*SUPPLIER_KINDS, *rest)
        if k in known_kinds()
    )


SUPPLIER_PAGE = f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Supplier upload · battery passport ledger</title>
<link rel="stylesheet" href="/static/passport.css">
<link rel="stylesheet" href="/static/supplier.css">
<link rel="icon" href="/static/icon.svg" type="image/svg+xml">
<script type="module" src="/static/supplier.js"></script>
</head>
<body>
<main id="main">
<header class="top">
  <p class="eyebrow">Battery passport ledger</p>
  <h1>Supplier upload</h1>
  <p class="note">Sign your records in this browser with your own key: the key is read here and
    never sent. The node checks your file and appends the records you signed.</p>
</header>
<section class="card" aria-labelledby="key-title">
  <h2 id="key-title">1. Your key</h2>
  <p class="note">The key file <code>bpass keys new</code> wrote (PKCS#8 PEM, encrypted or not)
    or an Ed25519 JWK. It is imported as a WebCrypto key that cannot be exported.</p>
  <div class="field"><label for="passphrase">Passphrase (only for an encrypted key file)</label>
    <input type="password" id="passphrase" autocomplete="off"></div>
  <div class="field"><label for="key-file">Key file</label>
    <input type="file" id="key-file" accept=".key,.pem,.jwk,.json"></div>
  <div class="field"><label for="did">Your DID</label>
    <input type="text" id="did" spellcheck="false" autocomplete="off"
      placeholder="did:key:… (filled in from the key; change it if your key was rotated)"></div>
  <button type="button" id="sign-in" disabled>Sign in</button>
  <p id="key-status" class="status" role="status" aria-live="polite"></p>
</section>
<section class="card" aria-labelledby="file-title">
  <h2 id="file-title">2. Your file</h2>
  <div class="field"><label for="kind">Kind of records</label>
    <select id="kind">{_kind_options()}</select></div>
  <div class="field"><label for="data-file">CSV, XLSX or JSON Lines file</label>
    <input type="file" id="data-file" accept=".csv,.xlsx,.jsonl,.ndjson"></div>
  <div class="field check"><input type="checkbox" id="confidential" checked>
    <label for="confidential">Keep the members the kind does not declare public confidential
      (salted digests; the values go to the node beside the record, never into the log)</label>
  </div>
  <button type="button" id="check" disabled>Check the file</button>
  <p id="check-status" class="status" role="status" aria-live="polite"></p>
  <div class="scroll"><table id="problems" hidden>
    <caption>Problems: nothing was signed or appended</caption>
    <thead><tr><th scope="col">Row</th><th scope="col">Column</th>
      <th scope="col">Problem</th></tr></thead>
    <tbody></tbody></table></div>
  <details id="preview" hidden>
    <summary>What will be signed</summary>
    <p class="note">Each row's record as the node read it, before the chain link and the
      concealment the browser adds.</p>
    <ol id="preview-list" class="preview"></ol>
  </details>
</section>
<section class="card" aria-labelledby="append-title">
  <h2 id="append-title">3. Sign and append</h2>
  <button type="button" id="append" disabled>Sign and append</button>
  <p id="append-status" class="status" role="status" aria-live="polite"></p>
  <div class="scroll"><table id="receipts" hidden>
    <caption>Appended records</caption>
    <thead><tr><th scope="col">Row</th><th scope="col">Record</th>
      <th scope="col">Log index</th></tr></thead>
    <tbody></tbody></table></div>
</section>
</main>
</body>
</html>
"""
"""The page, built once: it holds nothing per request."""
