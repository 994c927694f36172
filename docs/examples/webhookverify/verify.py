import hashlib
import hmac
import time

TOLERANCE = 300  # seconds


def verify(secret: bytes, headers, body: bytes, now=None) -> None:
    """Raise ValueError unless the delivery is signed by orgguard and fresh.

    headers: a case-insensitive mapping (e.g. Flask's request.headers);
    body: the raw request body, before any JSON decoding.
    """
    ts = headers.get("X-Orgguard-Timestamp", "")
    if not ts.isdigit():
        raise ValueError("missing or malformed X-Orgguard-Timestamp")
    now = time.time() if now is None else now
    if abs(now - int(ts)) > TOLERANCE:
        raise ValueError("timestamp outside tolerance: replayed or delayed delivery")
    mac = hmac.new(secret, ts.encode() + b"." + body, hashlib.sha256)
    want = "v1=" + mac.hexdigest()
    if not hmac.compare_digest(headers.get("X-Orgguard-Signature", ""), want):
        raise ValueError("signature mismatch")
