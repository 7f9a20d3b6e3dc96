# vfio-migrate: libvfmig, the vfio-migrate tool, and their tests.
#
#   make            library (lib/libvfmig.{so,a}) and tools/vfio-migrate/vfio-migrate
#   make check      dependencies, build, unit + integration tests, ASan/UBSan unit tests,
#                   the Debian packages (make check-deb),
#                   the VM test of kmod-shim (make check-vm)
#   make demo       a two-process migration of four simulated devices (no hardware)
#   make deps       install missing Debian packages (as root) or name them
#                   (deps-build: only the build's, as make demo does)
#   make bench      vfio-migrate bench: scenarios against baselines, table and plot
#   make bench-accuracy  the estimate over a scenario matrix, memory over 8 GiB
#   make install    PREFIX=/usr/local LIBDIR=$PREFIX/lib DESTDIR= (make
#                   uninstall: the same files)
#   V=1             show full commands

VERSION := 0.4.0
SOVERSION := 1
PREFIX ?= /usr/local
DESTDIR ?=
CC ?= gcc

ifeq ($(V),1)
Q :=
quiet = @:
else
Q := @
quiet = @printf '  %-6s %s\n'
endif

WARNINGS := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
	-Wformat=2 -Wvla -Wwrite-strings -Wundef -Wcast-align
WERROR ?= -Werror
OPT ?= -O2 -g
BASE_CFLAGS := -std=gnu11 -D_GNU_SOURCE -pthread -fPIC -Iinclude -Ilib \
	$(WARNINGS) $(WERROR)
ASAN_FLAGS := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
	-fno-sanitize-recover=all
# libnl through pkg-config, evaluated late: `make check` installs it first
NL_CFLAGS = $(shell pkg-config --cflags libnl-route-3.0 libnl-genl-3.0 2>/dev/null || echo -I/usr/include/libnl3)
NL_LIBS = $(shell pkg-config --libs libnl-route-3.0 libnl-genl-3.0 2>/dev/null || echo -lnl-route-3 -lnl-genl-3 -lnl-3)
GNUTLS_LIBS = $(shell pkg-config --libs gnutls 2>/dev/null || echo -lgnutls)
LDLIBS = -pthread -lzstd -luring -lm $(NL_LIBS) $(GNUTLS_LIBS)

LIB_SRCS := $(sort $(wildcard lib/*.c))
TOOL_SRCS := $(sort $(wildcard tools/vfio-migrate/*.c))
UNIT_SRCS := $(sort $(wildcard tests/unit/*.c))

# build/obj: the normal build; build/asan: sanitizers, for the unit tests.
obj = $(patsubst %.c,build/$(1)/%.o,$(2))

LIB_A := lib/libvfmig.a
# the real name: the soname's number, then the release's minor and patch
# (0.4.0 of soname 1: libvfmig.so.1.4.0), as ldconfig and Debian expect
LIB_REAL := libvfmig.so.$(SOVERSION).$(word 2,$(subst ., ,$(VERSION))).$(word 3,$(subst ., ,$(VERSION)))
LIB_SO := lib/$(LIB_REAL)
TOOL := tools/vfio-migrate/vfio-migrate
UNIT := build/obj/tests/unit-tests
UNIT_ASAN := build/asan/tests/unit-tests
UNIT_TSAN := build/tsan/tests/pipeline-race
LINKAGE := build/obj/tests/linkage
SHIM_UAPI := build/obj/tests/vm/shim-uapi

.PHONY: abi-check abi-dump all check check-deb check-vm deb demo deps deps-build deps-bench example analyze tsan fuzz fuzz-check fuzz-prep fuzz-regress install uninstall clean unit integration integration-slow-python asan format format-check man-check bench bench-accuracy
all: $(LIB_A) $(LIB_SO) $(TOOL)

# what each target needs, installed or named (scripts/deps.sh)
deps:
	$(Q)sh scripts/deps.sh check
deps-build:
	$(Q)sh scripts/deps.sh build
deps-bench:
	$(Q)sh scripts/deps.sh bench

build/obj/%.o: %.c
	$(quiet) CC $<
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(BASE_CFLAGS) $(OPT) $(CPPFLAGS) $(CFLAGS) $(CFLAGS_$(notdir $*)) -MMD -MP -c -o $@ $<

build/tsan/%.o: %.c
	$(quiet) CC-TSAN $<
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(BASE_CFLAGS) -O1 -g -fsanitize=thread $(CFLAGS) $(CFLAGS_$(notdir $*)) -MMD -MP -c -o $@ $<

build/asan/%.o: %.c
	$(quiet) CC-ASAN $<
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(BASE_CFLAGS) $(ASAN_FLAGS) $(CFLAGS) $(CFLAGS_$(notdir $*)) -MMD -MP -c -o $@ $<

# A test that builds the compat header against newer kernel headers.
CFLAGS_test_compat_new := -Itests/unit/uapi-new
CFLAGS_main := -DVFMIG_MIGRATE_VERSION=\"$(VERSION)\"
CFLAGS_link = $(NL_CFLAGS)
CFLAGS_cmd_shim = $(NL_CFLAGS) -Ikmod-shim

$(LIB_A): $(call obj,obj,$(LIB_SRCS))
	$(quiet) AR $@
	$(Q)rm -f $@ && ar rcs $@ $^

$(LIB_SO): $(call obj,obj,$(LIB_SRCS)) lib/libvfmig.map
	$(quiet) LD $@
	$(Q)$(CC) -shared -Wl,-soname,libvfmig.so.$(SOVERSION) \
		-Wl,--version-script=lib/libvfmig.map -Wl,-z,defs $(LDFLAGS) \
		-o $@ $(call obj,obj,$(LIB_SRCS)) $(LDLIBS)
	$(Q)ln -sf $(LIB_REAL) lib/libvfmig.so.$(SOVERSION)
	$(Q)ln -sf $(LIB_REAL) lib/libvfmig.so

$(TOOL): $(call obj,obj,$(TOOL_SRCS)) $(LIB_A)
	$(quiet) LD $@
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) -lcap

# raw-ioctl checks of vfio_shim's uAPI, run in the VM
$(SHIM_UAPI): build/obj/tests/vm/shim-uapi.o $(LIB_A)
	$(quiet) LD $@
	$(Q)$(CC) -o $@ $^ $(LDLIBS)

$(UNIT): $(call obj,obj,$(UNIT_SRCS)) $(LIB_A)
	$(quiet) LD $@
	$(Q)$(CC) -o $@ $^ -lcriterion $(LDLIBS)

$(UNIT_TSAN): $(call obj,tsan,tests/tsan/pipeline-race.c $(LIB_SRCS))
	$(quiet) LD $@
	$(Q)$(CC) -fsanitize=thread -o $@ $^ $(LDLIBS)

# ThreadSanitizer over the pipeline: source, sink, codec workers and
# io_uring's workers in one process; any report fails (tests/tsan/).
tsan: $(UNIT_TSAN)
	$(Q)TSAN_OPTIONS="halt_on_error=1 exitcode=66" $(UNIT_TSAN) 3 \
		>build/tsan.log 2>&1 || \
		{ echo "tsan: FAIL (build/tsan.log)"; grep -A 30 -m 1 'WARNING: ThreadSanitizer' build/tsan.log; tail -n 5 build/tsan.log; exit 1; }
	$(Q)cat build/tsan.log

$(UNIT_ASAN): $(call obj,asan,$(UNIT_SRCS) $(LIB_SRCS))
	$(quiet) LD $@
	$(Q)$(CC) -fsanitize=address,undefined -o $@ $^ -lcriterion $(LDLIBS)

# Every symbol the public header declares must be exported by the .so.
$(LINKAGE): tests/linkage.sh include/vfmig.h $(LIB_SO)
	$(quiet) LINK $@
	$(Q)mkdir -p $(@D)
	$(Q)sh tests/linkage.sh include/vfmig.h $(LIB_SO) $@ "$(CC)"

unit: $(UNIT)
	$(Q)$(UNIT) --jobs 2

# Leaks are reported without an exit code and judged by tests/leak-check.sh
# (Criterion ignores a leaking test process and leaks in its own runner).
asan: $(UNIT_ASAN)
	$(Q)ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 LSAN_OPTIONS=exitcode=0 \
		UBSAN_OPTIONS=print_stacktrace=1 $(UNIT_ASAN) --jobs 2 \
		>build/asan/unit.log 2>&1; rc=$$?; cat build/asan/unit.log; \
		[ $$rc -eq 0 ] && sh tests/leak-check.sh build/asan/unit.log

integration: $(TOOL) $(LINKAGE)
	$(Q)$(LINKAGE)
	$(Q)sh tests/integration/run.sh -j 2

# The suites that start Python helpers (relay.py, peer.py) once more, with
# a python3 first on PATH that takes a second to start: what a test waits
# for must be the helper's socket or ready line, never a guess of time.
# (longest first: four run at a time)
SLOW_PY_SUITES := test_recv_spec test_cancel test_recv_bad_input \
	test_fault_matrix test_recv_limits test_fault_stopcopy test_send_recv \
	test_fault_ends test_privileges
integration-slow-python: $(TOOL)
	$(Q)echo "integration: again with a python3 that starts in 1 s"
	$(Q)PYTHON_START_DELAY=1 sh tests/integration/run.sh -j 4 $(SLOW_PY_SUITES)

# The code follows .clang-format; only whitespace may differ from it.
FORMAT_FILES = $(shell git ls-files '*.c' '*.h' 2>/dev/null)
format:
	$(Q)clang-format -i $(FORMAT_FILES)

format-check:
	$(Q)if ! command -v clang-format >/dev/null 2>&1; then \
		echo "format-check: SKIP (clang-format is not installed)"; \
	else \
		bad=$$(for f in $(FORMAT_FILES); do \
			clang-format "$$f" | cmp -s - "$$f" || echo "$$f"; done); \
		if [ -n "$$bad" ]; then \
			echo "format-check: not formatted (run make format):" $$bad; \
			exit 1; \
		fi; \
		echo "format-check: $(words $(FORMAT_FILES)) files follow .clang-format"; \
	fi

# Man pages render without a warning.
MAN_PAGES := $(wildcard Documentation/*.[1-8])
# a page per function (liburing's way): a page of its own, or a .so line
# naming the page that documents it with its family
MAN3_PAGES := $(wildcard Documentation/man3/*.3)
man-check:
	$(Q)for m in $(MAN_PAGES) $(MAN3_PAGES); do \
		so=$$(sed -n '1s/^\.so //p' "$$m"); \
		if [ -n "$$so" ]; then \
			[ -f "Documentation/$$so" ] || { echo "man-check: $$m: .so $$so: no such page"; exit 1; }; \
			continue; \
		fi; \
		w=$$(groff -man -ww -z -Tutf8 "$$m" 2>&1); \
		if [ -n "$$w" ]; then echo "man-check: $$m:"; echo "$$w"; exit 1; fi; \
	done; \
	fns=$$(grep -E '^[a-z][a-z0-9_ ]*[ *]vfmig_[a-z0-9_]+\(' include/vfmig.h | \
		sed -E 's/.*[ *](vfmig_[a-z0-9_]+)\(.*/\1/' | sort -u); \
	for f in $$fns; do \
		[ -f Documentation/man3/$$f.3 ] || { echo "man-check: $$f (include/vfmig.h) has no page in Documentation/man3"; exit 1; }; \
	done; \
	echo "man-check: $(words $(MAN_PAGES) $(MAN3_PAGES)) pages render cleanly (or point at one that does); each of the $$(echo $$fns | wc -w) functions of include/vfmig.h has one"

# Everything is built first, two compilers at a time; then the checks.
check: deps
	$(Q)$(MAKE) --no-print-directory -j 2 all $(UNIT) $(UNIT_ASAN) $(LINKAGE) \
		$(UNIT_TSAN) $(SHIM_UAPI) $(FUZZ_TARGETS)
	$(Q)$(MAKE) --no-print-directory format-check man-check analyze abi-check unit integration integration-slow-python example check-deb asan tsan fuzz-check check-vm

# Fuzzing with libFuzzer (clang): the destination's receive path fed as one
# channel, and the command-line parsers.  The library is rebuilt with
# coverage and ASan/UBSan; gcc's build stays the warning gate.  make fuzz
# runs each target FUZZ_SECS (default 300); make check runs fuzz-check: the
# kept regression inputs, then each target 10 s.
FUZZ_CC ?= clang
FUZZ_SAN := -fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_CFLAGS = -std=gnu11 -D_GNU_SOURCE -pthread -g -O1 -Iinclude -Ilib \
	$(NL_CFLAGS) $(FUZZ_SAN) -fsanitize=fuzzer-no-link
FUZZ_SECS ?= 300
FUZZ_TARGETS := build/fuzz/fuzz_recv build/fuzz/fuzz_parse
FUZZ_LIB = $(call obj,fuzz,$(LIB_SRCS))

# objects of pattern-rule chains are intermediates to make: keep them
.SECONDARY: $(FUZZ_LIB) $(patsubst build/fuzz/%,build/fuzz/tests/fuzz/%.o,$(FUZZ_TARGETS))

build/fuzz/%.o: %.c
	$(quiet) CC-FUZZ $<
	$(Q)mkdir -p $(@D)
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -MMD -MP -c -o $@ $<

build/fuzz/fuzz_%: build/fuzz/tests/fuzz/fuzz_%.o $(FUZZ_LIB)
	$(quiet) LD $@
	$(Q)$(FUZZ_CC) $(FUZZ_SAN) -fsanitize=fuzzer -o $@ $^ $(LDLIBS)

build/fuzz/mkseeds: build/obj/tests/fuzz/mkseeds.o $(LIB_A)
	$(quiet) LD $@
	$(Q)$(CC) -o $@ $^ $(LDLIBS)

# The seeds: real sessions of our source, recorded (tests/fuzz/mkseeds.c).
build/fuzz/seeds/recv/.done: build/fuzz/mkseeds
	$(Q)mkdir -p $(@D) && build/fuzz/mkseeds $(@D) && touch $@

fuzz-prep: $(FUZZ_TARGETS) build/fuzz/seeds/recv/.done

# every kept crasher and slow input replays clean first
fuzz-regress: fuzz-prep
	$(Q)for t in recv parse; do \
		ls tests/fuzz/regressions/$$t/* >/dev/null 2>&1 || continue; \
		build/fuzz/fuzz_$$t -runs=1 tests/fuzz/regressions/$$t/* \
			>build/fuzz/regress-$$t.log 2>&1 || \
			{ echo "fuzz: a regression input of $$t fails:"; \
			  tail -n 30 build/fuzz/regress-$$t.log; exit 1; }; \
	done

fuzz fuzz-check: fuzz-regress
	$(Q)secs=$(if $(filter fuzz-check,$@),10,$(FUZZ_SECS)); \
	for t in recv parse; do \
		mkdir -p build/fuzz/corpus/$$t; \
		seeds=$$( [ $$t = recv ] && echo build/fuzz/seeds/recv ); \
		build/fuzz/fuzz_$$t -max_total_time=$$secs -max_len=262144 \
			-timeout=10 -rss_limit_mb=1024 -print_final_stats=1 \
			-artifact_prefix=build/fuzz/crash-$$t- \
			build/fuzz/corpus/$$t $$seeds >build/fuzz/$$t.log 2>&1 || \
			{ echo "fuzz: $$t found a failure (build/fuzz/crash-$$t-*):"; \
			  tail -n 40 build/fuzz/$$t.log; exit 1; }; \
		echo "fuzz: $$t: $$secs s, $$(sed -n 's/^stat::number_of_executed_units: *//p' build/fuzz/$$t.log) executions, $$(grep -o 'cov: [0-9]*' build/fuzz/$$t.log | tail -n 1) edges, corpus $$(ls build/fuzz/corpus/$$t | wc -l) inputs"; \
	done

# Static analysis: cppcheck over the library and the tool (its options are
# this configuration; findings are fixed, not suppressed).
CPPCHECK_FLAGS := --quiet --enable=warning,performance,portability --std=c11 \
	--inline-suppr --error-exitcode=1 -D_GNU_SOURCE -Iinclude -Ilib
# clang-tidy reads .clang-tidy; it sees what gcc compiles, with gcc's
# include paths and defines.
TIDY_SRCS = $(LIB_SRCS) $(TOOL_SRCS)
analyze:
	$(Q)if command -v cppcheck >/dev/null; then \
		cppcheck $(CPPCHECK_FLAGS) lib tools && \
		echo "analyze: cppcheck finds nothing in lib/ and tools/"; \
	else echo "analyze: SKIP (cppcheck is not installed: make deps)"; fi
	$(Q)if command -v clang-tidy >/dev/null; then \
		mkdir -p build; \
		printf '%s\n' $(TIDY_SRCS) | xargs -P 2 -n 8 sh -c \
			'clang-tidy --quiet "$$@" -- -std=gnu11 -D_GNU_SOURCE \
			-Iinclude -Ilib -Ikmod-shim $(subst -I,-isystem ,$(NL_CFLAGS)) \
			-DVFMIG_MIGRATE_VERSION=\"$(VERSION)\"' clang-tidy \
			>build/clang-tidy.log 2>&1; \
		rc=$$?; grep -v 'warnings\? generated\.$$' build/clang-tidy.log; \
		[ $$rc -eq 0 ] && \
		echo "analyze: clang-tidy finds nothing in lib/ and tools/ (.clang-tidy)"; \
	else echo "analyze: SKIP (clang-tidy is not installed: make deps)"; fi

# The ABI against the last release's (abi/libvfmig.abi; abidiff, from
# abigail-tools).  At a release: make abi-dump, and commit it.
abi-check: $(LIB_SO)
	$(Q)sh tests/abi-check.sh $(LIB_SO)

abi-dump: $(LIB_SO)
	$(Q)abidw --headers-dir include --drop-private-types --no-show-locs \
		--no-comp-dir-path --no-corpus-path --out-file abi/libvfmig.abi $(LIB_SO)
	$(Q)echo "abi-dump: abi/libvfmig.abi is the ABI of $(LIB_SO)"

# The example VMM against the library installed in a prefix of our own.
EXAMPLE_PREFIX := $(CURDIR)/build/prefix
# The Debian packages (debian/): built in a throwaway copy, lintian, and
# used from a throwaway root (tests/deb-check.sh).
deb check-deb:
	$(Q)sh tests/deb-check.sh; rc=$$?; [ $$rc -eq 0 ] || [ $$rc -eq 77 ]

example: all
	$(Q)$(MAKE) --no-print-directory install PREFIX=$(EXAMPLE_PREFIX) >/dev/null
	$(Q)sh tests/example.sh $(EXAMPLE_PREFIX)

# vfio_shim.ko built for each installed kernel, booted under qemu (TCG) with
# vfio-migrate: the real kernel path (tests/vm/run.sh; skips, saying why,
# without qemu or kernels).
check-vm: $(TOOL) $(SHIM_UAPI) example
	$(Q)sh tests/vm/run.sh; rc=$$?; [ $$rc -eq 0 ] || [ $$rc -eq 77 ]

# The default scenarios against baselines measured in the same run, the
# table and build/bench.png (BENCH="--runs 5" for more runs).
bench: deps-bench
	$(Q)$(MAKE) --no-print-directory all
	$(Q)$(TOOL) bench --baseline --plot build/bench.png $(BENCH)

# The estimate's accuracy over a scenario matrix, the stall verdict, and
# peak memory over 8 GiB (separate processes, RSS sampled).
bench-accuracy: deps-bench
	$(Q)$(MAKE) --no-print-directory all
	$(Q)python3 bench/bench.py --no-throughput $(BENCH)

demo: deps-build
	$(Q)$(MAKE) --no-print-directory all
	$(Q)$(TOOL) demo

# Where the library goes: $(PREFIX)/lib, or a multiarch directory for a
# distribution's package (LIBDIR=/usr/lib/x86_64-linux-gnu).
LIBDIR ?= $(PREFIX)/lib
# systemd looks in /usr/local/lib/systemd/system too (systemd.unit(5))
SYSTEMDUNITDIR ?= $(PREFIX)/lib/systemd/system
UNITS := vfio-migrate-recv@.socket vfio-migrate-recv@.service

# The files make install puts under $(DESTDIR)$(LIBDIR) and
# $(DESTDIR)$(PREFIX), for uninstall.
INSTALLED_LIB := libvfmig.a libvfmig.so libvfmig.so.$(SOVERSION) \
	$(LIB_REAL) pkgconfig/libvfmig.pc
INSTALLED := include/vfmig.h \
	bin/vfio-migrate share/man/man3/libvfmig.3 share/man/man8/vfio-migrate.8 \
	share/bash-completion/completions/vfio-migrate \
	$(patsubst Documentation/%,share/man/%,$(MAN3_PAGES))

install: all
	install -d $(DESTDIR)$(LIBDIR)/pkgconfig $(DESTDIR)$(PREFIX)/include \
		$(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man3 \
		$(DESTDIR)$(PREFIX)/share/man/man8 \
		$(DESTDIR)$(PREFIX)/share/bash-completion/completions
	sed 's|@PREFIX@|$(PREFIX)|; s|@LIBDIR@|$(LIBDIR)|; s|@VERSION@|$(VERSION)|' \
		lib/libvfmig.pc.in >$(DESTDIR)$(LIBDIR)/pkgconfig/libvfmig.pc
	install -m 644 $(LIB_A) $(DESTDIR)$(LIBDIR)/
	install -m 755 $(LIB_SO) $(DESTDIR)$(LIBDIR)/
	ln -sf $(LIB_REAL) $(DESTDIR)$(LIBDIR)/libvfmig.so.$(SOVERSION)
	ln -sf $(LIB_REAL) $(DESTDIR)$(LIBDIR)/libvfmig.so
	install -m 644 include/vfmig.h $(DESTDIR)$(PREFIX)/include/
	install -m 755 $(TOOL) $(DESTDIR)$(PREFIX)/bin/
	install -m 644 Documentation/libvfmig.3 $(MAN3_PAGES) \
		$(DESTDIR)$(PREFIX)/share/man/man3/
	install -m 644 Documentation/vfio-migrate.8 $(DESTDIR)$(PREFIX)/share/man/man8/
	install -m 644 completion/vfio-migrate.bash \
		$(DESTDIR)$(PREFIX)/share/bash-completion/completions/vfio-migrate
	install -d $(DESTDIR)$(SYSTEMDUNITDIR)
	for u in $(UNITS); do \
		sed 's|/usr/bin/vfio-migrate|$(PREFIX)/bin/vfio-migrate|' \
			Documentation/examples/systemd/$$u \
			>$(DESTDIR)$(SYSTEMDUNITDIR)/$$u || exit 1; \
	done

uninstall:
	rm -f $(addprefix $(DESTDIR)$(LIBDIR)/,$(INSTALLED_LIB)) \
		$(addprefix $(DESTDIR)$(PREFIX)/,$(INSTALLED)) \
		$(addprefix $(DESTDIR)$(SYSTEMDUNITDIR)/,$(UNITS))

clean:
	rm -rf build $(LIB_A) lib/libvfmig.so* $(TOOL)

-include $(shell find build -name '*.d' 2>/dev/null)
