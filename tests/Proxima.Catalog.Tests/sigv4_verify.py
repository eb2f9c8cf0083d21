#!/usr/bin/python3
"""Independent AWS SigV4 verifier for tests (AWS docs: "Create a signed AWS API request").
Reads JSON on stdin: method, path (encoded, with leading /), query, headers (dict), body_b64,
secret_key, region, service. Prints "OK" or "MISMATCH expected=... got=..."."""
import base64, hashlib, hmac, json, sys, urllib.parse

def enc(s):
    return urllib.parse.quote(s, safe='-_.~')

r = json.load(sys.stdin)
headers = {k.lower(): v for k, v in r['headers'].items()}
auth = headers['authorization']
algo, rest = auth.split(' ', 1)
assert algo == 'AWS4-HMAC-SHA256', algo
parts = dict(p.strip().split('=', 1) for p in rest.split(','))
cred = parts['Credential'].split('/')
signed = parts['SignedHeaders'].split(';')
access, date, region, service, term = cred
assert region == r['region'] and service == r['service'] and term == 'aws4_request', cred
for required in ('host', 'x-amz-date'):
    assert required in signed, f'{required} not signed'
body = base64.b64decode(r['body_b64'])
payload_hash = hashlib.sha256(body).hexdigest()
if 'x-amz-content-sha256' in headers:
    assert headers['x-amz-content-sha256'] == payload_hash, 'content hash header mismatch'
path = r['path'] or '/'
canon_path = '/'.join(enc(seg) for seg in path.split('/'))  # non-S3: encode the already-encoded path again
q = urllib.parse.parse_qsl(r['query'].lstrip('?'), keep_blank_values=True)
canon_query = '&'.join(f'{enc(k)}={enc(v)}' for k, v in sorted(q))
canon_headers = ''.join(f'{h}:{" ".join(headers[h].strip().split())}\n' for h in signed)
canonical = '\n'.join([r['method'], canon_path, canon_query, canon_headers, ';'.join(signed), payload_hash])
amz_date = headers['x-amz-date']
assert amz_date[:8] == date
scope = f'{date}/{region}/{service}/aws4_request'
sts = '\n'.join(['AWS4-HMAC-SHA256', amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()])
def h(k, m): return hmac.new(k, m.encode(), hashlib.sha256).digest()
k = h(h(h(h(('AWS4' + r['secret_key']).encode(), date), region), service), 'aws4_request')
sig = hmac.new(k, sts.encode(), hashlib.sha256).hexdigest()
print('OK' if sig == parts['Signature'] else f'MISMATCH expected={sig} got={parts["Signature"]}\n{canonical}')
