# dkgd image: helpers shared by the first-boot, status-mirror and LED scripts (POSIX sh).
# Installed by image/build from image/files/; see image/README.md.
# shellcheck shell=sh

BOOTDIR=/boot/firmware/dkgd
RUNDIR=/run/dkgd-image

# json_str JSON KEY: the first "KEY":"value" string in a compact JSON document.
json_str() {
  printf '%s' "$1" | grep -o "\"$2\":\"[^\"]*\"" | head -n 1 | cut -d'"' -f4
}
# json_num JSON KEY: the first "KEY":number.
json_num() {
  printf '%s' "$1" | grep -o "\"$2\":[0-9.]*" | head -n 1 | cut -d: -f2
}
# json_obj JSON KEY: the first "KEY":{…} object without nested objects.
json_obj() {
  printf '%s' "$1" | grep -o "\"$2\":{[^{}]*}" | head -n 1
}

# json_invite JSON: the "invite" object's fields up to its request counters (the only
# nested object in it), or nothing when no pairing code is being resolved.
json_invite() {
  printf '%s' "$1" | grep -o '"invite":{.*"requests":' | head -n 1
}
# json_top JSON: the document without its "invite" object, so that json_str finds the
# daemon's own fields (last_error) rather than the invite's.
json_top() {
  printf '%s' "$1" | sed 's/"invite":{.*"requests":{[^}]*}}/"invite":{}/'
}

# dkgd_json: GET /status as one compact line (indentation dropped, `": "` -> `":`), or
# nothing (daemon not answering).
dkgd_json() {
  timeout 10 dkgd status --json 2>/dev/null | sed 's/^[[:space:]]*//; s/":[[:space:]]*/":/' |
    tr -d '\n'
}

# image_state [JSON]: the state word. The daemon's own state when it answers; otherwise
# what systemd knows: waiting-for-clock (dkgd-clock.service still waiting), service-failed,
# or starting.
image_state() {
  if [ -n "$1" ]; then
    s=$(json_str "$1" state)
    [ -n "$s" ] && { echo "$s"; return; }
  fi
  if [ "$(systemctl show -p ActiveState --value dkgd.service 2>/dev/null)" = failed ]; then
    echo service-failed
  elif [ "$(systemctl show -p ActiveState --value dkgd-clock.service 2>/dev/null)" = activating ]; then
    echo waiting-for-clock
  else
    echo starting
  fi
}

# state_class STATE: what the LED shows (booting, ready, pairing, running, done, failed).
state_class() {
  case $1 in
    awaiting-definition) echo ready ;;
    *pairing* | fetching-definition | awaiting-signatures) echo pairing ;;
    awaiting-peers | ceremony) echo running ;;
    complete) echo done ;;
    failed | key-locked | service-failed) echo failed ;;
    *) echo booting ;;
  esac
}

# state_meaning STATE: one line for the owner.
state_meaning() {
  case $1 in
    starting) echo "starting up" ;;
    first-boot) echo "starting up: creating this box's identity key" ;;
    waiting-for-clock) echo "waiting for the clock: the box has no battery clock and needs network time; connect Ethernet with Internet access (NTP, UDP port 123)" ;;
    awaiting-definition) echo "ready: waiting for a cluster definition (put this box's ENR, enr.txt, into the launchpad)" ;;
    awaiting-pairing) echo "pairing: looking for this operator's cluster invite in the Obol API (see 'invite' below)" ;;
    fetching-definition) echo "pairing: fetching and checking the cluster invite of the pairing code (see 'invite' below)" ;;
    awaiting-signatures) echo "pairing: waiting for every operator to accept the invite in the launchpad (see 'to do' below)" ;;
    awaiting-peers) echo "running: waiting for the other operators' boxes to connect" ;;
    ceremony) echo "running: the key generation ceremony is in progress; keep the box powered" ;;
    complete) echo "done: the cluster's keys are created; back them up (see README.txt)" ;;
    failed) echo "failed: the last ceremony attempt failed; it is retried automatically (see last error)" ;;
    key-locked) echo "failed: another program holds this box's identity key" ;;
    service-failed) echo "failed: the dkgd service stopped (a bad dkgd.toml? see 'service' below); fix it and restart the box" ;;
    *) echo "$1" ;;
  esac
}

# write_if_changed FILE TEXT: writes TEXT (plus a newline) to FILE through a temporary file
# in the same directory, only when it differs (SD cards wear; vfat has no atomic rename
# guarantee, but a reader sees either the old or the new file).
write_if_changed() {
  if [ -f "$1" ] && [ "$(cat "$1" 2>/dev/null)" = "$2" ]; then return 1; fi
  printf '%s\n' "$2" >"$1.tmp" && mv -f "$1.tmp" "$1"
}
