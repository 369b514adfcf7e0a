# Recorded in tmux 3.3a: tmux -f /dev/null new-session -d -x 80 -y 12 \
#   "env -i PS1='$ ' TERM=xterm-256color bash --norc --noprofile"; send-keys 'clear; bash edge.sh' Enter;
#   then capture-pane -p -e (01) / -p -e -J (02) into NAME.ans, the same without -e into NAME.txt.
# Each line ends with a marker printed at a fixed column (CHA): the capture pads with spaces,
# so the golden .txt fixes how many cells tmux gave each character.
printf 'wide: \xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e\e[30G|end\n'
printf 'emoji: \xf0\x9f\x98\x80\e[30G|x \xe2\x9a\xa0\xef\xb8\x8f\e[45G|y\n'
printf 'zwj: \xf0\x9f\x91\xa8\xe2\x80\x8d\xf0\x9f\x91\xa9\e[30G|z zwsp: a\xe2\x80\x8bb\e[50G|w\n'
printf 'combining: e\xcc\x81\e[30G|v\n'
printf '\e[4:3mcurly\e[4:0m plain \e[58;5;196mulcol\e[59m plain \e[58:2::255:0:0mul2\e[59m\e[45G|u\n'
printf '\e[2mdim\e[22m \e[1mbold\e[22m \e[38:2::255:0:0mrgb\e[39m \e[38;5;153mc153\e[39m \e[7mrev\e[27m \e[3mit\e[23m \e[1;2mbd\e[0m\e[45G|t\n'
printf '\e[31mred\e[39m \e[92mbgreen\e[39m \e[48;2;1;2;3mbgrgb\e[49m \e[4munder\e[24m\e[45G|s\n'
printf 'wide at edge: 0123456789012345678901234567890123456789012345678901234567890123456789012345678\xe6\x97\xa5|r\n'
