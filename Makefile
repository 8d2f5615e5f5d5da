# A thin front for Meson, as QEMU has: `make run` and `make check` are the
# two commands of the README, and they work on a fresh Debian machine that
# has only gcc and make (tools/deps.sh installs or names the rest).
# Everything real is in meson.build; use meson/ninja directly if you like.

BUILD ?= build
MESON_OPTS ?=
EXAMPLE ?= examples/pipeline/pipeline.cmd

.PHONY: all build run check sanitize static install clean

all: build

$(BUILD)/build.ninja:
	@sh tools/deps.sh build
	meson setup $(BUILD) $(MESON_OPTS)

build: $(BUILD)/build.ninja
	meson compile -C $(BUILD)

# Build collie and run it on the bundled example.
run: build
	./$(BUILD)/cli/collie run --file $(EXAMPLE)

# Build and pass every test (unit and CLI).
check:
	@sh tools/deps.sh test
	@[ -f $(BUILD)/build.ninja ] || meson setup $(BUILD) $(MESON_OPTS)
	meson compile -C $(BUILD)
	meson test -C $(BUILD) --print-errorlogs

# The same tests under AddressSanitizer and UndefinedBehaviorSanitizer.
sanitize:
	@sh tools/deps.sh test
	@[ -f build-san/build.ninja ] || meson setup build-san -Db_sanitize=address,undefined -Db_lundef=false -Dbench=false
	meson compile -C build-san
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 meson test -C build-san --print-errorlogs

# A statically linked collie (musl, from Debian's musl-tools) that needs
# nothing else: for FROM scratch container images. -> build-static/cli/collie
static:
	@sh tools/deps.sh static
	@[ -f build-static/build.ninja ] || CC=musl-gcc meson setup build-static -Dstatic_collie=true -Dtests=false -Dbench=false
	meson compile -C build-static cli/collie:executable
	@file build-static/cli/collie 2>/dev/null || true

install: build
	meson install -C $(BUILD)

clean:
	rm -rf $(BUILD) build-san build-static build-one
