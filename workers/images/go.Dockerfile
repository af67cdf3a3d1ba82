# Sandbox image of the go language. Pure Go (no cgo); the build cache in /tmp.
# Built by build.sh, offline or not: FROM an image of build.sh's list, packages from
# the Debian mirror of that image's /etc/apt.
FROM graderq/base:bookworm
RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        golang-go \
    && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/cache/apt/archives/*.deb
ENV CGO_ENABLED=0 GOCACHE=/tmp/go-cache GOPATH=/tmp/go GOFLAGS=-buildvcs=false GO111MODULE=off
