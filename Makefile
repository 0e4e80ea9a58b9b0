# Tenace build. Generated files go to build/ only.
#   make          build/tenace (+ tenace-pktgen, tenace-bench), the BPF objects and their skeletons
#   make deps     install the Debian packages the build and tests need
#   make test     deps (when missing) + build + every test, ends "N passed, N failed"
#   make bench    benchmarks -> build/bench.json, a table on stdout, docs/bench.png
#   make demo     the demo (namespaces, real servers, real traffic)
#   make demo-fleet  three balancers behind a BGP router doing ECMP (BIRD)
#   make install  PREFIX=/usr/local DESTDIR=

.DELETE_ON_ERROR:
# keep generated skeletons and objects (they are not final targets)
.SECONDARY:
.SUFFIXES:

CC       ?= gcc
CLANG    ?= clang
BPFTOOL  ?= bpftool
PREFIX   ?= /usr/local
BUILD    := build
ARCH_INC := /usr/include/$(shell uname -m)-linux-gnu

# CFLAGS is the user's to override (make CFLAGS=-O0); the project's own flags
# are always added.
CFLAGS   ?= -O2 -g
override CFLAGS += -std=gnu11 -Wall -Wextra -Werror -Wno-unused-parameter -Wno-format-truncation \
            -D_GNU_SOURCE -Iheaders -Iuser -I$(BUILD) -MMD -MP
LDLIBS   := -lbpf -lpcap -lmnl -lnettle -lelf -lz -ljson-c -lmicrohttpd -lcurl -lpthread -lm
BPF_CFLAGS := -g -O2 -target bpf -D__BPF__ -Wall -Wextra -Werror -Wno-unused-parameter \
              -I$(ARCH_INC) -Iheaders

SAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all

BPF_PROGS := $(patsubst bpf/%.bpf.c,%,$(wildcard bpf/*.bpf.c))
BPF_OBJS  := $(patsubst %,$(BUILD)/%.bpf.o,$(BPF_PROGS))
SKELS     := $(patsubst %,$(BUILD)/%.skel.h,$(BPF_PROGS))

# user/ has one folder per job. Everything but cmd/ (the tenace dispatcher and
# daemon) and tools/ (separate binaries) is the library libtenace.a.
LIB_DIRS  := lib dataplane config control probe api cli bgp decap trace dashboard
LIB_SRCS  := $(foreach d,$(LIB_DIRS),$(wildcard user/$(d)/*.c))
# The live page's files, built into the library as C arrays (api/page.c).
PAGE_FILES := index.html app.js style.css
PAGE_SRCS  := $(addprefix user/api/page/,$(PAGE_FILES))
CMD_SRCS  := $(wildcard user/cmd/*.c)
# The packet generator's library part (tests use it) and its main.
PKTGEN_SRCS := $(filter-out user/tools/pktgen/main.c,$(wildcard user/tools/pktgen/*.c))
BENCH_SRCS  := $(wildcard user/tools/bench/*.c)

obj = $(patsubst user/%.c,$(BUILD)/$(1)/%.o,$(2))

TEST_SRCS := $(wildcard tests/unit/*.c tests/dataplane/*.c)
TEST_BINS := $(patsubst tests/%.c,$(BUILD)/tests/%,$(TEST_SRCS)) \
             $(patsubst tests/integration/helpers/%.c,$(BUILD)/tests/helpers/%,\
               $(filter-out %.bpf.c,$(wildcard tests/integration/helpers/*.c)))
# Unit tests once more without sanitizers: run under valgrind by the tests.
VG_BINS   := $(patsubst tests/unit/%.c,$(BUILD)/vg/%,$(wildcard tests/unit/*.c))

BINS := $(BUILD)/tenace $(BUILD)/tenace-pktgen $(BUILD)/tenace-bench
SAN_BINS := $(BUILD)/tenace-san $(BUILD)/tenace-pktgen-san $(BUILD)/tenace-bench-san

.PHONY: all deps test bench demo demo-fleet install clean check-deps
all: $(BINS) $(SAN_BINS) $(BPF_OBJS) $(TEST_BINS) $(VG_BINS)

deps:
	scripts/deps.sh

check-deps:
	@scripts/deps.sh --check || scripts/deps.sh

$(BUILD)/%.tmp.o: bpf/%.bpf.c $(wildcard bpf/*.h) $(wildcard headers/*.h)
	@mkdir -p $(@D)
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(BUILD)/%.bpf.o: $(BUILD)/%.tmp.o
	$(BPFTOOL) gen object $@ $<

$(BUILD)/%.skel.h: $(BUILD)/%.bpf.o
	$(BPFTOOL) gen skeleton $< name $* > $@

$(BUILD)/obj/%.o: user/%.c | $(SKELS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -c $< -o $@

# xxd -i names each array after its file (index_html, app_js, style_css).
$(BUILD)/gen/page_assets.c: $(PAGE_SRCS)
	@mkdir -p $(@D)
	(cd user/api/page && for f in $(PAGE_FILES); do xxd -i $$f; done) >$@.tmp
	mv $@.tmp $@
$(BUILD)/obj/gen/%.o: $(BUILD)/gen/%.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -c $< -o $@
$(BUILD)/san/gen/%.o: $(BUILD)/gen/%.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(SAN_FLAGS) -c $< -o $@

# The same code with ASan/UBSan: the integration tests run the -san binaries.
$(BUILD)/san/%.o: user/%.c | $(SKELS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(SAN_FLAGS) -c $< -o $@

# archives are rebuilt from scratch: ar would keep the object of a deleted source
$(BUILD)/libtenace.a: $(call obj,obj,$(LIB_SRCS)) $(BUILD)/obj/gen/page_assets.o
	rm -f $@
	ar rcs $@ $^
$(BUILD)/libtenace-san.a: $(call obj,san,$(LIB_SRCS)) $(BUILD)/san/gen/page_assets.o
	rm -f $@
	ar rcs $@ $^
$(BUILD)/libpktgen.a: $(call obj,obj,$(PKTGEN_SRCS))
	rm -f $@
	ar rcs $@ $^
$(BUILD)/libpktgen-san.a: $(call obj,san,$(PKTGEN_SRCS))
	rm -f $@
	ar rcs $@ $^

$(BUILD)/tenace: $(call obj,obj,$(CMD_SRCS)) $(BUILD)/libtenace.a
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)
$(BUILD)/tenace-san: $(call obj,san,$(CMD_SRCS)) $(BUILD)/libtenace-san.a
	$(CC) $(CFLAGS) $(SAN_FLAGS) -o $@ $^ $(LDLIBS)
$(BUILD)/tenace-pktgen: $(BUILD)/obj/tools/pktgen/main.o $(BUILD)/libpktgen.a $(BUILD)/libtenace.a
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)
$(BUILD)/tenace-pktgen-san: $(BUILD)/san/tools/pktgen/main.o $(BUILD)/libpktgen-san.a $(BUILD)/libtenace-san.a
	$(CC) $(CFLAGS) $(SAN_FLAGS) -o $@ $^ $(LDLIBS)
$(BUILD)/tenace-bench: $(call obj,obj,$(BENCH_SRCS)) $(BUILD)/libtenace.a
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)
$(BUILD)/tenace-bench-san: $(call obj,san,$(BENCH_SRCS)) $(BUILD)/libtenace-san.a
	$(CC) $(CFLAGS) $(SAN_FLAGS) -o $@ $^ $(LDLIBS)

# Tests link the sanitized libraries; cmocka prints TAP.
$(BUILD)/tests/%: tests/%.c $(BUILD)/libpktgen-san.a $(BUILD)/libtenace-san.a | $(SKELS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(SAN_FLAGS) -Iuser -Itests -o $@ $< $(BUILD)/libpktgen-san.a $(BUILD)/libtenace-san.a $(LDLIBS) -lcmocka

# C helpers of the integration tests (plain build: they run as root in the lab).
$(BUILD)/tests/helpers/%: tests/integration/helpers/%.c $(BUILD)/libtenace.a | $(SKELS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -Iuser -Itests -o $@ $< $(BUILD)/libtenace.a $(LDLIBS)

$(BUILD)/vg/%: tests/unit/%.c $(BUILD)/libpktgen.a $(BUILD)/libtenace.a | $(SKELS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -Iuser -Itests -o $@ $< $(BUILD)/libpktgen.a $(BUILD)/libtenace.a $(LDLIBS) -lcmocka

# deps first, then the build, then the tests (in that order even with -j)
test:
	@scripts/deps.sh --check >/dev/null || scripts/deps.sh
	$(MAKE) all
	scripts/run-tests.sh $(TESTS)

bench:
	@scripts/deps.sh --check >/dev/null || scripts/deps.sh
	$(MAKE) all
	scripts/bench.sh

demo:
	@scripts/deps.sh --check >/dev/null || scripts/deps.sh
	$(MAKE) all
	scripts/demo.sh

demo-fleet:
	@scripts/deps.sh --check >/dev/null || scripts/deps.sh
	$(MAKE) all
	scripts/demo-fleet.sh

install: $(BUILD)/tenace $(BUILD)/tenace-pktgen $(BUILD)/tenace-bench
	install -D -m 0755 $(BUILD)/tenace $(DESTDIR)$(PREFIX)/sbin/tenace
	install -D -m 0755 $(BUILD)/tenace-pktgen $(DESTDIR)$(PREFIX)/lib/tenace/tenace-pktgen
	install -D -m 0755 $(BUILD)/tenace-bench $(DESTDIR)$(PREFIX)/lib/tenace/tenace-bench
	@mkdir -p $(DESTDIR)$(PREFIX)/lib/systemd/system
	sed 's|/usr/local|$(PREFIX)|g' scripts/tenace.service >$(DESTDIR)$(PREFIX)/lib/systemd/system/tenace.service
	install -D -m 0644 scripts/tenace.example.json $(DESTDIR)$(PREFIX)/share/tenace/tenace.example.json

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
