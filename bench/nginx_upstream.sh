#!/usr/bin/env bash
# Starts nginx as the benchmark's TLS upstream on loopback: one server for login.microsoftonline.com
# and management.azure.com, a test PKI made with openssl, `return 200` bodies sized like the Entra mix
# (2.5 KB token JSON, 1 KB ARM JSON), keep-alive on. Runs under its own prefix and pid file.
# Usage: bench/nginx_upstream.sh start DIR PORT   (writes DIR/ca.pem, DIR/nginx.pid)
#        bench/nginx_upstream.sh stop DIR
set -euo pipefail
cmd=$1 dir=$2

if [ "$cmd" = stop ]; then
  if [ -s "$dir/nginx.pid" ]; then
    pid=$(cat "$dir/nginx.pid")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  fi
  exit 0
fi

port=$3
mkdir -p "$dir/logs" "$dir/tmp"
if [ ! -s "$dir/ca.pem" ]; then
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
    -subj "/CN=authscope bench upstream CA" -keyout "$dir/ca.key" -out "$dir/ca.pem" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=login.microsoftonline.com" \
    -keyout "$dir/leaf.key" -out "$dir/leaf.csr" 2>/dev/null
  printf 'subjectAltName=DNS:login.microsoftonline.com,DNS:management.azure.com\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' > "$dir/leaf.ext"
  openssl x509 -req -in "$dir/leaf.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" -CAcreateserial \
    -days 30 -extfile "$dir/leaf.ext" -out "$dir/leaf.pem" 2>/dev/null
fi

# Bodies: no single quotes or '$' (nginx would read them as variables).
token_body=$(python3 - <<'PY'
import json
d = {"token_type": "Bearer", "scope": "https://management.azure.com/user_impersonation https://management.azure.com/.default",
     "expires_in": 4675, "ext_expires_in": 4675, "access_token": "", "refresh_token": "", "id_token": "",
     "client_info": "eyJ1aWQiOiJiZW5jaCIsInV0aWQiOiI3MmY5ODhiZiJ9"}
d["access_token"] = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJodHRwczovL21hbmFnZW1lbnQuYXp1cmUuY29tLyJ9." + "A" * 1000
d["id_token"] = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.eyJhdWQiOiIwNGIwNzc5NSJ9." + "B" * 400
base = len(json.dumps(d, separators=(",", ":")))
d["refresh_token"] = "0.AR" + "C" * (2500 - base - 4)
print(json.dumps(d, separators=(",", ":")))
PY
)
arm_body=$(python3 - <<'PY'
import json
items = []
i = 0
while True:
    items.append({"id": "/subscriptions/0b1f6471-1bf0-4dda-aec3-cb9272f09590/resourceGroups/rg-bench-%d" % i,
                  "name": "rg-bench-%d" % i, "type": "Microsoft.Resources/resourceGroups", "location": "westeurope",
                  "properties": {"provisioningState": "Succeeded"}})
    if len(json.dumps({"value": items}, separators=(",", ":"))) > 1024 - 200: break
    i += 1
s = json.dumps({"value": items}, separators=(",", ":"))
print(s[:-2] + "]" + "," + '"pad":"' + "p" * (1024 - len(s) - 9) + '"}')
PY
)

cat > "$dir/nginx.conf" <<CONF
worker_processes 1;
pid $dir/nginx.pid;
error_log $dir/logs/error.log warn;
daemon on;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $dir/tmp;
  proxy_temp_path $dir/tmp;
  fastcgi_temp_path $dir/tmp;
  uwsgi_temp_path $dir/tmp;
  scgi_temp_path $dir/tmp;
  keepalive_timeout 120s;
  keepalive_requests 1000000;
  server {
    listen 127.0.0.1:$port ssl;
    server_name login.microsoftonline.com management.azure.com;
    ssl_certificate $dir/leaf.pem;
    ssl_certificate_key $dir/leaf.key;
    ssl_session_cache shared:bench:10m;
    default_type application/json;
    client_body_buffer_size 16k;
    location ~ ^/[^/]+/oauth2/v2.0/token\$ { return 200 '$token_body'; }
    location /subscriptions/ { return 200 '$arm_body'; }
    location / { return 404; }
  }
}
CONF
nginx -p "$dir" -c "$dir/nginx.conf" -e "$dir/logs/error.log"
for _ in $(seq 50); do [ -s "$dir/nginx.pid" ] && break; sleep 0.1; done
[ -s "$dir/nginx.pid" ] || { echo "nginx did not start: $(cat "$dir/logs/error.log")" >&2; exit 1; }
# The pid file comes before the worker accepts: wait until a TLS handshake succeeds.
for _ in $(seq 100); do
  openssl s_client -connect "127.0.0.1:$port" -servername login.microsoftonline.com -CAfile "$dir/ca.pem" \
    -verify_return_error </dev/null >/dev/null 2>&1 && exit 0
  sleep 0.1
done
echo "nginx on 127.0.0.1:$port does not complete a TLS handshake" >&2
exit 1
