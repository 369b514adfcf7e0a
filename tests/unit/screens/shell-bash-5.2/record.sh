#!/usr/bin/env bash
# Records the shell-bash-5.2 screens: plain bash (no rc files) in tmux 3.3a, pane 120x30.
# Same file layout as the agent folders: NAME.ans (capture-pane -p -e -J), NAME.txt (-p -J),
# NAME.meta; 06b is captured without -J (the terminal-wrapped row stays split).
set -euo pipefail
cd "$(dirname "$0")"
S="tmux -L bridge-shell-rec"
$S kill-server 2>/dev/null || true
$S -f /dev/null new-session -d -s r -x 120 -y 30 -c /tmp "env -i TERM=xterm-256color HOME=/tmp bash --norc --noprofile"
sleep 0.5
snap() {
  J=-J; [ "${2:-}" = nojoin ] && J=
  $S capture-pane -p -e $J -t r > "$1.ans"
  $S capture-pane -p $J -t r > "$1.txt"
  $S display -p -t r '#{pane_width}x#{pane_height} cursor=#{cursor_x},#{cursor_y} alt=#{alternate_on} hist=#{history_size}' > "$1.meta"
  if [ "${2:-}" = hist ]; then
    $S capture-pane -p -e -J -S -300 -t r > "$1.hist.ans"
    $S capture-pane -p -J -S -300 -t r > "$1.hist.txt"
  fi
}
keys() { $S send-keys -t r "$@"; sleep 0.6; }
keys 'clear' Enter
snap 01-idle-at-start
keys -l 'echo hello from the bridge'
snap 02-typed-not-submitted
keys Enter
snap 04-reply-done-short
keys -l 'sleep 30' ; keys Enter
snap 03-busy
keys C-c
keys -l 'echo working; sleep 30'; keys Enter
snap 03b-busy-with-output
keys C-c
keys 'clear' Enter
keys -l "for i in \$(seq 1 30); do printf '%02d. mock line %d of 30 - the quick brown fox jumps over the lazy dog\\n' \$i \$i; done; echo MOCK-END"
keys Enter
snap 05-reply-done-multiline hist
keys -l "printf 'long:%.0s0123456789' {1..15}; echo"; keys Enter
snap 06-reply-done-wrapped-long-line
snap 06b-reply-done-wrapped-not-joined nojoin
keys -l "PS1='\\u@\\h:\\w\\\$ '"; keys Enter
keys 'clear' Enter
keys -l 'echo MOCK-REPLY: user at host prompt'; keys Enter
snap 07-reply-done-user-host-prompt
$S kill-server
