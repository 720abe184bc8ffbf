"""The offline verification bundle: everything a regulator needs to verify one passport without
trusting, or even reaching, the server (design: "Verification, from the outside in", "What a
bundle proves").

A bundle is a JSON object; the **public bundle** (any role but the authority's) holds:

- ``type`` ``BatteryPassportBundle``, ``version`` 1; ``log``: ``origin`` and ``verifierKey``;
- ``checkpoint``: one signed checkpoint note of the log;
- ``passport``: ``id``, ``record`` (the BatteryPassport record's hash), ``role``;
- ``passportCheckpoint``: the checkpoint the figures were computed at (``note``), a
  ``consistencyProof`` to the bundle's checkpoint and its ``lastLeaf`` (the as-of time);
- ``view``: the passport as the role sees it, with the signed partitions and lifecycle records;
- ``records``: in leaf order, each ``{record, leafIndex, acceptedAt, inclusionProof}``: the
  passport's records, every record of the pack's provenance (the steps that made each upstream
  lot, through recycled inputs too, the custody transfers of those lots and their acceptances,
  the attestations about those lots and their makers, and their retractions) and the
  registration and key-history records of every actor they name; a confidential record as the
  ledger stores it, redacted (its concealed members' digests only);
- ``provenanceSet``: the sorted hashes of the provenance set the passport commits to
  (:mod:`passport.verify.provenance_set`), when it commits to one.

The **authority bundle** adds ``disclosures``: record hash -> the Disclosures of that
confidential record. :func:`passport.service.bundle.build_bundle` makes either from the
ledger's database; this module verifies them and imports no database library.

:func:`verify_bundle` runs :data:`CHECKS` in order and names the first failure:

1. ``format``: the bundle's structure;
2. ``checkpoint``: the log's signature on the checkpoint (against a pinned log key when given);
3. ``records``: each record's schema (a redacted one: its concealment against its kind's
   declaration) and proof, and its inclusion in the log at its leaf;
4. ``chains``: per issuer, the records present keep their order, and consecutive ones link;
   the gaps where records outside the bundle sit are counted and named, not checked;
5. ``keys``: each record is signed by its issuer's key current at acceptance, per the key history
   in the bundle (registrations by the operator, rotations, revocations);
6. ``passport-checkpoint``: the checkpoint the passport commits to is signed, matches the
   commitment, and the bundle's checkpoint extends it (consistency proof);
7. ``passport``: each partition shown against the record committing to it, and the whole view
   shown equal to the view rebuilt from the signed passport record, its lifecycle records and
   partitions (``passport.verify.view.rebuild_view``): no member more, none other;
8. ``completeness``: the provenance records under the passport's checkpoint are exactly the set
   it commits to (count and root), naming a record missing or added; for a passport issued
   without the commitment, not checked, and :data:`COMPLETENESS_LIMIT` stays in ``limits``;
9. ``provenance``: each confidential record revealed by its Disclosures in the bundle (a
   Disclosure answering no digest of its record, one missing, or in a bundle carrying
   Disclosures a confidential record without them, fails naming the record); every record a
   record references by hash is in the bundle (naming the first missing); the provenance records
   replayed in leaf order into an empty ledger state pass every domain rule (custody, mass
   balance, element balance, credits). If a record stays redacted (a public bundle), nothing is
   replayed and the check says so (:data:`NOT_REPLAYED`, also in ``limits``);
10. ``roll-ups``: the figures recomputed from the replayed provenance, as of the passport's
    checkpoint, equal the passport's figures; not claimed when nothing was replayed.
11. ``assurance``: what the passport's ``Assurance`` records state, each checked to be this
    passport's and its issuer a registered assurer (``passport.verify.assurance``).

Checks 1-8 hold on redacted records: a public bundle proves integrity and completeness, an
authority bundle the figures too (:attr:`BundleReport.summary` says which). What a bundle cannot
show offline: consumption of a shared upstream lot by *other* packs (it is not in the bundle),
which the ledger's own audit covers.

How it runs (the checks and their verdicts are as above, in that order): check 3 prepares each
record's proof as it parses the record, and worker processes verify the signatures while this
one parses on, checks the inclusion proofs and runs checks 4 to 10; a failing proof then
replaces every later verdict (``passport.verify.bundle_proofs``); check 9
runs the ledger's own rules (``passport.ledger.accept.accept_record``) on a ledger state held in
memory (``passport.store.memory``), which check 10 rolls up.
"""

from __future__ import annotations

import binascii
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from passport import gcpause
from passport.document.body import LEDGER_FIGURES, get_at
from passport.document.figures import figures_from_rollup
from passport.document.partitions import partitions_for
from passport.document.regulation import load_class_table
from passport.ledger import log as translog
from passport.ledger.accept import LedgerInfo, accept_record
from passport.records.actors import initial_key
from passport.records.confidential import is_redacted
from passport.records.envelope import ParsedRecord, parse_record, reveal_record
from passport.store.memory import MemoryTx
from passport.trace.rollup import compute_rollup
from passport.verify.assurance import check_bundle_assurances
from passport.verify.bundle_proofs import ProofChecks
from passport.verify.provenance_set import (
    PASSPORT_KINDS,
    in_committed_set,
    provenance_commitment,
    sorted_set,
)
from passport.verify.view import described, verify_view
from signing import merkle
from signing.errors import BpassError
from signing.merkle_batch import InclusionChecks
from signing.note import open_checkpoint

BUNDLE_TYPE = "BatteryPassportBundle"
BUNDLE_VERSION = 1
DISCLOSING_ROLES = frozenset({"authority"})
"""Reader roles whose bundle carries the confidential records' Disclosures (``disclosures``)."""
_NO_LIMIT = 1 << 30
_GAPS_NAMED = 5
"""Gaps in issuers' chains the ``chains`` check names (it counts them all)."""
COMPLETENESS_LIMIT = (
    "not checked: that no record referencing into this bundle's provenance was left out "
    "(an acceptance of a transfer, an attestation about a lot or its maker, a retraction): "
    "the passport does not commit to the set of its provenance records, so such a record is "
    "found missing only when a figure rests on it"
)
"""What no check of a bundle of a passport without a completeness commitment (issued before it
existed) can establish offline (docs/design.md, "What a bundle proves")."""
NOT_REPLAYED = (
    "not replayed: {n} records confidential; the figures rest on the passport's signature and "
    "on assurance records, if any"
)
"""The provenance and roll-ups checks' detail, and a limit, when records stay redacted."""


# -- verifying -------------------------------------------------------------------------------
@dataclass
class Check:
    """One check of a bundle."""

    name: str
    ok: bool
    detail: str

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {"check": self.name, "ok": self.ok, "detail": self.detail}


@dataclass
class BundleReport:
    """The outcome of :func:`verify_bundle`."""

    checks: list[Check] = field(default_factory=list)
    passport_id: str | None = None
    trusted_log_key: bool = False
    limits: list[str] = field(default_factory=lambda: [COMPLETENESS_LIMIT])
    """What the checks, even all passed, do not establish."""
    tier: str = "public"
    """``authority`` for a bundle carrying Disclosures, else ``public``."""
    complete: bool = False
    """The completeness check compared the bundle with the passport's commitment."""
    replayed: bool = False
    """The provenance was replayed and the figures recomputed (checks ``provenance`` and
    ``roll-ups`` claim it)."""

    @property
    def summary(self) -> str:
        """One line saying what a passing report established."""
        done = ["integrity", "completeness" if self.complete else None]
        checked = " and ".join(d for d in done if d)
        if self.replayed:
            return f"{self.tier} bundle: {checked} checked; everything replayed"
        return f"{self.tier} bundle: {checked} checked; figures not replayed"

    @property
    def ok(self) -> bool:
        """Every check passed."""
        return bool(self.checks) and all(c.ok for c in self.checks)

    @property
    def first_failure(self) -> Check | None:
        """The first failed check, if any."""
        return next((c for c in self.checks if not c.ok), None)

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "ok": self.ok,
            "passportId": self.passport_id,
            "pinnedLogKey": self.trusted_log_key,
            "tier": self.tier,
            "complete": self.complete,
            "replayed": self.replayed,
            "checks": [c.to_dict() for c in self.checks],
            "limits": list(self.limits),
        }


class _CheckError(Exception):
    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


def _b64(value: Any) -> bytes:
    if not isinstance(value, str):
        raise _CheckError("a proof element is not a base64 string")
    try:
        raw = binascii.a2b_base64(value, strict_mode=True)  # RFC 4648 §4 alphabet and padding
    except ValueError as exc:
        raise _CheckError("a proof element is not base64") from exc
    # One encoding per value: no spare bits (RFC 4648 §3.5). strict_mode took ASCII text only.
    if binascii.b2a_base64(raw, newline=False) != value.encode("ascii"):
        raise _CheckError("a proof element is not canonical base64")
    return raw


@dataclass(slots=True)
class _Entry:
    parsed: ParsedRecord
    leaf: int
    accepted_at: str


_HANDLED = (KeyError, TypeError, ValueError, IndexError, AttributeError)
"""Exceptions of malformed input a check reports as such (others propagate)."""


def _failed(name: str, exc: Exception) -> Check | None:
    """The failed check an exception raised by check ``name`` makes, or None if it is not one
    of a check's (it then propagates)."""
    if isinstance(exc, _CheckError):
        return Check(name, False, exc.detail)
    if isinstance(exc, BpassError):
        return Check(name, False, f"[{exc.code}] {exc.message}")
    if isinstance(exc, _HANDLED):
        return Check(name, False, f"malformed bundle: {exc!r}")
    return None


class _Verifier:
    def __init__(
        self, bundle: Mapping[str, Any], log_vkey: str | None, workers: int | None
    ) -> None:
        self.bundle = bundle
        self.pinned = log_vkey
        self.workers = workers
        self.report = BundleReport(trusted_log_key=log_vkey is not None)
        self.entries: list[_Entry] = []
        self.by_hash: dict[str, _Entry] = {}
        self.proofs: ProofChecks | None = None  # check 3's proofs, when their verdict is pending

    def step(self, name: str, fn: Callable[[_Verifier], str]) -> bool:
        try:
            detail = fn(self)
        except Exception as exc:
            check = _failed(name, exc)
            if check is None:
                raise
            self.report.checks.append(check)
            return False
        self.report.checks.append(Check(name, True, str(detail)))
        return True

    def run(self) -> BundleReport:
        try:
            for name, fn in CHECKS:
                if not self.step(name, fn):
                    break  # later checks rest on earlier ones
        except Exception:
            if self._settle_proofs():
                raise  # check 3 passed: the exception is a later check's own
        else:
            self._settle_proofs()
        finally:
            if self.proofs is not None:
                self.proofs.close()
        return self.report

    def _settle_proofs(self) -> bool:
        """Check 3's verdict on the records' proofs, which the workers delivered while checks
        4-10 ran: if one failed, the report ends with check 3 failing, as if the checks had run
        one after the other (nothing after check 3 rests on the proofs, so nothing else differs).
        True if the proofs all verified (or were settled in check 3 itself)."""
        if self.proofs is None:
            return True
        proofs, self.proofs = self.proofs, None
        try:
            try:
                self._raise_proof_failure(proofs, None)
            finally:
                proofs.close()
        except Exception as exc:
            check = _failed("records", exc)
            if check is None:
                raise
            at = next(i for i, c in enumerate(self.report.checks) if c.name == "records")
            del self.report.checks[at:]
            self.report.checks.append(check)
            return False
        return True

    def _raise_proof_failure(self, proofs: ProofChecks, stop: int | None) -> None:
        """Raise check 3's error for the first record below ``stop`` whose proof fails."""
        failure = proofs.first_failure(stop)
        if failure is not None:
            index, message = failure
            item = self.bundle["records"][index]
            raise _CheckError(
                f"record {proofs.records[index].hash} at leaf {item['leafIndex']}: {message}"
            )

    # 1
    def format(self) -> str:
        b = self.bundle
        if b.get("type") != BUNDLE_TYPE or b.get("version") != BUNDLE_VERSION:
            raise _CheckError(f"not a {BUNDLE_TYPE} version {BUNDLE_VERSION}")
        for key in ("log", "checkpoint", "passport", "passportCheckpoint", "view", "records"):
            if key not in b:
                raise _CheckError(f"missing {key!r}")
        if not isinstance(b["records"], list) or not b["records"]:
            raise _CheckError("no records")
        self.report.passport_id = str(b["passport"]["id"])
        if "disclosures" in b:
            self.report.tier = "authority"
        return f"bundle of passport {self.report.passport_id} ({len(b['records'])} records)"

    # 2
    def checkpoint(self) -> str:
        vkey = self.bundle["log"]["verifierKey"]
        if self.pinned is not None and self.pinned != vkey:
            raise _CheckError("the bundle's log key is not the pinned log key")
        self.cp = open_checkpoint(self.bundle["checkpoint"], [self.pinned or vkey])
        if self.cp.origin != self.bundle["log"]["origin"]:
            raise _CheckError("the checkpoint's origin differs from the bundle's log")
        trust = "pinned" if self.pinned else "taken from the bundle (pin it with --log-key)"
        return f"{self.cp.origin} at size {self.cp.size}, log key {trust}"

    # 3
    def records(self) -> str:
        """Per record, in order: schema (append step 1), increasing leaf index, proof (step
        2a), inclusion in the log at its leaf (RFC 9162 §2.1.3.2); the first failure is the
        check's. The proofs' signatures are verified by worker processes
        (``passport.verify.bundle_proofs``) while this process checks the rest, and their verdict
        may
        still be pending when this returns:
        :meth:`run` settles it after the later checks, which do not rest on it."""
        items = self.bundle["records"]
        proofs = ProofChecks(len(items), self.workers)  # its workers start while we parse
        try:
            return self._records(items, proofs)
        except BaseException:
            proofs.close()
            raise

    def _records(self, items: list[Any], proofs: ProofChecks) -> str:
        # Schema and leaf order, up to the first record failing them (``bad``: its error).
        parsed: list[tuple[ParsedRecord, int, Any]] = []
        bad: Exception | None = None
        previous_leaf = -1
        add = proofs.add
        for item in items:
            try:
                # A confidential record as stored: its concealment checked, not revealed.
                record = parse_record(item["record"], max_bytes=_NO_LIMIT, redacted=True)
                leaf = item["leafIndex"]
                if not isinstance(leaf, int) or leaf <= previous_leaf:
                    raise _CheckError(f"record {record.hash}: leaf indices must increase")
            except Exception as exc:
                bad = exc
                break
            previous_leaf = leaf
            parsed.append((record, leaf, item))
            add(record)  # its signature is verified beside what follows
        proofs.finish()
        # Inclusion of the records before ``bad``, up to the first failure. The entries the
        # later checks read are made on the way (they are read only if every record passes).
        inclusion = InclusionChecks(self.cp.size, self.cp.root_hash, _b64)
        entries, by_hash = self.entries, self.by_hash
        for i, (record, leaf, item) in enumerate(parsed):
            try:
                accepted_at = item["acceptedAt"]
                try:
                    inclusion.verify(
                        translog.leaf_hash(record.hash, accepted_at), leaf, item["inclusionProof"]
                    )
                except BpassError as exc:
                    raise _CheckError(
                        f"record {record.hash} at leaf {leaf}: {exc.message}"
                    ) from exc
            except Exception:
                # A record's proof is checked before its inclusion: a proof failing at or
                # before this record is the first failure.
                self._raise_proof_failure(proofs, i + 1)
                raise
            entry = _Entry(record, leaf, accepted_at)
            entries.append(entry)
            by_hash[record.hash] = entry
        if bad is not None:
            self._raise_proof_failure(proofs, len(parsed))
            raise bad
        self.proofs = proofs
        return f"{len(entries)} records signed and included in the log"

    # 4
    def chains(self) -> str:
        """Per issuer, the records present keep their order and consecutive ones link (append
        step 2c); what it cannot check, the records of each chain that sit outside the bundle
        (before the first present, or between two present ones), it counts and names."""
        last: dict[str, _Entry] = {}
        gaps: list[tuple[str, int, int]] = []  # issuer, first and last missing sequence
        for e in self.entries:
            prev = last.get(e.parsed.issuer)
            if prev is not None:
                if e.parsed.sequence <= prev.parsed.sequence:
                    raise _CheckError(f"{e.parsed.issuer}: sequence {e.parsed.sequence} misordered")
                if (
                    e.parsed.sequence == prev.parsed.sequence + 1
                    and e.parsed.previous != prev.parsed.hash
                ):
                    raise _CheckError(f"{e.parsed.hash} does not link to {prev.parsed.hash}")
            elif e.parsed.sequence == 1 and e.parsed.previous is not None:
                raise _CheckError(f"{e.parsed.hash}: sequence 1 with a previous record")
            before = prev.parsed.sequence if prev is not None else 0
            if e.parsed.sequence > before + 1:
                gaps.append((e.parsed.issuer, before + 1, e.parsed.sequence - 1))
            last[e.parsed.issuer] = e
        detail = f"{len(last)} issuers: the records present are in order, consecutive ones linked"
        if not gaps:
            return detail + "; no gaps"
        missing = sum(b - a + 1 for _, a, b in gaps)
        shown = "; ".join(
            f"{issuer} {a}" + (f"-{b}" if b > a else "") for issuer, a, b in gaps[:_GAPS_NAMED]
        )
        more = f"; and {len(gaps) - _GAPS_NAMED} more" if len(gaps) > _GAPS_NAMED else ""
        return (
            f"{detail}; {len(gaps)} gaps where {missing} records outside this bundle sit, "
            f"not checked (sequences {shown}{more})"
        )

    # 5
    def keys(self) -> str:
        active: dict[str, str] = {}  # multikey -> actor
        retired: set[str] = set()
        operator: str | None = None
        for e in self.entries:
            p = e.parsed
            if operator is None:
                if p.kind != "ActorRegistration" or p.subject.get("id") != p.issuer:
                    raise _CheckError("the first record is not the operator's registration")
                operator = p.issuer
                active[p.key_multikey] = p.issuer
            if active.get(p.key_multikey) != p.issuer:
                raise _CheckError(f"{p.hash}: {p.key_multikey} is not {p.issuer}'s current key")
            s = p.subject
            if p.kind == "ActorRegistration" and s.get("id") != p.issuer:
                if p.issuer != operator:
                    raise _CheckError(f"{p.hash}: registration not issued by the operator")
                active[initial_key(s)] = str(s["id"])
            elif p.kind == "KeyRotation":
                del active[p.key_multikey]
                retired.add(p.key_multikey)
                active[str(s["nextKey"])] = p.issuer
            elif p.kind == "KeyRevocation":
                active.pop(str(s["key"]), None)
                retired.add(str(s["key"]))
                if "nextKey" in s:
                    active[str(s["nextKey"])] = str(s["actor"])
        self.operator = operator
        return f"every record signed by its issuer's current key (operator {operator})"

    # 6
    def passport_checkpoint(self) -> str:
        pc = self.bundle["passportCheckpoint"]
        passport_entry = self.by_hash.get(self.bundle["passport"]["record"])
        if passport_entry is None or passport_entry.parsed.kind != "BatteryPassport":
            raise _CheckError("the passport record is not among the bundle's records")
        committed = passport_entry.parsed.subject["checkpoint"]
        old = open_checkpoint(pc["note"], [self.bundle["log"]["verifierKey"]])
        if old.size != committed["size"] or translog.b64(old.root_hash) != committed["rootHash"]:
            raise _CheckError("the passport's checkpoint differs from the one it commits to")
        if old.size < self.cp.size:
            merkle.verify_consistency(
                old.size,
                self.cp.size,
                old.root_hash,
                self.cp.root_hash,
                [_b64(p) for p in pc["consistencyProof"]],
            )
        elif old.size != self.cp.size or old.root_hash != self.cp.root_hash:
            raise _CheckError("the passport's checkpoint is not part of this log")
        last = pc["lastLeaf"]
        if last["leafIndex"] != old.size - 1:
            raise _CheckError("the as-of leaf is not the passport checkpoint's last leaf")
        merkle.verify_inclusion(
            translog.leaf_hash(last["recordHash"], last["acceptedAt"]),
            last["leafIndex"],
            self.cp.size,
            [_b64(p) for p in last["inclusionProof"]],
            self.cp.root_hash,
        )
        self.as_of = str(last["acceptedAt"])
        self.passport_size = old.size
        self.passport_record = passport_entry.parsed
        return f"figures computed at log size {old.size} ({self.as_of}), which this log extends"

    # 7
    def passport(self) -> str:
        view = self.bundle["view"]
        evidence = view["evidence"]
        verify_view(view)
        if view["role"] != self.bundle["passport"]["role"]:
            raise _CheckError("the view's role differs from the bundle's")
        if sorted(evidence["partitions"]) != sorted(str(n) for n in partitions_for(view["role"])):
            raise _CheckError(f"role {view['role']} is not served exactly its partitions")
        if self.passport_record.subject["passportId"] != self.bundle["passport"]["id"]:
            raise _CheckError("the bundle names another passport than its record")
        if parse_record(evidence["passportRecord"], max_bytes=_NO_LIMIT).hash != (
            self.passport_record.hash
        ):
            raise _CheckError("the view's passport record is not the bundle's")
        for doc in [*evidence["lifecycleRecords"]]:
            if parse_record(doc, max_bytes=_NO_LIMIT).hash not in self.by_hash:
                raise _CheckError("a lifecycle record of the view is not in the log")
        shown = sorted(evidence["partitions"])
        return (
            f"role {view['role']}: partitions {', '.join(shown)} match the signed commitments; "
            f"the {len(view['passport'])} members shown equal the view rebuilt from the signed "
            "records"
        )

    # 8
    def completeness(self) -> str:
        """The provenance records under the passport's checkpoint are exactly the set the
        passport commits to (:mod:`passport.verify.provenance_set`): the bundle's list of that
        set matches the signed count and root, and names what differs."""
        commitment = self.passport_record.subject.get("provenance")
        if commitment is None:
            return (
                "not checked: the passport commits to no provenance set (issued before the "
                "commitment existed); see limits"
            )
        if "provenanceSet" not in self.bundle:
            raise _CheckError(
                "the passport commits to a provenance set and the bundle lists none (provenanceSet)"
            )
        listed = sorted_set(self.bundle["provenanceSet"])
        if provenance_commitment(listed) != commitment:
            raise _CheckError(
                f"the bundle's provenanceSet ({len(listed)} records) is not the set the passport "
                f"commits to ({commitment['count']} records, root {commitment['root']})"
            )
        present = {
            e.parsed.hash: e
            for e in self.entries
            if in_committed_set(e.parsed.kind, e.leaf, self.passport_size)
        }
        members = set(listed)
        for h in listed:
            if h not in present:
                raise _CheckError(
                    f"record {h}, in the passport's provenance set, is not in this bundle"
                )
        for h, e in present.items():
            if h not in members:
                raise _CheckError(
                    f"record {h} ({e.parsed.kind}, leaf {e.leaf}) is under the passport's "
                    "checkpoint but not in the provenance set the passport commits to"
                )
        self.report.limits.remove(COMPLETENESS_LIMIT)
        self.report.complete = True
        return (
            f"the {len(listed)} provenance records under the passport's checkpoint are exactly "
            f"the set it commits to (root {commitment['root']})"
        )

    # 9
    def provenance(self) -> str:
        # The ledger's own rules (append steps 2b-4, ``accept_record``) on a ledger state in
        # memory (``passport.store.memory``); chains are check 4's, on the records present.
        # The records themselves are not stored: the rules and the roll-up read the trace
        # tables, actors and keys (test_the_replay_in_memory_holds_what_a_database_replay_holds).
        # A confidential record is replayed revealed by its Disclosures in the bundle.
        revealed, redacted = self._reveal()
        referenced = self._references_present(revealed)
        if redacted:
            self.report.limits.append(NOT_REPLAYED.format(n=redacted))
            return (
                f"{NOT_REPLAYED.format(n=redacted)}; the {referenced} records referenced by hash "
                "in the clear are all in the bundle"
            )
        state = MemoryTx()
        info = LedgerInfo("replay", "", self.operator or "", 0)
        replayed = 0
        for e in revealed:
            if e.parsed.kind in PASSPORT_KINDS:
                continue
            try:
                accept_record(state, e.parsed, info, e.accepted_at, e.leaf, check_chain=False)
            except BpassError as exc:
                raise _CheckError(
                    f"record {e.parsed.hash} ({e.parsed.kind}) breaks a rule on replay: "
                    f"[{exc.code}] {exc.message}"
                ) from exc
            replayed += 1
        self.replay = state
        self.report.replayed = True
        shown = (
            f", {self.disclosed} of them revealed by their disclosures" if self.disclosed else ""
        )
        return (
            f"{replayed} provenance records replayed{shown}: every custody and balance rule "
            f"holds; the {referenced} records referenced by hash are all in the bundle"
        )

    def _reveal(self) -> tuple[list[_Entry], int]:
        """The bundle's entries, each confidential one revealed by its Disclosures
        in the bundle (``disclosures``: record hash -> Disclosures), and how many stay
        redacted. A Disclosure that answers no digest of its record (tampered, guessed, moved
        from another record), one missing beside others, Disclosures for a record not in the
        bundle or concealing nothing, and, in a bundle that carries Disclosures, a confidential
        record without any, fail naming the record."""
        given = self.bundle.get("disclosures", {})
        if not isinstance(given, Mapping):
            raise _CheckError("disclosures is not an object of record hash -> Disclosures")
        for h in given:
            if h not in self.by_hash:
                raise _CheckError(f"disclosures given for record {h}, which is not in this bundle")
        out: list[_Entry] = []
        redacted = 0
        self.disclosed = 0
        for e in self.entries:
            ds = given.get(e.parsed.hash)
            if ds is None:
                if is_redacted(e.parsed.subject):
                    if "disclosures" in self.bundle:
                        raise _CheckError(
                            f"record {e.parsed.hash} ({e.parsed.kind}) is confidential and this "
                            "bundle, which carries disclosures, has none for it: it stays "
                            "unrevealed, and the figures are not replayed"
                        )
                    redacted += 1
                out.append(e)
                continue
            if not isinstance(ds, list) or not all(isinstance(d, str) for d in ds):
                raise _CheckError(f"the disclosures of record {e.parsed.hash} are not strings")
            try:
                parsed = reveal_record(e.parsed, ds)
            except BpassError as exc:
                raise _CheckError(
                    f"record {e.parsed.hash} ({e.parsed.kind}): its disclosures do not reveal "
                    f"it: [{exc.code}] {exc.message}"
                ) from exc
            self.disclosed += 1
            out.append(_Entry(parsed, e.leaf, e.accepted_at))
        return out, redacted

    def _references_present(self, entries: list[_Entry]) -> int:
        """Every record a present record names by hash is present: the lot's creating record
        of a transfer or an attestation (``record``), each input's (``inputs[].record``), the
        transfer an acceptance settles (``transfer``), the attestation a retraction retracts
        (``record``), the passport record a lifecycle record acts on (``passport``). These are
        the records :func:`passport.service.closure.provenance_closure` follows from the pack
        upstream, so a bundle its builder made holds them all; a missing one is named. Returns
        how many distinct records are referenced."""
        referenced: set[str] = set()
        for e in entries:
            s = e.parsed.subject
            names = [s.get("record"), s.get("transfer")]
            if e.parsed.kind in PASSPORT_KINDS - {"BatteryPassport"}:
                names.append(s.get("passport"))
            inputs = s.get("inputs")
            if isinstance(inputs, list):
                names += [i.get("record") for i in inputs if isinstance(i, Mapping)]
            for h in names:
                if not isinstance(h, str) or not h.startswith("sha256:"):
                    continue
                referenced.add(h)
                if h not in self.by_hash:
                    raise _CheckError(
                        f"record {e.parsed.hash} ({e.parsed.kind}) references {h}, which is not "
                        "in this bundle"
                    )
        return len(referenced)

    # 10
    def rollups(self) -> str:
        if not self.report.replayed:
            redacted = sum(1 for e in self.entries if is_redacted(e.parsed.subject))
            return NOT_REPLAYED.format(n=redacted)
        document = self.bundle["view"]["passport"]
        subject = self.passport_record.subject
        rollup = compute_rollup(self.replay, subject["pack"]["lot"], at=self.as_of)
        energy = Decimal(str(get_at(document, "/point1/carbonFootprint/serviceLifeEnergyKWh")))
        table = load_class_table()
        figures = figures_from_rollup(rollup, service_life_energy_kwh=energy, table=table)
        if get_at(document, "/point1/carbonFootprint/classTable") != table.id:
            figures.pop("/point1/carbonFootprint/performanceClass", None)
            figures.pop("/point1/carbonFootprint/classTable", None)
        compared = 0
        for pointer in LEDGER_FIGURES:
            if pointer not in figures or pointer.split("/")[1] not in document:
                continue  # a partition this role does not see
            shown = get_at(document, pointer)
            if shown != figures[pointer]:
                recomputed = described(figures[pointer])
                raise _CheckError(
                    f"{pointer} differs from the provenance's roll-up: the passport shows "
                    f"{described(shown)}, the replayed provenance gives {recomputed}"
                )
            compared += 1
        if compared == 0:
            raise _CheckError("no passport figure could be compared with the roll-ups")
        return f"{compared} figures equal the roll-ups recomputed from the provenance"

    # 11
    def assurance(self) -> str:
        known = {self.cp.size: translog.b64(self.cp.root_hash)}
        committed = self.passport_record.subject["checkpoint"]
        known[committed["size"]] = committed["rootHash"]  # check 6 tied it to this log
        parsed = [e.parsed for e in self.entries]
        return check_bundle_assurances(
            parsed, self.passport_record, known, replayed=self.report.replayed
        )


CHECKS: list[tuple[str, Callable[[_Verifier], str]]] = [
    ("format", _Verifier.format),
    ("checkpoint", _Verifier.checkpoint),
    ("records", _Verifier.records),
    ("chains", _Verifier.chains),
    ("keys", _Verifier.keys),
    ("passport-checkpoint", _Verifier.passport_checkpoint),
    ("passport", _Verifier.passport),
    ("completeness", _Verifier.completeness),
    ("provenance", _Verifier.provenance),
    ("roll-ups", _Verifier.rollups),
    ("assurance", _Verifier.assurance),
]
"""The checks :func:`verify_bundle` runs, in order, each returning its detail or raising: a
later check rests on the earlier ones' results (the verifier's attributes they set), so a new
check goes after those it reads."""


def verify_bundle(
    bundle: Mapping[str, Any], *, log_vkey: str | None = None, workers: int | None = None
) -> BundleReport:
    """Verify a bundle offline (see the module docstring); never raises for a failed check.

    ``workers``: processes checking the records' proofs while this one runs the other checks
    (default: one fewer than the available cores; 0 checks them in this process).
    """
    if not isinstance(bundle, Mapping):
        return BundleReport([Check("format", False, "a bundle is a JSON object")])
    with gcpause.paused():  # tens of thousands of short-lived objects and no cycles
        return _Verifier(bundle, log_vkey, workers).run()
