#!/bin/bash
# The data plane's big-endian branches, checked on this little-endian machine:
#  - the whole-word key helpers (tn_w16/32/64 and the keys built from them)
#    give the structs' bytes for both byte orders: clang folds
#    helpers/key_words.bpf.c to a constant mask, read from the object's code;
#  - the same check with the byte order misdeclared gives another mask (the
#    check can fail);
#  - every program of bpf/ compiles for bpfeb with the build's warnings as
#    errors.
# shellcheck shell=bash
set -u
. "$(dirname "$0")/../lib.sh"

T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
ARCH_INC=/usr/include/$(uname -m)-linux-gnu
SRC="$TN_ROOT/tests/integration/helpers/key_words.bpf.c"

# words_mask TARGET [CFLAGS...]: the constant key_words_ok() returns there
words_mask() {
	local target=$1
	shift
	clang -O2 -target "$target" -Wall -Werror "$@" -I"$ARCH_INC" -I"$TN_ROOT/headers" \
		-c "$SRC" -o "$T/kw.o" || return 1
	llvm-objdump -d --no-show-raw-insn "$T/kw.o" |
		awk '/<key_words_ok>:/ { f = 1; next } f && NF { print }' >"$T/kw.s"
	# folded: exactly "r0 = N" then "exit"
	if [ "$(wc -l <"$T/kw.s")" -ne 2 ] || ! grep -q 'exit' "$T/kw.s"; then
		echo "not folded:" >&2
		cat "$T/kw.s" >&2
		echo "?"
		return 0
	fi
	sed -n 's/.*r0 = \([0-9]*\).*/\1/p' "$T/kw.s"
}

check_eq "key words are the structs' bytes, little-endian (bpfel)" 31 "$(words_mask bpfel)"
check_eq "key words are the structs' bytes, big-endian (bpfeb)" 31 "$(words_mask bpfeb)"
wrong=$(words_mask bpfeb -U__BYTE_ORDER__ -D__BYTE_ORDER__=__ORDER_LITTLE_ENDIAN__)
check "the check fails when the byte order is misdeclared (mask $wrong, not 31)" \
	test -n "$wrong" -a "$wrong" != 31 -a "$wrong" != "?"

n=0 bad=()
for f in "$TN_ROOT"/bpf/*.bpf.c; do
	n=$((n + 1))
	clang -g -O2 -target bpfeb -D__BPF__ -Wall -Wextra -Werror -Wno-unused-parameter \
		-I"$ARCH_INC" -I"$TN_ROOT/headers" -c "$f" -o "$T/eb.o" 2>"$T/eb.err" ||
		{ bad+=("$(basename "$f")"); sed 's/^/# /' "$T/eb.err" | head -20; }
done
check "the $n programs of bpf/ compile big-endian (failed: ${bad[*]:-none})" test "$n" -gt 0 -a "${#bad[@]}" -eq 0
# EI_DATA, the ELF header's byte 5: 2 is big-endian
check_eq "and the last object is big-endian (ELF EI_DATA)" 2 "$(od -An -tu1 -j5 -N1 "$T/eb.o" 2>/dev/null | tr -d ' ')"
tap_done
