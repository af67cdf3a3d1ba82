# Sandbox image of the c and cpp languages (profiles gcc_compile, gcc_run).
# Built by build.sh, offline or not: FROM an image of build.sh's list, packages from
# the Debian mirror of that image's /etc/apt.
FROM graderq/base:bookworm
RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        gcc g++ libc6-dev \
    && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/cache/apt/archives/*.deb
