"""`bpass keys …` and `bpass credential …`: keys, DIDs, signing and verifying credentials."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from cli.common import EXIT_REJECTED, fail, handle_errors, read_json_file, write_output
from signing.errors import BpassError

keys_app = typer.Typer(help="Ed25519 keys and their DIDs.", no_args_is_help=True)
credential_app = typer.Typer(
    help="Sign and verify eddsa-jcs-2022 credentials.", no_args_is_help=True
)


@keys_app.command("new")
@handle_errors
def keys_new(
    out: Annotated[
        Path, typer.Option("--out", help="Where to write the private key (PKCS#8 PEM, mode 0600).")
    ],
) -> None:
    """Create a new Ed25519 key; print its DID. Set BPASS_KEY_PASSPHRASE to encrypt the file."""
    from passport.ledger.keystore import save_key
    from signing.keys import SigningKey

    key = SigningKey.generate()
    save_key(key, out)
    typer.echo(key.did)


@keys_app.command("did")
@handle_errors
def keys_did(
    keyfile: Path,
    multikey: Annotated[
        bool, typer.Option("--multikey", help="Print the Multikey instead.")
    ] = False,
) -> None:
    """Print the did:key (or the Multikey) of a private key file."""
    from passport.ledger.keystore import load_key

    key = load_key(keyfile)
    typer.echo(key.multikey if multikey else key.did)


@credential_app.command("sign")
@handle_errors
def credential_sign(
    infile: Path,
    key: Annotated[Path, typer.Option("--key", help="Private key file of the issuer.")],
    out: Annotated[Path | None, typer.Option("--out", help="Output file (default stdout).")] = None,
) -> None:
    """Add an eddsa-jcs-2022 Data Integrity proof to a JSON credential.

    The issuer is set to the key's did:key if the credential has none.
    """
    from passport.ledger.keystore import load_key
    from passport.timefmt import format_ts, now
    from signing.proofs import create_proof

    doc = read_json_file(infile)
    if not isinstance(doc, dict):
        fail(f"{infile} must hold a JSON object", 2)
    signing_key = load_key(key)
    doc.setdefault("issuer", signing_key.did)
    signed = create_proof(
        doc, signing_key, signing_key.verification_method, created=format_ts(now(), micro=False)
    )
    write_output(json.dumps(signed, indent=2, ensure_ascii=False), out)


@credential_app.command("verify")
def credential_verify(
    infile: Path,
    issuer_binding: Annotated[
        bool,
        typer.Option(
            "--issuer-binding/--no-issuer-binding",
            help="Also require the signing key's DID to be the credential's issuer, as the "
            "ledger does (VC Data Model 2.0 §4.7); off: the proof alone (vc-di-eddsa §3.3.2).",
        ),
    ] = True,
) -> None:
    """Verify a credential's proof: exit 0 "valid", 1 with the reason, 2 on unusable input."""
    from signing.proofs import verify_proof

    doc = read_json_file(infile)
    if not isinstance(doc, dict):
        fail(f"{infile} must hold a JSON object", 2)
    try:
        result = verify_proof(doc, check_issuer=issuer_binding)
    except BpassError as exc:
        reason = exc.details.get("reason", exc.code)
        message = exc.message
        if reason == "controller":
            # Say what differs, and that the proof itself was not judged: the binding is the
            # ledger's rule on top of the cryptosuite's checks.
            message += (
                f" (issuer {exc.details.get('issuer')!r}, verification method "
                f"{exc.details.get('verification_method')!r}); the proof itself was not "
                "checked: --no-issuer-binding checks the proof alone"
            )
        typer.echo(f"invalid: {reason}: {message}")
        raise typer.Exit(EXIT_REJECTED) from None
    binding = "" if issuer_binding else "; issuer binding not checked"
    typer.echo(f"valid (signed by {result.verification_method}{binding})")
