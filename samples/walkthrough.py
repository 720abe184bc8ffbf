# ruff: noqa: E501  (the shell commands are shown verbatim in the walkthrough; wrapping them would change it)
"""Regenerate ``docs/walkthrough.md`` by running its commands: ``python -m samples.walkthrough``.

Every command of the walkthrough runs, in order, in one bash session in a scratch folder (with
``samples/`` linked in, as in the repository root), and its real output is pasted under it, so
the document never shows output that the code does not print. Long outputs are cut (marked).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MARK = "@@walkthrough-step@@"

Step = tuple[str, str | None, int]
"""(markdown before the command, the command block or None, most output lines shown)."""

B1 = "http://127.0.0.1:8100/01/04260998750011/21/E75N-42-00001"
B2 = "http://127.0.0.1:8100/01/04260998750011/21/E75N-42-00002"
NODE = "http://127.0.0.1:8100"

STEPS: list[Step] = [
    (
        """# Walkthrough: every user, real commands, real output

This follows each user of the ledger through the sample supply chain that `bpass demo` loads
(see [`samples/`](../samples) and `docs/records.md`): a supplier, a certifier, the OEM, a
consumer, a repairer, a regulator and a recycler, and then what people see when someone tampers
or over-claims. Every command below was run in this order, and the output under it is what it
printed (long outputs are cut where marked; hashes, passport ids and times differ on each run).
Regenerate this file with `python -m samples.walkthrough`.

All commands run from the repository root with the virtual environment active
(`. .venv/bin/activate`). The walkthrough keeps its own ledger in `walkthrough/` and serves it on
port 8100, so it never rebuilds a ledger under a running `make demo` (which keeps `demo/` and
port 8000); `BPASS_HOME=walkthrough` and `BPASS_PORT=8100` make every `bpass` command use them
(the passports' links hold the port).

## 0. The sample chain

Three 75 kWh NMC811 packs from the sample chain: cobalt from the DR Congo (industrial and
artisanal), nickel from Indonesian laterite and a Canadian sulfide mine, lithium from Australian
spodumene and Chilean brine, manganese from South Africa, natural graphite from Mozambique and
synthetic graphite from China, a recycler in Germany. `--no-passports` leaves the passports to
the OEM (step 3); plain `bpass demo` issues them, serves the API and prints the URLs.

Every provenance record is **confidential** (docs/records.md, "Confidential records"): the log
holds it redacted — lot ids (opaque: they name no company, product or count), the kind of step,
the links between records — while masses, element contents, buyers, sites and emissions travel
as Disclosures that the node checks and keeps for the entitled parties only.""",
        """export BPASS_HOME=walkthrough BPASS_PORT=8100
bpass demo --home walkthrough --packs 3 --no-serve --no-passports""",
        14,
    ),
    (
        "The lots this walkthrough follows, read from the demo's summary:",
        """PACK1=$(jq -r '.summary.packs[0].packLot' walkthrough/demo.json)
PACK2=$(jq -r '.summary.packs[1].packLot' walkthrough/demo.json)
PACK3=$(jq -r '.summary.packs[2].packLot' walkthrough/demo.json)
VEH=$(jq -r '.summary.packs[0].vehicleLot' walkthrough/demo.json)
LOT=$(jq -r '.summary.lots["lithium-hydroxide"]' walkthrough/demo.json)
echo "pack 2: $PACK2"; echo "lithium hydroxide: $LOT\"""",
        4,
    ),
    (
        "Who is on the ledger (the operator registered every actor with its roles and sites):",
        "bpass actor list",
        30,
    ),
    (
        """## 1. A supplier imports its records

The lithium converter keeps its records in a spreadsheet and imports them with `bpass import`
(CSV, JSON Lines or XLSX; `bpass record template KIND --csv` prints the header row): every row is
checked first (nothing is signed if one is wrong), then signed in chain order with the
converter's own key and appended in batches; re-running after a failure appends only what is
missing. Records are confidential by default (`--public` signs them plain). First the verified
cradle-to-gate carbon footprint of its lithium hydroxide lot: a row names the lot by its id, and
the import fills in the hash of the record that created it.""",
        """cat > footprints.csv <<EOF
subject.type,subject.lot,boundary,perKg.raw-material-acquisition,method,study
lot,$LOT,cradle-to-gate,11.900,"ISO 14067:2018, Battery Pass carbon footprint rules","Minjiang LiOH PCF 2026-Q3, reviewed by Terra Assurance"
EOF
bpass import footprints.csv --kind CarbonFootprint --key walkthrough/keys/minjiang.key""",
        4,
    ),
    (
        """Then a delivery of 5 kg of that lithium hydroxide to the cathode maker Aurora, as a Transfer
(the buyer accepts it with a `TransferAcceptance`, not shown):""",
        """AURORA=$(bpass keys did walkthrough/keys/aurora.key)
cat > deliveries.csv <<EOF
lot,massGrams,buyer,reference
$LOT,5000,$AURORA,DN-2026-LI-0042
EOF
bpass import deliveries.csv --kind Transfer --key walkthrough/keys/minjiang.key --json > delivery.json
TRANSFER=$(jq -r .chainHead.hash delivery.json)
jq '{rows, appended, confidential, chainHead}' delivery.json""",
        12,
    ),
    (
        """## 2. A certifier issues, and later retracts, a certificate

Terra Assurance certifies the Mozambican graphite mine under IRMA. The subject is a facility of
the mine's registered actor.""",
        """cat > irma.json <<EOF
{"subject": {"type": "facility", "actor": "$(bpass keys did walkthrough/keys/cabo.key)",
             "facility": "cabo-mine"},
 "scheme": "IRMA", "certificateId": "IRMA-MZ-2026-003", "level": "IRMA 50",
 "scope": "IRMA Standard for Responsible Mining v1.0: open pit and flotation plant",
 "validFrom": "2026-01-01T00:00:00Z", "validUntil": "2028-12-31T23:59:59Z"}
EOF
bpass record new Certification --key walkthrough/keys/terra.key --data irma.json --append 2> cert.json
CERT=$(jq -r .recordHash cert.json); echo "certificate record: $CERT"
bpass trace $PACK2 | grep -A7 '^C:'""",
        12,
    ),
    (
        """Graphite carbon from that mine now counts as IRMA-certified (the mine's extraction lies
within the certificate's validity). Months later the audit finds problems and the certifier
withdraws the certificate. Only the certifier (or the attestation's issuer) may: the mine itself
is refused.""",
        """echo "{\\"record\\": \\"$CERT\\", \\"reason\\": \\"surveillance audit: tailings dam findings not remediated\\"}" > retract.json
bpass record new Retraction --key walkthrough/keys/cabo.key --data retract.json --append""",
        6,
    ),
    (
        "The certifier's retraction is accepted; roll-ups from now on count the certificate as revoked:",
        """bpass record new Retraction --key walkthrough/keys/terra.key --data retract.json --append \\
  2> retraction.json && jq '{recordHash, leafIndex}' retraction.json
bpass trace $PACK2 | grep -A7 '^C:' | grep certified
bpass trace $PACK2 --json | jq -r '.flags[] | select(.code=="revoked-certificate") | .message'""",
        12,
    ),
    (
        """## 3. The OEM issues a passport

Elbe Motors issues each pack's passport from its model data file (`samples/models/`) and the
ledger's roll-ups of the pack's provenance: carbon footprint per kWh and class, recycled content,
origins, certification and due-diligence coverage. The issue is refused if anything is invalid.
Pack 2 has the recycled-grade cathode, pack 1 the standard grade.""",
        """bpass passport issue --pack $PACK2 --serial E75N-42-00002 \\
  --model samples/models/nmc811-75kwh.json --key walkthrough/keys/elbe.key
bpass passport issue --pack $PACK1 --serial E75N-42-00001 \\
  --model samples/models/nmc811-75kwh.json --key walkthrough/keys/elbe.key > /dev/null
bpass passport check """
        + B2,
        40,
    ),
    (
        "The standard-grade pack misses the Art. 8 recycled-content minimums of 2031, by design:",
        "bpass passport check " + B1 + " | sed -n '1,12p'",
        14,
    ),
    (
        """## 4. Who sees what of a confidential record

The converter's delivery of step 1 is one confidential Transfer. Its parties each see what they
are entitled to (docs/records.md, "Who reads the Disclosures"), read here through the node's API:

- **the public** (no token) gets the signed redacted record: the lot and the record that created
  it, the digests of the concealed members — no mass, no buyer, no delivery note — and is refused
  the Disclosures (403);
- **the buyer** (Aurora) and **the issuer** (the converter) get the Disclosures; `--reveal`
  checks each against the record's digests and prints the subject they reveal;
- **the OEM** (Elbe Motors) is no party to a supplier's delivery and is refused (403); it sees its
  passports' figures, which the node computed from the revealed records (step 3);
- **an auditor** (Terra Assurance, a certifier) is refused until the converter grants it the
  Disclosures of its Transfers for the length of an audit (a signed `DisclosureGrant`, ended by
  its `validUntil` or a Retraction);
- **an authority** (the market-surveillance authority) gets everything.""",
        """bpass serve > serve.log 2>&1 &
SERVER=$!
until curl -sf """
        + NODE
        + """/log/checkpoint > /dev/null; do sleep 0.2; done
curl -s """
        + NODE
        + """/records/$TRANSFER | jq .credentialSubject
curl -s """
        + NODE
        + """/records/$TRANSFER/disclosures | jq -r '"\\(.status) \\(.code)"'""",
        16,
    ),
    (
        "The buyer, then the issuer:",
        """bpass record disclosures $TRANSFER --key walkthrough/keys/aurora.key --server """
        + NODE
        + """ --reveal
bpass record disclosures $TRANSFER --key walkthrough/keys/minjiang.key --server """
        + NODE
        + """ | jq length""",
        12,
    ),
    (
        "The OEM is refused; it reads its own passport's figures (point 2 here):",
        """bpass record disclosures $TRANSFER --key walkthrough/keys/elbe.key --server """
        + NODE
        + """
bpass passport show """
        + B2
        + """ --role legitimate-interest --json | jq .passport.point2.elementMassesKg""",
        12,
    ),
    (
        """The auditor, refused; the converter grants it its Transfers' Disclosures until the end
of January, signing on its own machine and appending on the node; the auditor reads them:""",
        """bpass record disclosures $TRANSFER --key walkthrough/keys/terra.key --server """
        + NODE
        + """ 2>&1 | cut -d' ' -f1-2
bpass record grant-disclosures --key walkthrough/keys/minjiang.key --server """
        + NODE
        + """ \\
  --to "$(bpass keys did walkthrough/keys/terra.key)" --kind Transfer \\
  --until 2027-01-31T00:00:00Z --purpose "chain-of-custody audit"
bpass record disclosures $TRANSFER --key walkthrough/keys/terra.key --server """
        + NODE
        + """ --reveal | jq -c .""",
        6,
    ),
    (
        "The authority reads the Disclosures of any record:",
        """bpass record disclosures $TRANSFER --key walkthrough/keys/msa.key --server """
        + NODE
        + """ --reveal | jq -c .
kill $SERVER""",
        4,
    ),
    (
        """## 5. A consumer scans the QR code

The QR code on the battery holds its GS1 Digital Link URI (the demo writes the images to
`walkthrough/qr/`). Opening it shows the public part of the passport (Annex XIII point 1) and whether it
verifies. With `bpass serve` (or `make demo`) running, the URI answers a browser with a page that
verifies the passport itself, in the browser, with WebCrypto (see `docs/screenshots/`), and a JSON
client with the public partition; `GET /passports/{id}/qr.png` serves the QR image and `bpass qr`
writes it. From a terminal, the same URI works as the passport's identifier:""",
        "bpass passport show " + B2 + " --role public | sed -n '1,25p'",
        27,
    ),
    (
        "Verification re-checks signatures, log inclusion, partitions and the roll-ups:",
        "bpass passport verify " + B2,
        14,
    ),
    (
        """## 6. A repairer updates the state of health

Saale EV Service, a person with a legitimate interest, records an inspection: state of health and
a negative event. The new point-4 data is a signed partition committed by a public
`PassportUpdate` record. A cell maker has no business here and is refused; so is Saale until Elbe
Motors, the passport's economic operator, mandates it for this battery (Art. 77) with a public
`PassportMandate` record (`--withdraw` ends it).""",
        """cat > soh.json <<'EOF'
{"stateOfHealth": {"measuredAt": "2026-11-20T10:00:00Z", "stateOfCertifiedEnergyPercent": "96.5",
                   "capacityFadePercent": "3.5", "remainingCapacityAh": "206.5",
                   "remainingEnergyKWh": "72.4"},
 "usage": {"recordedAt": "2026-11-20T10:00:00Z", "fullCycles": 212,
           "energyThroughputKWh": "15400", "capacityThroughputAh": "44000"}}
EOF
bpass passport update """
        + B2
        + """ --key walkthrough/keys/tisza.key --data soh.json
bpass passport update """
        + B2
        + """ --key walkthrough/keys/saale.key --data soh.json
bpass passport mandate """
        + B2
        + """ --to "$(bpass keys did walkthrough/keys/saale.key)" --key walkthrough/keys/elbe.key
bpass passport update """
        + B2
        + """ --key walkthrough/keys/saale.key --data soh.json \\
  --event "accident@2026-10-02T08:00:00Z:rear-end collision, pack inspected, no damage" \\
  --reason "annual inspection"
bpass passport show """
        + B2
        + """ --role legitimate-interest | grep -A12 'point 4'""",
        36,
    ),
    (
        """## 7. A regulator audits the ledger and verifies a bundle offline

The market-surveillance authority re-verifies everything: every record's signature and hash
chain, every key's validity, every tree node and signed checkpoint.""",
        "bpass audit",
        4,
    ),
    (
        """It takes the passport's offline bundle as an authority sees it (points 1 to 3): the signed
partitions, the pack's whole provenance, every issuer's key history, one signed checkpoint and
each record's inclusion proof. `bpass verify` checks it with no server and no database (an
authority pins the log key it trusts with `--log-key`), and replays the provenance to recompute
the figures.""",
        """bpass passport bundle """
        + B2
        + """ --role authority --out bundle.json | tail -n 1
bpass verify bundle.json""",
        14,
    ),
    (
        """The regulator also asks how a figure arose: every figure has a trail of the records behind it.""",
        "bpass trace $PACK2 --explain Co.recycled.post-consumer",
        16,
    ),
    (
        """## 8. A recycler closes the loop

The vehicle with pack 1 reaches its end of life. Elbe Motors transfers the vehicle lot to the
recycler, which accepts it, marks the battery as waste, shreds the pack to black mass (recycled
intake, post-consumer) and declares the battery recycled: the passport ceases (Art. 77(8)); its
history stays verifiable.""",
        """VEH_RECORD=$(bpass trace $VEH --json | jq -r .record)
VEH_GRAMS=$(bpass trace $VEH --json | jq -r .massGrams)
RBR=$(bpass keys did walkthrough/keys/rbr.key)
echo "{\\"lot\\": \\"$VEH\\", \\"record\\": \\"$VEH_RECORD\\", \\"massGrams\\": $VEH_GRAMS, \\"buyer\\": \\"$RBR\\"}" > transfer.json
bpass record new Transfer --key walkthrough/keys/elbe.key --data transfer.json --append 2> transfer-receipt.json
echo "{\\"transfer\\": \\"$(jq -r .recordHash transfer-receipt.json)\\", \\"decision\\": \\"accepted\\"}" > accept.json
bpass record new TransferAcceptance --key walkthrough/keys/rbr.key --data accept.json --append 2> /dev/null
bpass passport status """
        + B1
        + """ --to waste --key walkthrough/keys/rbr.key --reason "end-of-life vehicle taken back"
cat > shred.json <<EOF
{"processStep": "recycling", "custody": "controlled-blending", "facility": "rbr-dormagen",
 "inputs": [{"lot": "$VEH", "record": "$VEH_RECORD", "massGrams": $VEH_GRAMS,
             "recycled": "post-consumer"}],
 "outputs": [{"lot": "urn:lot:rbr:bm:eol-0001", "product": "black mass", "massGrams": 180000,
              "elements": {"Ni": 250000, "Co": 31000, "Mn": 29000, "Li": 37000, "C": 300000}},
             {"lot": "urn:lot:rbr:scrap:eol-0001", "product": "steel and aluminium scrap",
              "massGrams": 1800000, "elements": {}}]}
EOF
bpass record new Transformation --key walkthrough/keys/rbr.key --data shred.json --append 2> shred-receipt.json
jq '{recordHash, leafIndex}' shred-receipt.json
bpass passport status """
        + B1
        + """ --to recycled --key walkthrough/keys/rbr.key --reason "shredded to black mass"
bpass passport show """
        + B1
        + """ --role public | sed -n '1,8p'""",
        30,
    ),
    (
        """## 9. When someone tampers or over-claims

**Creating element mass from nothing.** A recovery step that puts out more cobalt than the black
mass holds is rejected, and nothing is written:""",
        """BM_RECORD=$(jq -r .recordHash shred-receipt.json)
cat > recover.json <<EOF
{"processStep": "material-recovery", "custody": "mass-balance", "facility": "rbr-dormagen",
 "inputs": [{"lot": "urn:lot:rbr:bm:eol-0001", "record": "$BM_RECORD", "massGrams": 180000}],
 "outputs": [{"lot": "urn:lot:rbr:coso4:eol-0001", "product": "recovered cobalt sulfate",
              "massGrams": 30000, "elements": {"Co": 209656}}]}
EOF
bpass record new Transformation --key walkthrough/keys/rbr.key --data recover.json --append""",
        4,
    ),
    (
        """**Claiming the same recycled kilogram twice, or claiming what never came in.** Under mass
balance, outputs may claim recycled content only up to the credits that entered the step. This
black mass is post-consumer; claiming pre-consumer cobalt is an over-claim:""",
        """cat > recover.json <<EOF
{"processStep": "material-recovery", "custody": "mass-balance", "facility": "rbr-dormagen",
 "inputs": [{"lot": "urn:lot:rbr:bm:eol-0001", "record": "$BM_RECORD", "massGrams": 180000}],
 "outputs": [{"lot": "urn:lot:rbr:coso4:eol-0001", "product": "recovered cobalt sulfate",
              "massGrams": 25000, "elements": {"Co": 209656},
              "claims": [{"type": "recycled-pre-consumer", "element": "Co", "grams": 5000}]}]}
EOF
bpass record new Transformation --key walkthrough/keys/rbr.key --data recover.json --append""",
        4,
    ),
    (
        "**Consuming more than one holds** is a mass-balance error:",
        """sed -i 's/"massGrams": 180000/"massGrams": 250000/' recover.json
bpass record new Transformation --key walkthrough/keys/rbr.key --data recover.json --append""",
        4,
    ),
    (
        """**Over-claiming in a passport.** An OEM whose model data declares a better carbon class
than the ledger's roll-up supports cannot issue the passport; every difference is listed:""",
        """jq '.point1.carbonFootprint.performanceClass = "A"' samples/models/nmc811-75kwh.json \\
  > optimistic-model.json
bpass passport issue --pack $PACK3 --serial E75N-42-00003 \\
  --model optimistic-model.json --key walkthrough/keys/elbe.key""",
        12,
    ),
    (
        """**Tampering with a signed record.** Someone edits a signed record before appending it:
here the footprint's method, a public member of the redacted record. The proof no longer
verifies. (A concealed member cannot be edited either: its Disclosure would no longer match the
digest the signature covers.)""",
        """LOT_RECORD=$(bpass trace $LOT --json | jq -r .record)
cat > footprint.json <<EOF
{"subject": {"type": "lot", "lot": "$LOT", "record": "$LOT_RECORD"},
 "boundary": "cradle-to-gate", "perKg": {"raw-material-acquisition": "11.900"},
 "method": "ISO 14067:2018, Battery Pass carbon footprint rules",
 "study": "Minjiang LiOH PCF 2026-Q3, reviewed by Terra Assurance"}
EOF
bpass record new CarbonFootprint --key walkthrough/keys/minjiang.key --data footprint.json \\
  --out signed.json
sed -i 's/ISO 14067:2018/ISO 14067:2006/' signed.json
bpass append signed.json""",
        4,
    ),
    (
        """**Rewriting history in the database.** Even the ledger's operator cannot: if anyone edits a
stored record (here the first certificate, upgraded from IRMA 50 to IRMA 75 directly in
SQLite), the audit names it.""",
        """python - <<'EOF'
import sqlite3
db = sqlite3.connect("walkthrough/ledger.sqlite")
leaf, body = db.execute(
    "SELECT leaf_index, body FROM records WHERE kind = 'Certification' ORDER BY leaf_index"
).fetchone()
db.execute("UPDATE records SET body = ? WHERE leaf_index = ?",
           (bytes(body).replace(b'"IRMA 50"', b'"IRMA 75"'), leaf))
db.commit()
EOF
bpass audit""",
        6,
    ),
    (
        """The demo ledger is now damaged on purpose; `bpass demo --home walkthrough --reset` builds a fresh one.""",
        None,
        0,
    ),
]


def _script(steps: list[Step]) -> str:
    lines = ["set -u", "export PATH=" + str(Path(sys.executable).parent) + ":$PATH"]
    for _, command, _ in steps:
        if command is None:
            continue
        lines.append(command)
        lines.append(f'echo "{MARK} $?"')
    return "\n".join(lines) + "\n"


def run(workdir: Path, steps: list[Step] = STEPS) -> list[tuple[str, int]]:
    """Run every command block in one bash session in ``workdir``; (output, exit status) each."""
    (workdir / "samples").symlink_to(ROOT / "samples")
    env = {k: v for k, v in os.environ.items() if not k.startswith("BPASS_")}
    env["COLUMNS"] = "100"
    done = subprocess.run(  # noqa: S603 - our own script
        ["bash", "-c", _script(steps)],  # noqa: S607
        cwd=workdir,
        env=env,
        capture_output=False,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        check=False,
    )
    out: list[tuple[str, int]] = []
    chunk: list[str] = []
    for line in done.stdout.splitlines():
        if line.startswith(MARK):
            out.append(("\n".join(chunk), int(line.split()[-1])))
            chunk = []
        else:
            chunk.append(line.rstrip())
    return out


def render(steps: list[Step], outputs: list[tuple[str, int]]) -> str:
    """The markdown: prose, each command, its (cut) output and a non-zero exit status."""
    parts: list[str] = []
    results = iter(outputs)
    for prose, command, limit in steps:
        parts.append(prose.strip() + "\n")
        if command is None:
            continue
        text, status = next(results)
        lines = text.splitlines()
        if len(lines) > limit:
            lines = [*lines[:limit], f"… ({len(lines) - limit} more lines)"]
        body = "\n".join(lines)
        parts.append(f"```sh\n{command}\n```\n")
        if body.strip():
            parts.append(f"```text\n{body}\n```\n")
        if status:
            parts.append(f"Exit status {status}.\n")
    return "\n".join(parts)


def main() -> None:
    """Run the walkthrough and write the markdown."""
    parser = argparse.ArgumentParser(prog="python -m samples.walkthrough", description=__doc__)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "walkthrough.md")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        outputs = run(Path(tmp))
    args.out.write_text(render(STEPS, outputs), encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
