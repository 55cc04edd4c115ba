#!/bin/sh
# Starts memcached (tempauth and s3api keep tokens there), the account, container and object
# servers, then the proxy in the foreground. S3_ACCESS_KEY is tempauth's account:user (the S3
# access key id), S3_SECRET_KEY its key (the S3 secret).
set -eu
: "${S3_ACCESS_KEY:?set S3_ACCESS_KEY (account:user)}"
: "${S3_SECRET_KEY:?set S3_SECRET_KEY}"
account="${S3_ACCESS_KEY%%:*}"
user="${S3_ACCESS_KEY#*:}"
conf=/var/run/swift/proxy-server.conf
sed -e "s|^user_ACCOUNT_USER = .*|user_${account}_${user} = ${S3_SECRET_KEY} .admin|" \
  /etc/swift/proxy-server.conf > "$conf"
memcached -l 127.0.0.1 -p 11211 -m 64 &
for server in account container object; do
  "swift-$server-server" "/etc/swift/$server-server.conf" -v &
done
exec swift-proxy-server "$conf" -v
