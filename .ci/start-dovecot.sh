#!/usr/bin/env bash
# Installs Dovecot's IMAP server from Debian's packages (if missing) and starts a
# throw-away instance as the non-root user "unisupport-imap" on 127.0.0.1:${IMAP_PORT:-10143},
# with a passdb of test users (support, bench) and maildirs in a temporary folder.
# Prints the IMAP URL of the "support" user's INBOX on its last line.
set -euo pipefail
port="${IMAP_PORT:-10143}"
if [ ! -x /usr/sbin/dovecot ] || [ ! -e /usr/lib/dovecot/imap ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq dovecot-imapd >&2
fi
user=unisupport-imap
id "$user" >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin "$user"
group="$(id -gn "$user")"
dir="$(mktemp -d /tmp/unisupport-imap.XXXXXX)"
mkdir -p "$dir/run" "$dir/state" "$dir/mail"
cat >"$dir/users" <<USERS
support:{PLAIN}support-password::::::
bench:{PLAIN}bench-password::::::
USERS
cat >"$dir/dovecot.conf" <<CONF
# Throw-away test instance: loopback only, no TLS, plain passwords, run by $user.
base_dir = $dir/run
state_dir = $dir/state
log_path = $dir/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
default_internal_user = $user
default_internal_group = $group
default_login_user = $user
mail_location = maildir:$dir/mail/%u
mail_privileged_group =
first_valid_uid = 0
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u $dir/users
}
userdb {
  driver = static
  args = uid=$user gid=$group home=$dir/mail/%u
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = $port
  }
  inet_listener imaps {
    port = 0
  }
  chroot =
}
service anvil {
  chroot =
}
service imap {
  process_limit = 64
}
CONF
chown -R "$user:$group" "$dir"
runuser -u "$user" -- /usr/sbin/dovecot -c "$dir/dovecot.conf" >&2
for _ in $(seq 1 50); do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    echo "dovecot: $dir (log $dir/dovecot.log; stop: runuser -u $user -- /usr/sbin/dovecot -c $dir/dovecot.conf stop)" >&2
    echo "imap://support:support-password@127.0.0.1:$port/INBOX"
    exit 0
  fi
  sleep 0.1
done
echo "dovecot did not start on 127.0.0.1:$port; its log:" >&2
cat "$dir/dovecot.log" >&2 || true
exit 1
