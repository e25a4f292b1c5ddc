# Shared by the bench scripts; source it after setting $work (a scratch
# directory) and arsd_pid= (cleared by the caller's cleanup).

# start_arsd DATABASE: starts $work/arsd on a free loopback port with
# DATABASE, logging to $work/arsd.log; sets $arsd_pid and $url (arsd's
# base URL). Returns 1, after printing the log, if arsd does not start.
start_arsd() {
  "$work/arsd" --listen 127.0.0.1:0 --database "$1" --log-level warn --access-token-ttl 1h \
    >"$work/arsd.log" 2>&1 &
  arsd_pid=$!
  url=
  for _ in $(seq 1 300); do
    url=$(sed -n 's/^arsd listening on \(http:[^ ]*\).*/\1/p' "$work/arsd.log" | head -1)
    [ -n "$url" ] && break
    if ! kill -0 "$arsd_pid" 2>/dev/null; then cat "$work/arsd.log" >&2; return 1; fi
    sleep 0.1
  done
  [ -n "$url" ] || { echo "arsd did not start" >&2; cat "$work/arsd.log" >&2; return 1; }
}
