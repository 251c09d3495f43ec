# Sourced by the bench scripts that need loopback sshd hosts; not a bench itself.
# The caller sets $tmp (a scratch directory it removes) before sourcing.
#
#   start_hosts ARGS...  starts internal/testhosts/serve with ARGS, waits for it
#                        to be ready, and sets $serve_pid and $cfg (its ssh_config);
#                        its report stays in $tmp/hosts.out.
#   stop_hosts           stops them (safe to call twice; the EXIT trap calls it).

serve_pid=
stop_hosts() {
	if [[ -n "$serve_pid" ]]; then
		kill "$serve_pid" 2>/dev/null || true
		wait "$serve_pid" 2>/dev/null || true
		serve_pid=
	fi
}
trap 'stop_hosts; rm -rf "$tmp"' EXIT

start_hosts() {
	[[ -x "$tmp/serve" ]] || go build -o "$tmp/serve" ./internal/testhosts/serve
	"$tmp/serve" "$@" >"$tmp/hosts.out" 2>"$tmp/hosts.err" &
	serve_pid=$!
	for _ in $(seq 600); do
		grep -q '^ready' "$tmp/hosts.out" 2>/dev/null && break
		kill -0 "$serve_pid" 2>/dev/null || break
		sleep 0.1
	done
	grep -q '^ready' "$tmp/hosts.out" || { cat "$tmp/hosts.err" >&2; exit 1; }
	cfg=$(sed -n 's/^ssh_config=//p' "$tmp/hosts.out")
}
