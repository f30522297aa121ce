# fcgipm build. Objects go under $(BUILD); SAN=1 builds with ASan+UBSan.
PREFIX  ?= /usr/local
DESTDIR ?=
BUILD   ?= build
CC      ?= cc

PKGS     := fcgi libconfuse
PC_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PC_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null)
CMOCKA_LIBS = $(shell pkg-config --libs cmocka 2>/dev/null)

WARN    := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
           -Wmissing-prototypes -Wformat=2
CFLAGS  ?= -O2 -g
ifeq ($(SAN),1)
CFLAGS  := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
           -fno-sanitize-recover=all
LDFLAGS += -fsanitize=address,undefined
endif
VERSION := 0.1.0
# Each folder sees only the headers of the folders it may use: worker/
# never includes a manager/ header, protocol/ and common/ only their own.
INC_protocol := -Iprotocol
INC_common   := -Icommon
INC_client   := -Icommon -Iprotocol -Iclient
INC_worker   := -Icommon -Iprotocol -Iworker
INC_manager  := -Icommon -Iprotocol -Iworker -Imanager
INC_bench    := -Icommon -Iprotocol
INC_t        := -Icommon -Iprotocol -Iworker -Imanager -Iclient
INC_fuzz     := $(INC_t)
ALL_CFLAGS = -std=c11 -D_GNU_SOURCE -DFCGIPM_VERSION='"$(VERSION)"' $(WARN) \
             $(CFLAGS) $(INC_$(firstword $(subst /, ,$<))) $(PC_CFLAGS) \
             -MMD -MP

PROTO_SRC := $(wildcard protocol/*.c)
COMMON_SRC := $(wildcard common/*.c)
REQ_SRC   := $(wildcard client/*.c)
MGR_SRC   := $(filter-out manager/main.c,$(wildcard manager/*.c))
WRK_SRC   := $(wildcard worker/*.c)
UNIT_SRC  := $(wildcard t/unit/test_*.c)
APP_SRC   := $(wildcard t/apps/*.c)
MOD_SRC   := $(wildcard t/modules/*.c)

obj = $(patsubst %.c,$(BUILD)/%.o,$(1))
PROTO_OBJ := $(call obj,$(PROTO_SRC))
LIB_OBJ   := $(call obj,$(MGR_SRC) $(WRK_SRC) $(COMMON_SRC)) $(PROTO_OBJ)
# Unit tests reach syscalls through t/unit/fake_sys.c instead of sys.c;
# the archive lets each test pull in only the modules it uses.
UNIT_AR   := $(BUILD)/libunit.a
UNIT_LIB  := $(filter-out $(BUILD)/manager/sys.o,$(LIB_OBJ)) \
             $(BUILD)/t/unit/fake_sys.o
UNITS     := $(patsubst t/unit/%.c,$(BUILD)/t/unit/%,$(UNIT_SRC))
APPS      := $(patsubst t/apps/%.c,$(BUILD)/t/apps/%,$(APP_SRC)) \
             $(patsubst t/modules/%.c,$(BUILD)/t/apps/%.so,$(MOD_SRC))

FCGIPM       := $(BUILD)/fcgipm
FCGI_REQUEST := $(BUILD)/fcgi-request

.SECONDARY:
.PHONY: all run test check-unit check-integration deps deps-test install \
        clean asan bench fuzz
all: $(FCGIPM) $(FCGI_REQUEST)

$(BUILD)/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(FCGIPM): $(BUILD)/manager/main.o $(LIB_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(PC_LIBS)

$(FCGI_REQUEST): $(call obj,$(REQ_SRC)) $(PROTO_OBJ) $(BUILD)/common/clock.o
	$(CC) $(LDFLAGS) -o $@ $^

$(UNIT_AR): $(UNIT_LIB)
	rm -f $@
	ar rcs $@ $^

# Protocol tests need only the protocol library.
$(BUILD)/t/unit/test_fcgi_%: $(BUILD)/t/unit/test_fcgi_%.o $(PROTO_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(CMOCKA_LIBS)

$(BUILD)/t/unit/%: $(BUILD)/t/unit/%.o $(UNIT_AR)
	$(CC) $(LDFLAGS) -o $@ $^ $(PC_LIBS) $(CMOCKA_LIBS)

$(BUILD)/t/apps/%: $(BUILD)/t/apps/%.o
	$(CC) $(LDFLAGS) -o $@ $^ $(PC_LIBS)

# Test modules: shared objects loaded by module-mode workers.
$(BUILD)/t/apps/%.so: t/modules/%.c worker/fcgipm_module.h
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -fPIC -shared -o $@ $< $(PC_LIBS)

deps:
	@.ci/deps build
deps-test:
	@.ci/deps test

run: deps
	@$(MAKE) --no-print-directory all $(APPS)
	@mkdir -p run
	@echo "fcgipm: serving etc/fcgipm.conf; in another shell try:"
	@echo "  $(FCGI_REQUEST) -i unix:$(CURDIR)/run/fcgipm.sock /hello"
	@echo "stop with Ctrl-C (fast) or 'kill -QUIT <pid>' (graceful)"
	exec $(FCGIPM) -c etc/fcgipm.conf

check-unit: $(UNITS)
	@t/run-units $(UNITS)

INTEGRATION_TESTS = $(wildcard t/integration/*.t)
# What the sanitizer pass leaves out: tests of the package, the man pages
# and the tree's layout, which run no code of fcgipm's that the first
# pass did not (deb.t builds its own binaries, with dpkg-buildpackage).
ASAN_SKIP = deb.t docs.t layout.t

check-integration: all $(APPS)
	@FCGIPM=$(CURDIR)/$(FCGIPM) FCGI_REQUEST=$(CURDIR)/$(FCGI_REQUEST) \
	 TEST_APPS=$(CURDIR)/$(BUILD)/t/apps t/run-integration \
	 $(INTEGRATION_TESTS)

# Side by side with spawn-fcgi + multiwatch, fcgiwrap, php-fpm and a raw
# responder, direct and through nginx, with and without upstream keepalive
# (about 9 minutes); writes bench/REPORT.md and bench/throughput.svg. Not
# part of make test.
RAW_RESPONDER := $(BUILD)/bench/raw-responder
$(RAW_RESPONDER): $(BUILD)/bench/raw_responder.o $(PROTO_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^

bench: all $(APPS) $(RAW_RESPONDER)
	@FCGIPM=$(CURDIR)/$(FCGIPM) FCGI_REQUEST=$(CURDIR)/$(FCGI_REQUEST) \
	 TEST_APPS=$(CURDIR)/$(BUILD)/t/apps \
	 RAW_RESPONDER=$(CURDIR)/$(RAW_RESPONDER) bench/run

.PHONY: torture valgrind
# Kill and reload storms under load (about a minute); not part of make test.
torture: all $(APPS)
	@FCGIPM=$(CURDIR)/$(FCGIPM) FCGI_REQUEST=$(CURDIR)/$(FCGI_REQUEST) \
	 TEST_APPS=$(CURDIR)/$(BUILD)/t/apps t/run-integration t/torture/*.t

# The whole suite under valgrind, built -O0 -g in build/valgrind: every
# unit test, then every integration test with fcgipm (master, workers, an
# upgraded master) under memcheck; any error or definite leak fails.
# About 3 minutes; not part of make test (like make torture).
VG_BUILD := build/valgrind
VALGRIND := valgrind --leak-check=full --errors-for-leak-kinds=definite \
            --error-exitcode=99 --quiet
valgrind: deps-test
	@$(MAKE) --no-print-directory BUILD=$(VG_BUILD) CFLAGS='-O0 -g' all \
	    $(patsubst $(BUILD)/%,$(VG_BUILD)/%,$(UNITS) $(APPS))
	@fails=0; for u in $(patsubst $(BUILD)/%,$(VG_BUILD)/%,$(UNITS)); do \
	    if $(VALGRIND) $$u >$(VG_BUILD)/$${u##*/}.vg 2>&1; then \
	        echo "ok   valgrind $${u##*/}"; \
	    else \
	        echo "FAIL valgrind $${u##*/} (exit $$?)"; \
	        sed 's/^/    /' $(VG_BUILD)/$${u##*/}.vg; fails=$$((fails + 1)); \
	    fi; \
	done; \
	t/run-valgrind $(CURDIR)/$(VG_BUILD) t/integration/*.t \
	    || fails=$$((fails + 1)); \
	[ $$fails -eq 0 ]

asan:
	@$(MAKE) --no-print-directory BUILD=build/asan SAN=1 \
	    INTEGRATION_TESTS="$(filter-out $(addprefix t/integration/,\
	    $(ASAN_SKIP)),$(INTEGRATION_TESTS))" check-unit check-integration

# Each suite adds "passed failed skipped" to the tally; the last line of
# the run sums them up.
test: deps-test
	@$(MAKE) --no-print-directory all
	@rm -f $(CURDIR)/build/tally
	@TEST_TALLY=$(CURDIR)/build/tally $(MAKE) --no-print-directory \
	    check-unit check-integration asan
	@awk '{p += $$1; f += $$2; s += $$3} \
	    END {printf "all: %d passed, %d failed, %d skipped\n", p, f, s}' \
	    $(CURDIR)/build/tally

install: all
	install -d $(DESTDIR)$(PREFIX)/sbin $(DESTDIR)$(PREFIX)/bin \
	    $(DESTDIR)$(PREFIX)/include \
	    $(DESTDIR)$(PREFIX)/share/man/man8 \
	    $(DESTDIR)$(PREFIX)/share/man/man5 \
	    $(DESTDIR)$(PREFIX)/share/man/man1
	install -m 755 $(FCGIPM) $(DESTDIR)$(PREFIX)/sbin/fcgipm
	install -m 755 $(FCGI_REQUEST) $(DESTDIR)$(PREFIX)/bin/fcgi-request
	install -m 644 worker/fcgipm_module.h $(DESTDIR)$(PREFIX)/include/
	for m in man/*.8; do [ -f "$$m" ] && install -m 644 "$$m" \
	    $(DESTDIR)$(PREFIX)/share/man/man8/ || true; done
	for m in man/*.5; do [ -f "$$m" ] && install -m 644 "$$m" \
	    $(DESTDIR)$(PREFIX)/share/man/man5/ || true; done
	for m in man/*.1; do [ -f "$$m" ] && install -m 644 "$$m" \
	    $(DESTDIR)$(PREFIX)/share/man/man1/ || true; done

clean:
	rm -rf build run

# libFuzzer targets (clang), each run FUZZ_SECONDS on a copy of its seed
# corpus in $(BUILD)/fuzz/corpus-<target>; crash inputs land in
# $(BUILD)/fuzz/crashes-<target>/. Not part of make test.
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?= fuzz_record fuzz_addr fuzz_conf fuzz_status_conn
FUZZ_CFLAGS  := -std=c11 -D_GNU_SOURCE $(WARN) -O1 -g \
                -fno-omit-frame-pointer -fno-sanitize-recover=all \
                -fsanitize=fuzzer,address,undefined -Icommon -Iprotocol \
                -Imanager -Iworker
FUZZ_HDRS    := $(wildcard common/*.h protocol/*.h manager/*.h worker/*.h)
FUZZ_SRC_fuzz_record      := protocol/fcgi_record.c
FUZZ_SRC_fuzz_addr        := protocol/fcgi_addr.c
FUZZ_SRC_fuzz_conf        := $(wildcard manager/conf*.c) common/access.c \
                             common/nofollow.c \
                             protocol/fcgi_addr.c
FUZZ_LIBS_fuzz_conf        = $(shell pkg-config --libs libconfuse)
FUZZ_SRC_fuzz_status_conn := manager/status_conn.c manager/status_format.c \
                             protocol/fcgi_record.c

.SECONDEXPANSION:
$(BUILD)/fuzz/%: fuzz/%.c $$(FUZZ_SRC_$$*) $(FUZZ_HDRS)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ $< $(FUZZ_SRC_$*) $(FUZZ_LIBS_$*)

# One line per target: executions, coverage, and crash or not; fails if
# any target found something (its log is $(BUILD)/fuzz/<target>.log).
fuzz: $(patsubst %,$(BUILD)/fuzz/%,$(FUZZ_TARGETS))
	@fail=0; for t in $(FUZZ_TARGETS); do \
	    dir=$(BUILD)/fuzz; rm -rf $$dir/corpus-$$t; \
	    mkdir -p $$dir/crashes-$$t; \
	    cp -r fuzz/corpus/$$t $$dir/corpus-$$t; \
	    dict=; [ -f fuzz/$$t.dict ] && dict=-dict=fuzz/$$t.dict; \
	    $$dir/$$t -max_total_time=$(FUZZ_SECONDS) -timeout=10 \
	        -print_final_stats=1 -artifact_prefix=$$dir/crashes-$$t/ \
	        $$dict $$dir/corpus-$$t >$$dir/$$t.log 2>&1; rc=$$?; \
	    runs=$$(sed -n 's/^stat::number_of_executed_units: *//p' \
	        $$dir/$$t.log); \
	    cov=$$(grep -o 'cov: [0-9]* ft: [0-9]*' $$dir/$$t.log | tail -1); \
	    if [ $$rc -eq 0 ]; then found="nothing found"; else fail=1; \
	        found="FOUND: $$(sed -n 's/.*Test unit written to //p' \
	            $$dir/$$t.log) (exit $$rc)"; fi; \
	    echo "$$t: $${runs:-?} executions in $(FUZZ_SECONDS)s," \
	        "$$cov, corpus $$(ls $$dir/corpus-$$t | wc -l): $$found"; \
	done; exit $$fail

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)

# The Debian package (debian/), built by dpkg-buildpackage in a copy of
# the tree in a temporary directory (its clean step empties build/, it
# writes next to the tree, and a copy under build/ would feed the -include
# above); the .deb files are left in $(BUILD)/. MAKEFLAGS is dropped so
# that the package builds from debian/rules alone, as on a build daemon.
.PHONY: deb
deb:
	@v=$$(dpkg-parsechangelog -S Version) && [ "$${v%-*}" = "$(VERSION)" ] \
	    || { echo "debian/changelog is at $$v, VERSION is $(VERSION)" >&2; \
	         exit 1; }
	@mkdir -p $(BUILD)
	set -e; tmp=$$(mktemp -d "$${TMPDIR:-/tmp}/fcgipm-deb.XXXXXX"); \
	trap 'rm -rf "$$tmp"' EXIT; src=$$tmp/fcgipm-$(VERSION); mkdir "$$src"; \
	tar -c --exclude=./.git --exclude=./build --exclude=./run . \
	    | tar -x -C "$$src"; \
	(cd "$$src" && env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL \
	    dpkg-buildpackage -b -us -uc -Jauto); \
	mv "$$tmp"/*.deb $(BUILD)/
