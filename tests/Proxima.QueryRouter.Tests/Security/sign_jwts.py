"""Signs JWTs with PyJWT (Debian's python3-jwt): an independent signer for the router's validator.

argv[1]: a JSON file [{"alg": "RS256"|"ES256", "kid": str|null, "key": PEM private key, "claims": {...}}].
Prints one compact token per line, in order.
"""
import json
import sys

import jwt

with open(sys.argv[1]) as f:
    requests = json.load(f)
for r in requests:
    headers = {"kid": r["kid"]} if r.get("kid") else None
    print(jwt.encode(r["claims"], r["key"], algorithm=r["alg"], headers=headers))
