# Shared by the bench scripts. start_arsd needs $work (a scratch
# directory) set and arsd_pid= (cleared by the caller's cleanup).

# wait_file FILE PID LOG WHAT: waits up to 60 s for FILE to exist and not be
# empty while process PID runs. Returns 1, after printing LOG (and, on
# timeout, "WHAT did not start"), if PID exits first or FILE never comes.
wait_file() {
  for _ in $(seq 1 600); do
    [ -s "$1" ] && return 0
    if ! kill -0 "$2" 2>/dev/null; then cat "$3" >&2; return 1; fi
    sleep 0.1
  done
  [ -s "$1" ] && return 0
  echo "$4 did not start" >&2
  cat "$3" >&2
  return 1
}

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
