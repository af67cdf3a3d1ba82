# Sandbox image of the sqlite3 language (the sqlite3 shell).
# Built by build.sh, offline or not: FROM an image of build.sh's list, packages from
# the Debian mirror of that image's /etc/apt.
FROM graderq/base:bookworm
RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        sqlite3 \
    && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/cache/apt/archives/*.deb
