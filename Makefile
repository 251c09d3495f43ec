# muster: the two commands of the README are `make demo` and `make test`.
GO    ?= go
BIN   := bin
RACE  ?= -race

.PHONY: all deps build demo test vet fuzz bench clean

all: build

deps:
	@scripts/deps.sh

# One static binary; the compatibility names are links to it.
build:
	CGO_ENABLED=0 $(GO) build -trimpath -o $(BIN)/muster ./cmd/muster
	@for n in nodeset cluset clush clubak; do ln -sf muster $(BIN)/$$n; done

demo: deps build
	@scripts/demo.sh

vet:
	@fmt=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$fmt" ]; then echo "gofmt needed: $$fmt"; exit 1; fi
	$(GO) vet ./...
	@if [ -f bench/go.mod ]; then cd bench && $(GO) vet ./...; fi

# Every test, with the race detector. Fuzz targets run their seed corpora here;
# `make fuzz` explores further.
test: deps vet
	$(GO) test $(RACE) -count=1 -timeout 30m ./...

FUZZTIME ?= 30s
fuzz:
	@for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
	    echo "== $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
	  done; \
	done

bench: build
	@for s in bench/*.sh; do echo "== $$s"; bash $$s; done

clean:
	rm -rf $(BIN)
