"""A client of the HTTP API, and :class:`RemoteLedger`: the ledger's operations over HTTP.

``RemoteLedger`` has the method names and return types of :class:`passport.ledger.pipeline.Ledger`
that the CLI uses (``sign_new``, ``parse``, ``append``, ``append_batch``, ``receipt``,
``checkpoint``, ``consistency``, ``chain_head``, ``issuer_for_key``, ``info``, ``close``), so a
command given ``--server URL`` acts through a remote node exactly as it would on a local database: a
supplier on another machine signs locally (its key never leaves it) and appends remotely.

Problem documents come back as the domain's own typed errors (same class and ``code``), so the
CLI's error handling and exit codes do not change. When the log's verifier key is pinned
(``log_vkey``), every receipt and checkpoint is verified before it is returned.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, Literal, overload
from urllib.parse import quote

import httpx

from api.auth import CHALLENGE_PREFIX
from api.errors import RemoteError, errors_by_code
from passport.errors import (
    BatchItemError,
    ConfigurationError,
    LedgerStateError,
    LotNotEntitledError,
    NotFoundError,
)
from passport.ledger import log as translog
from passport.ledger.accept import LedgerInfo
from passport.records.confidential import Confidential
from passport.records.envelope import ParsedRecord, parse_record, sign_next
from signing.errors import BpassError, SignatureError
from signing.jcs import canonicalize
from signing.jws import b64url_encode
from signing.keys import SigningKey
from signing.note import open_checkpoint

PROBLEM_JSON = "application/problem+json"
USER_AGENT = "bpass-remote/0.1"
_STANDARD_MEMBERS = frozenset({"type", "title", "status", "detail", "instance", "code", "index"})


_BY_CODE = {code: cls for code, cls in errors_by_code().items() if cls is not BatchItemError}
"""The error class of every code the server can answer with, from the layers' error modules
(so the client knows them all, whatever else was imported). A batch item's error is rebuilt
from the problem's ``index``."""


def error_from_problem(status: int, problem: dict[str, Any]) -> BpassError:
    """The typed error a problem document stands for (a batch item's error re-wrapped)."""
    code = str(problem.get("code", ""))
    message = str(problem.get("detail") or problem.get("title") or f"HTTP {status}")
    details = {k: v for k, v in problem.items() if k not in _STANDARD_MEMBERS}
    cls = _BY_CODE.get(code)
    error: BpassError
    if cls is None:
        error = RemoteError(message, status=status, remote_code=code, **details)
    else:
        # The class, with the server's message and details, whatever its own constructor asks
        # for (an error listing problems takes them as one argument).
        error = cls.__new__(cls)
        BpassError.__init__(error, message, **details)
        if "__init__" in cls.__dict__:
            vars(error).update(details)  # such classes keep their details as attributes too
    index = problem.get("index")
    if isinstance(index, int):
        return BatchItemError(index, error)
    return error


def _record_bytes(raw: bytes | str | dict[str, Any]) -> bytes:
    if isinstance(raw, dict):
        return canonicalize(raw)
    return raw.encode("utf-8") if isinstance(raw, str) else bytes(raw)


class ApiClient:
    """Thin HTTP calls to one node; errors raised as the domain's typed errors."""

    def __init__(
        self, base_url: str, *, client: httpx.Client | None = None, timeout: float = 30.0
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._owns = client is None
        self.http = client or httpx.Client(
            base_url=self.base_url, timeout=timeout, headers={"User-Agent": USER_AGENT}
        )
        self.token: str | None = None

    def close(self) -> None:
        """Close the connection pool (when this client created it)."""
        if self._owns:
            self.http.close()

    def request(
        self,
        method: str,
        path: str,
        *,
        content: bytes | None = None,
        json_body: Any = None,
        params: dict[str, Any] | None = None,
    ) -> httpx.Response:
        """Send one request; raise the typed error of a problem response."""
        headers = {"Accept": "application/json, text/plain, application/problem+json"}
        if content is not None:
            headers["Content-Type"] = "application/json"
        if self.token is not None:
            headers["Authorization"] = f"Bearer {self.token}"
        query = {k: v for k, v in (params or {}).items() if v is not None}
        try:
            response = self.http.request(
                method, path, content=content, json=json_body, params=query, headers=headers
            )
        except httpx.HTTPError as exc:
            raise ConfigurationError(
                f"cannot reach {self.base_url}: {type(exc).__name__}: {exc}"
            ) from None
        if response.status_code >= 400:
            raise self._error(response)
        return response

    @staticmethod
    def _error(response: httpx.Response) -> BpassError:
        if response.headers.get("content-type", "").startswith(PROBLEM_JSON):
            try:
                problem = response.json()
            except ValueError:
                problem = None
            if isinstance(problem, dict):
                return error_from_problem(response.status_code, problem)
        return RemoteError(
            f"the server answered HTTP {response.status_code}", status=response.status_code
        )

    def json(self, method: str, path: str, **kwargs: Any) -> Any:
        """A request whose answer is JSON."""
        return self.request(method, path, **kwargs).json()

    def login(self, did: str, key: SigningKey) -> str:
        """Earn a bearer token for ``did`` by signing a challenge with ``key``; use it hereafter."""
        challenge = self.json("POST", "/auth/challenge", json_body={"did": did})["challenge"]
        # Sign only what is unmistakably a login challenge for this DID: a malicious server must
        # not obtain the actor's signature over anything else (a signed note, say).
        expected = f"{CHALLENGE_PREFIX};aud="
        if (
            not isinstance(challenge, str)
            or not challenge.startswith(expected)
            or f";did={did};nonce=" not in challenge
            or not challenge.isprintable()
        ):
            raise SignatureError("the server's challenge is not a login challenge; not signing it")
        signature = b64url_encode(key.sign(challenge.encode("utf-8")))
        answer = self.json(
            "POST",
            "/auth/token",
            json_body={"did": did, "challenge": challenge, "signature": signature},
        )
        self.token = str(answer["access_token"])
        return self.token


def _receipt(data: dict[str, Any]) -> translog.Receipt:
    return translog.Receipt(
        record_hash=data["recordHash"],
        leaf_index=data["leafIndex"],
        accepted_at=data["acceptedAt"],
        tree_size=data["treeSize"],
        checkpoint=data["checkpoint"],
        inclusion_proof=tuple(data["inclusionProof"]),
        existing=bool(data["existing"]),
    )


class RemoteLedger:
    """The ledger operations the CLI uses, performed through a node's HTTP API."""

    def __init__(
        self,
        base_url: str,
        *,
        client: httpx.Client | None = None,
        log_vkey: str | None = None,
        max_record_bytes: int = 256 * 1024,
        timeout: float = 30.0,
    ) -> None:
        self.api = ApiClient(base_url, client=client, timeout=timeout)
        self.log_vkey = log_vkey
        self.max_record_bytes = max_record_bytes
        self._reader_key: SigningKey | None = None

    def close(self) -> None:
        """Release the HTTP connections."""
        self.api.close()

    # -- identity and heads -----------------------------------------------------------------
    def info(self) -> LedgerInfo:
        """The remote log's origin, verifier key, operator and size."""
        data = self.api.json("GET", "/log")
        if self.log_vkey is not None and data["logVkey"] != self.log_vkey:
            raise LedgerStateError("the server's log key differs from the pinned one")
        return LedgerInfo(data["origin"], data["logVkey"], data["operatorDid"], data["size"])

    def issuer_for_key(self, key: SigningKey) -> str:
        """The actor ``key`` signs for: its registered owner, else its own did:key."""
        try:
            data = self.api.json("GET", f"/keys/{key.multikey}")
        except NotFoundError:
            return key.did
        return str(data["actorDid"])

    def chain_head(self, issuer: str) -> tuple[int, str | None]:
        """(sequence, hash) of the issuer's newest record; (0, None) before its first."""
        try:
            data = self.api.json("GET", f"/actors/{quote(issuer, safe=':')}")
        except NotFoundError:
            return 0, None
        head = data["chainHead"]
        return int(head["sequence"]), head["hash"]

    # -- building records -------------------------------------------------------------------
    @overload
    def sign_new(
        self,
        key: SigningKey,
        kind: str,
        subject: dict[str, Any],
        *,
        issuer: str | None = None,
        valid_from: str | None = None,
        confidential: Literal[False] = False,
    ) -> dict[str, Any]: ...
    @overload
    def sign_new(
        self,
        key: SigningKey,
        kind: str,
        subject: dict[str, Any],
        *,
        issuer: str | None = None,
        valid_from: str | None = None,
        confidential: Literal[True],
    ) -> Confidential: ...
    def sign_new(
        self,
        key: SigningKey,
        kind: str,
        subject: dict[str, Any],
        *,
        issuer: str | None = None,
        valid_from: str | None = None,
        confidential: bool = False,
    ) -> dict[str, Any] | Confidential:
        """A record signed locally by ``key``, continuing the issuer's chain from the server;
        with ``confidential``, the redacted record and its Disclosures (as ``Ledger.sign_new``)."""
        issuer = issuer or self.issuer_for_key(key)
        head = self.chain_head(issuer)
        return sign_next(
            key, kind, subject, issuer=issuer, head=head, valid_from=valid_from,
            confidential=confidential,
        )  # fmt: skip

    def parse(
        self, raw: bytes | str | dict[str, Any], disclosures: Sequence[str] | None = None
    ) -> ParsedRecord:
        """Append step 1 locally (size, strict JSON, schemas; on the revealed subject of a
        confidential record), before anything is sent."""
        return parse_record(raw, max_bytes=self.max_record_bytes, disclosures=disclosures)

    # -- appending --------------------------------------------------------------------------
    def append(
        self,
        raw: bytes | str | dict[str, Any] | Confidential,
        disclosures: Sequence[str] | None = None,
    ) -> translog.Receipt:
        """Append one record (its exact bytes); its receipt, verified if a log key is pinned.

        A confidential record goes with its Disclosures (``disclosures``, or together with it
        as a :class:`Confidential`) in the body ``{"record": …, "disclosures": […]}``."""
        if isinstance(raw, Confidential):
            disclosures = [*raw.disclosures, *(disclosures or ())]
            body = _record_bytes(raw.record)
        else:
            body = _record_bytes(raw)
        if disclosures is not None:
            listed = json.dumps(list(disclosures), separators=(",", ":")).encode("ascii")
            body = b'{"record":' + body + b',"disclosures":' + listed + b"}"
        data = self.api.json("POST", "/records", content=body)
        return self._checked(_receipt(data))

    def append_batch(
        self,
        raws: Sequence[bytes | str | dict[str, Any] | Confidential],
        disclosures: Sequence[Sequence[str] | None] | None = None,
    ) -> list[translog.Receipt]:
        """Append records atomically; a local or remote rejection names the item by index.

        A confidential record goes with its Disclosures (``disclosures[i]``, or together with
        it as a :class:`Confidential`) as the item ``{"record": …, "disclosures": […]}``."""
        if disclosures is not None and len(disclosures) != len(raws):
            raise ValueError("disclosures must list one entry per record")
        parts = []
        for index, raw in enumerate(raws):
            shown = list(disclosures[index] or ()) if disclosures is not None else []
            if isinstance(raw, Confidential):
                shown, raw = [*raw.disclosures, *shown], raw.record
            try:
                parsed = self.parse(raw, shown or None)
            except BpassError as exc:
                raise BatchItemError(index, exc) from exc
            if shown:
                listed = json.dumps(shown, separators=(",", ":")).encode("ascii")
                parts.append(b'{"record":' + parsed.canonical + b',"disclosures":' + listed + b"}")
            else:
                parts.append(parsed.canonical)
        body = b"[" + b",".join(parts) + b"]"
        return [
            self._checked(_receipt(d))
            for d in self.api.json("POST", "/records/batch", content=body)
        ]

    # -- queries ----------------------------------------------------------------------------
    def login(self, key: SigningKey) -> None:
        """Read hereafter as the actor ``key`` signs for (a bearer token from the node): the
        node decides every restricted read (roll-ups, trails, facilities, Disclosures) from
        that actor's ledger roles and relations; without it the client reads as the public."""
        self.api.login(self.issuer_for_key(key), key)

    def read_as(self, key: SigningKey) -> None:
        """Log in as :meth:`login` does, but only before the first restricted read that needs
        it (an import whose rows name lots): a run that reads nothing restricted, or whose key
        the node does not know yet, never logs in."""
        self._reader_key = key

    def _restricted(self) -> None:
        key = self._reader_key
        if key is not None and self.api.token is None:
            self.login(key)

    def rollup(self, lot_id: str, *, at: str | None = None, trails: bool = True) -> dict[str, Any]:
        """A lot's roll-up as the node serves it to this client's reader (JSON, camelCase;
        ``LotNotEntitledError`` for a reader it does not entitle: anonymous, say)."""
        self._restricted()
        params = {"at": at, "trails": "true" if trails else "false"}
        path = f"/lots/{quote(lot_id, safe=':')}/rollup"
        data: dict[str, Any] = self.api.json("GET", path, params=params)
        return data

    def trail(self, lot_id: str, figure: str, *, at: str | None = None) -> dict[str, Any]:
        """One figure's trail of a lot's roll-up, as the node serves it to this reader."""
        self._restricted()
        path = f"/lots/{quote(lot_id, safe=':')}/rollup/explain/{quote(figure, safe='')}"
        data: dict[str, Any] = self.api.json("GET", path, params={"at": at})
        return data

    def actor(self, did: str) -> dict[str, Any]:
        """A registered actor as the node serves it to this reader (``facilities`` null unless
        the reader is the actor, the operator or an authority)."""
        self._restricted()
        data: dict[str, Any] = self.api.json("GET", f"/actors/{did}")
        return data

    def disclosures(self, record_hash: str, key: SigningKey) -> list[str]:
        """A confidential record's Disclosures, read as the actor ``key`` signs for (the node
        serves them to the record's issuer, a Transfer's buyer, authorities and the issuer's
        disclosure grantees only)."""
        self.api.login(self.issuer_for_key(key), key)
        data = self.api.json("GET", f"/records/{record_hash}/disclosures")
        return [str(d) for d in data]

    def actors(self) -> list[dict[str, Any]]:
        """Every registered actor: did, name, country, roles, records (``GET /actors``)."""
        data = self.api.json("GET", "/actors")
        return [dict(a) for a in data]

    def _as_reader(self, key: SigningKey | None) -> None:
        """Read as the actor ``key`` signs for (logged in at the first read), else as before."""
        if key is not None:
            self.read_as(key)
        self._restricted()

    def _passport_read(
        self, passport_id: str, path: str, role: str | None, key: SigningKey | None
    ) -> dict[str, Any]:
        self._as_reader(key)
        data: dict[str, Any] = self.api.json(
            "GET", f"/passports/{quote(passport_id, safe=':')}{path}", params={"role": role}
        )
        return data

    def passport(
        self, passport_id: str, role: str | None = None, key: SigningKey | None = None
    ) -> dict[str, Any]:
        """A passport as ``role`` sees it, with its evidence (``GET /passports/{id}``); read as
        the actor ``key`` signs for, else as the public. The node decides the audience: asking
        for one the reader is not entitled to is refused (``access_not_entitled``)."""
        return self._passport_read(passport_id, "", role, key)

    def compliance(
        self, passport_id: str, role: str | None = None, key: SigningKey | None = None
    ) -> dict[str, Any]:
        """The compliance report over the partitions ``role`` may see."""
        return self._passport_read(passport_id, "/compliance", role, key)

    def bundle(
        self, passport_id: str, role: str | None = None, key: SigningKey | None = None
    ) -> dict[str, Any]:
        """The offline verification bundle of a passport as ``role`` may see it."""
        return self._passport_read(passport_id, "/bundle", role, key)

    def export(
        self,
        passport_id: str,
        key: SigningKey,
        *,
        fmt: str = "batterypass",
        performance_version: str = "1.2.1",
        supplements: Sequence[str] = (),
    ) -> dict[str, Any]:
        """The Battery Pass or Catena-X export; the node serves it to the passport's economic
        operator only (``key`` signs for it)."""
        self._as_reader(key)
        params: dict[str, Any] = {"format": fmt, "set": list(supplements) or None}
        if fmt == "batterypass":
            params["performanceVersion"] = performance_version
        data: dict[str, Any] = self.api.json(
            "GET", f"/passports/{quote(passport_id, safe=':')}/export", params=params
        )
        return data

    def record(self, record_hash: str) -> bytes:
        """A stored record's canonical bytes, exactly as the server holds them."""
        return self.api.request("GET", f"/records/{record_hash}").content

    def has_record(self, record_hash: str) -> bool:
        """Whether the node holds the record with this hash."""
        try:
            self.api.request("GET", f"/records/{record_hash}")
        except NotFoundError:
            return False
        return True

    def lot_record(self, lot_id: str) -> str | None:
        """The hash of the record that created lot ``lot_id``; None if the node has no such lot
        or, for a logged-in reader, none it may read.

        The API has no lot lookup of its own: the lot's roll-up (without trails) is the closest
        endpoint that names the lot's creating record, at the cost of computing it. Roll-ups go
        to the lot's creator, holders, downstream actors and authorities, and the node answers
        alike for a lot the reader may not read and one that does not exist (no existence
        oracle): to a logged-in reader both are None, a lot it could not sign about anyway. An
        anonymous reader gets ``LotNotEntitledError``: :meth:`login` or :meth:`read_as` first."""
        self._restricted()
        try:
            data = self.api.json(
                "GET", f"/lots/{quote(lot_id, safe=':')}/rollup", params={"trails": "false"}
            )
        except NotFoundError:
            return None
        except LotNotEntitledError:
            if self.api.token is None:
                raise
            return None
        return str(data["record"])

    def receipt(self, record_hash: str, size: int | None = None) -> translog.Receipt:
        """The receipt of a stored record against the latest checkpoint (or the one at ``size``)."""
        data = self.api.json("GET", f"/log/inclusion/{record_hash}", params={"size": size})
        return self._checked(_receipt(data))

    def checkpoint(self, size: int | None = None) -> str:
        """The signed checkpoint note (latest, or at ``size``)."""
        note = self.api.request("GET", "/log/checkpoint", params={"size": size}).text
        if self.log_vkey is not None:
            open_checkpoint(note, [self.log_vkey])
        return note

    def consistency(self, old_size: int, new_size: int | None = None) -> dict[str, Any]:
        """A consistency proof between two tree sizes (new defaults to the latest)."""
        data: dict[str, Any] = self.api.json(
            "GET", "/log/consistency", params={"old": old_size, "new": new_size}
        )
        return data

    def _checked(self, receipt: translog.Receipt) -> translog.Receipt:
        if self.log_vkey is not None:
            translog.verify_receipt(receipt.to_dict(), self.log_vkey)
        return receipt
