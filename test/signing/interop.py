"""An independent implementation for test/signing/interop.test.ts: securesystemslib's DSSE Envelope and its
Ed25519 signer and verifier (pyca/cryptography), with the artifact's content digest computed here from the zip.

  interop.py verify <artifact.zip> <public.pem> <keyid> [<signatures.jsonl>]
      verifies every envelope with the key, checks the statement's subject against the digest computed here;
      prints {"verified": [...keyids], "subject": ..., "digest": ...}; exits 1 when any check fails
  interop.py sign <artifact.zip> <out.jsonl> <out-public.pem>
      signs an in-toto statement about the artifact with a fresh Ed25519 key; prints {"keyid": ...}
"""

import hashlib
import json
import sys
import zipfile

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from securesystemslib.dsse import Envelope
from securesystemslib.signer import CryptoSigner, SSlibKey

METADATA = {".omaf/provenance.json", ".omaf/signature.intoto.jsonl"}
PAYLOAD_TYPE = "application/vnd.in-toto+json"


def content_digest(zip_path):
    """spec/provenance.md: one line per file, sorted by the UTF-8 bytes of its path, hashed together."""
    with zipfile.ZipFile(zip_path) as z:
        files = []
        for info in z.infolist():
            if info.is_dir() or info.filename in METADATA:
                continue
            data = z.read(info)
            files.append((info.filename.encode("utf-8"), hashlib.sha256(data).hexdigest(), len(data)))
    files.sort()
    text = "".join(f"{sha}  {size}  {name.decode('utf-8')}\n" for name, sha, size in files)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def verify(zip_path, public_pem, keyid, signatures=None):
    public_key = serialization.load_pem_public_key(open(public_pem, "rb").read())
    key = SSlibKey.from_crypto(public_key, keyid=keyid)
    if signatures:
        text = open(signatures, encoding="utf-8").read()
    else:
        with zipfile.ZipFile(zip_path) as z:
            text = z.read(".omaf/signature.intoto.jsonl").decode("utf-8")
    digest = content_digest(zip_path)
    verified = []
    subject = None
    for line in filter(str.strip, text.splitlines()):
        envelope = Envelope.from_dict(json.loads(line))
        if envelope.payload_type != PAYLOAD_TYPE:
            raise SystemExit(f"payload type {envelope.payload_type}")
        verified += list(envelope.verify([key], 1))  # raises VerificationError when no signature verifies
        statement = json.loads(envelope.payload)
        if statement["_type"] != "https://in-toto.io/Statement/v1":
            raise SystemExit(f"_type {statement['_type']}")
        subject = statement["subject"][0]
        if subject["digest"]["sha256"] != digest:
            raise SystemExit(f"subject digest {subject['digest']['sha256']} is not the content digest {digest}")
    print(json.dumps({"verified": verified, "subject": subject, "digest": digest}))


def sign(zip_path, out_jsonl, out_public):
    with zipfile.ZipFile(zip_path) as z:
        provenance = json.loads(z.read(".omaf/provenance.json"))
    private_key = Ed25519PrivateKey.generate()
    signer = CryptoSigner(private_key)
    predicate = {k: provenance[k] for k in ("packer", "toolchain", "model", "files") if k in provenance}
    statement = {
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{"name": provenance["model"]["name"], "digest": {"sha256": content_digest(zip_path)}}],
        "predicateType": "https://omaf.dev/provenance/v1",
        "predicate": predicate,
    }
    envelope = Envelope(json.dumps(statement, indent=1).encode("utf-8"), PAYLOAD_TYPE, {})
    envelope.sign(signer)
    with open(out_jsonl, "w", encoding="utf-8") as f:
        f.write(json.dumps(envelope.to_dict()) + "\n")
    with open(out_public, "wb") as f:
        f.write(
            private_key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        )
    print(json.dumps({"keyid": signer.public_key.keyid}))


if __name__ == "__main__":
    command, *args = sys.argv[1:]
    {"verify": verify, "sign": sign}[command](*args)
